package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestAPIRevokedKey(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		tok, plain := srv.apiToken("personal", nil)
		if rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil); rec.Code != http.StatusOK {
			t.Fatalf("before revoking: %d", rec.Code) // and now it is cached
		}
		// Revoked from the dashboard's store path: effective at once.
		if _, err := srv.s.RevokeToken(context.Background(), srv.ws.ID, tok.PublicID, models.SystemActor, models.RevokeManual); err != nil {
			t.Fatal(err)
		}
		rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil)
		apiExpectError(t, rec, http.StatusUnauthorized, "revoked_key")
		apiExpectRateHeaders(t, rec)

		_, svc := srv.apiToken("service", nil)
		a := srv.apiVerify(svc, map[string]string{"token": plain})
		if a.Valid || a.Code != "revoked_key" || a.Status != http.StatusUnauthorized {
			t.Fatalf("verify answer %+v", a)
		}
	})
}
