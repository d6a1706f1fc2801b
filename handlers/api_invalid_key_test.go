package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestAPIInvalidKey(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		tok, plain := srv.apiToken("personal", nil)
		unknownID, _ := models.NewTokenID()
		unknown, _ := models.NewTokenPlaintext("pat", unknownID)
		wrongSecret, _ := models.NewTokenPlaintext("pat", tok.PublicID)
		bad := map[string]string{
			"garbage":      "hello",
			"unicode":      "pat_äöü€漢字_" + strings.Repeat("ß", 16),
			"emoji":        plain[:len(plain)-2] + "😀",
			"10 kB":        strings.Repeat("x", 10<<10),
			"bad checksum": plain[:len(plain)-1] + string(otherChar(plain[len(plain)-1])),
			"unknown id":   unknown,
			"wrong secret": wrongSecret,
			"two tokens":   plain + " " + plain,
			"quoted":       `"` + plain + `"`,
		}
		for name, token := range bad {
			rec := srv.apiDo(http.MethodGet, "/api/v1/token", "Bearer "+token, nil)
			if rec.Code == http.StatusInternalServerError {
				t.Fatalf("%s: 500", name)
			}
			apiExpectError(t, rec, http.StatusUnauthorized, "invalid_key")
			apiExpectNoRateHeaders(t, rec)
		}
		// The right token still works after all that.
		if rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil); rec.Code != http.StatusOK {
			t.Fatalf("good token: %d %s", rec.Code, rec.Body.String())
		}
	})
}

// TestAPIHugeHeader: a 10 kB Authorization header is an invalid key, and a
// header far beyond anything sensible is refused by the server, never a 500.
func TestAPIHugeHeader(t *testing.T) {
	srv := apiNewServer(t, models.OpenTestSQLite(t), nil, nil)
	rec := srv.apiDo(http.MethodGet, "/api/v1/tokens", "Bearer pat_"+strings.Repeat("A", 10<<10), nil)
	apiExpectError(t, rec, http.StatusUnauthorized, "invalid_key")
}

func TestAPIVerifyInvalidKey(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		_, svc := srv.apiToken("service", nil)
		for _, token := range []string{"nope", "pat_" + strings.Repeat("é", 20), strings.Repeat("z", 10<<10)} {
			a := srv.apiVerify(svc, map[string]string{"token": token})
			if a.Valid || a.Code != "invalid_key" || a.Status != http.StatusUnauthorized {
				t.Fatalf("answer %+v", a)
			}
		}
	})
}

func otherChar(c byte) byte {
	if c == 'a' {
		return 'b'
	}
	return 'a'
}
