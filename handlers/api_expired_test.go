package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

func TestAPIExpiredKey(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		tok, plain := srv.apiToken("personal", func(in *models.TokenInput) { in.ExpiresIn = 48 * time.Hour })
		if rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil); rec.Code != http.StatusOK {
			t.Fatalf("before expiry: %d", rec.Code)
		}
		srv.advance(48 * time.Hour)
		rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil)
		b := apiExpectError(t, rec, http.StatusUnauthorized, "expired_key")
		if b.Error.ExpiredAt == nil || !b.Error.ExpiredAt.Equal(*tok.ExpiresAt) {
			t.Fatalf("expired_at = %v, want %v", b.Error.ExpiredAt, tok.ExpiresAt)
		}
		if !strings.Contains(rec.Body.String(), `"expired_at":"`+tok.ExpiresAt.UTC().Format(time.RFC3339)) {
			t.Errorf("expired_at is not RFC 3339 UTC in %s", rec.Body.String())
		}
		apiExpectRateHeaders(t, rec)

		_, svc := srv.apiToken("service", nil)
		a := srv.apiVerify(svc, map[string]string{"token": plain})
		if a.Code != "expired_key" || a.ExpiredAt == nil || !a.ExpiredAt.Equal(*tok.ExpiresAt) {
			t.Fatalf("verify answer %+v", a)
		}
	})
}
