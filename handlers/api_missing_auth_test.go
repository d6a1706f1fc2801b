package handlers_test

import (
	"net/http"
	"testing"
)

func TestAPIMissingAuth(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		for name, header := range map[string]string{
			"no header":         "",
			"Bearer alone":      "Bearer",
			"Bearer and spaces": "Bearer    ",
			"basic scheme":      "Basic dXNlcjpwYXNz",
			"token scheme":      "Token pat_abc",
			"no space":          "Bearerpat_abc12def_x",
		} {
			for _, path := range []string{"/api/v1/token", "/api/v1/tokens", "/api/v1/tokens/abc12def"} {
				rec := srv.apiDo(http.MethodGet, path, header, nil)
				b := apiExpectError(t, rec, http.StatusUnauthorized, "missing_auth")
				if b.Error.Message == "" {
					t.Errorf("%s %s: empty message", name, path)
				}
				apiExpectNoRateHeaders(t, rec)
			}
		}
		rec := srv.apiDo(http.MethodPost, "/api/v1/verify", "", `{"token":"x"}`)
		apiExpectError(t, rec, http.StatusUnauthorized, "missing_auth")
	})
}

// TestAPIVerifyMissingToken: a resource server passing on a request that had
// no token gets missing_auth as the answer, not an error of its own.
func TestAPIVerifyMissingToken(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		_, svc := srv.apiToken("service", nil)
		a := srv.apiVerify(svc, map[string]string{"token": ""})
		if a.Valid || a.Code != "missing_auth" || a.Status != http.StatusUnauthorized || a.Token != nil {
			t.Fatalf("answer %+v", a)
		}
	})
}
