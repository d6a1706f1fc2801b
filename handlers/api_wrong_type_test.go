package handlers_test

import (
	"net/http"
	"testing"

	"github.com/keyward/keyward/models"
)

// wrongTypePolicy adds a type that only the "notes" API accepts, and lets it
// hold the management scope, so only its audience can refuse it.
func wrongTypePolicy(t *testing.T) *models.Policy {
	t.Helper()
	p := models.DefaultPolicy()
	p.Types = append(p.Types, models.TokenType{
		Name: "notes", Label: "Notes key", Prefix: "nk", Scopes: []string{"read", "tokens:manage"}, MinScopes: 1,
		Expiry: models.ExpiryRule{Never: true}, IPRule: models.IPRuleOptional, Audiences: []string{"notes"},
	})
	return p
}

func TestAPIWrongKeyType(t *testing.T) {
	apiEachServer(t, wrongTypePolicy(t), func(t *testing.T, srv *apiServer) {
		_, notes := srv.apiToken("notes", func(in *models.TokenInput) { in.Scopes = []string{"tokens:manage"}; in.Never = true })
		rec := srv.apiBearer(http.MethodGet, "/api/v1/tokens", notes, nil)
		apiExpectError(t, rec, http.StatusForbidden, "wrong_key_type")
		apiExpectRateHeaders(t, rec)
		// Any token may still describe itself.
		if rec := srv.apiBearer(http.MethodGet, "/api/v1/token", notes, nil); rec.Code != http.StatusOK {
			t.Fatalf("self-description: %d", rec.Code)
		}

		// A service token presented to an application API is the wrong type.
		_, svc := srv.apiToken("service", nil)
		a := srv.apiVerify(svc, map[string]string{"token": svc, "audience": "notes"})
		if a.Valid || a.Code != "wrong_key_type" || a.Status != http.StatusForbidden {
			t.Fatalf("answer %+v", a)
		}
		if a := srv.apiVerify(svc, map[string]string{"token": notes, "audience": "notes"}); !a.Valid {
			t.Fatalf("right audience: %+v", a)
		}
		if a := srv.apiVerify(svc, map[string]string{"token": notes, "audience": "billing"}); a.Code != "wrong_key_type" {
			t.Fatalf("other audience: %+v", a)
		}
	})
}
