package handlers_test

import (
	"net/http"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestAPIShowCaller(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		tok, plain := srv.apiToken("personal", func(in *models.TokenInput) { in.Scopes = []string{"read", "write"} })
		rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d %s", rec.Code, rec.Body.String())
		}
		var got models.TokenInfo
		apiJSON(t, rec, &got)
		if got.ID != tok.PublicID || got.Name != tok.Name || got.Type != "personal" || len(got.Scopes) != 2 ||
			got.Workspace.ID != srv.ws.ID || got.Workspace.Slug != srv.ws.Slug || got.ExpiresAt == nil || !got.ExpiresAt.Equal(*tok.ExpiresAt) {
			t.Fatalf("token describes itself as %+v", got)
		}
		var raw map[string]any
		apiJSON(t, rec, &raw)
		for _, k := range []string{"id", "name", "type", "scopes", "attributes", "linking_attribute", "workspace", "expires_at"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("no %q in %s", k, rec.Body.String())
			}
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Error("API responses should not be cached")
		}
		apiExpectRateHeaders(t, rec)
	})
}

// TestAPIUnknownRoute: an unknown API path is a JSON 404, never an HTML page.
func TestAPIUnknownRoute(t *testing.T) {
	srv := apiNewServer(t, models.OpenTestSQLite(t), nil, nil)
	_, plain := srv.apiToken("service", nil)
	rec := srv.apiBearer(http.MethodGet, "/api/v1/nothing-here", plain, nil)
	apiExpectError(t, rec, http.StatusNotFound, "not_found")
}
