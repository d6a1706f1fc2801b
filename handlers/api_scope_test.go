package handlers_test

import (
	"net/http"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestAPIInsufficientPermissions(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		_, pat := srv.apiToken("personal", nil)
		rec := srv.apiBearer(http.MethodGet, "/api/v1/tokens", pat, nil)
		b := apiExpectError(t, rec, http.StatusForbidden, "insufficient_permissions")
		if b.Error.Message != "Missing required permission: tokens:manage" {
			t.Errorf("message %q", b.Error.Message)
		}
		apiExpectRateHeaders(t, rec)

		_, manager := srv.apiToken("service", func(in *models.TokenInput) { in.Scopes = []string{"tokens:manage"} })
		rec = srv.apiBearer(http.MethodPost, "/api/v1/verify", manager, map[string]string{"token": pat})
		b = apiExpectError(t, rec, http.StatusForbidden, "insufficient_permissions")
		if b.Error.Message != "Missing required permission: tokens:verify" {
			t.Errorf("message %q", b.Error.Message)
		}
	})
}

func TestAPIVerifyScopes(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		_, svc := srv.apiToken("service", nil)
		_, reader := srv.apiToken("personal", nil)
		_, admin := srv.apiToken("personal", func(in *models.TokenInput) { in.Scopes = []string{"admin"} })

		a := srv.apiVerify(svc, map[string]string{"token": reader, "scope": "write"})
		if a.Valid || a.Code != "insufficient_permissions" || a.Status != 403 || a.Message != "Missing required permission: write" {
			t.Fatalf("answer %+v", a)
		}
		if a.Token == nil || a.RateLimit == nil {
			t.Errorf("a refusal after the secret matched should describe the token: %+v", a)
		}
		for _, scope := range []string{"read", "write", "notes:create", "notes:added-later", "analytics:view"} {
			if a := srv.apiVerify(svc, map[string]string{"token": admin, "scope": scope}); !a.Valid {
				t.Errorf("admin lacks %s: %+v", scope, a)
			}
		}
	})
}

// TestAPIVerifyUnknownScope: a scope the policy does not declare is a mistake
// in the resource server, reported as a 400 rather than as a refusal.
func TestAPIVerifyUnknownScope(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		_, svc := srv.apiToken("service", nil)
		_, reader := srv.apiToken("personal", nil)
		for _, scope := range []string{"reed", "notes::create", "💥", "x:" + string(make([]byte, 300))} {
			rec := srv.apiBearer(http.MethodPost, "/api/v1/verify", svc, map[string]string{"token": reader, "scope": scope})
			b := apiExpectError(t, rec, http.StatusBadRequest, "invalid_request")
			if b.Error.Field != "scope" {
				t.Errorf("field %q, want scope", b.Error.Field)
			}
		}
	})
}
