package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestAPIIPNotAllowed(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		_, plain := srv.apiToken("personal", func(in *models.TokenInput) { in.IPAllowlist = "203.0.113.0/24\n2001:db8::/48" })
		for remote, want := range map[string]int{
			"203.0.113.5:5000":     http.StatusOK,
			"[2001:db8::7]:5000":   http.StatusOK,
			"198.51.100.7:5000":    http.StatusForbidden,
			"[2001:db8:1::7]:5000": http.StatusForbidden,
		} {
			srv.remote = remote
			rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil)
			if want == http.StatusOK {
				if rec.Code != want {
					t.Errorf("from %s: %d %s", remote, rec.Code, rec.Body.String())
				}
				continue
			}
			b := apiExpectError(t, rec, want, "ip_not_allowed")
			if !strings.Contains(b.Error.Message, strings.Trim(remote[:strings.LastIndex(remote, ":")], "[]")) {
				t.Errorf("message %q does not name the address", b.Error.Message)
			}
			apiExpectRateHeaders(t, rec)
		}

		// Through the verify endpoint the resource server says which address.
		srv.remote = "192.0.2.10:41000"
		_, svc := srv.apiToken("service", nil)
		if a := srv.apiVerify(svc, map[string]string{"token": plain, "ip": "203.0.113.9"}); !a.Valid {
			t.Errorf("allowed ip: %+v", a)
		}
		if a := srv.apiVerify(svc, map[string]string{"token": plain, "ip": "198.51.100.1"}); a.Code != "ip_not_allowed" || a.Status != 403 {
			t.Errorf("other ip: %+v", a)
		}
		if a := srv.apiVerify(svc, map[string]string{"token": plain}); a.Code != "ip_not_allowed" {
			t.Errorf("no ip: %+v", a)
		}
	})
}

// TestAPIClientIPBehindProxy: X-Forwarded-For is believed only from a
// configured trusted proxy.
func TestAPIClientIPBehindProxy(t *testing.T) {
	s := models.OpenTestSQLite(t)
	srv := apiNewServer(t, s, nil, func(c *models.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	_, plain := srv.apiToken("personal", func(in *models.TokenInput) { in.IPAllowlist = "203.0.113.0/24" })
	send := func(remote, xff string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/token", nil)
		req.RemoteAddr = remote
		req.Header.Set("Authorization", "Bearer "+plain)
		req.Header.Set("X-Forwarded-For", xff)
		rec := httptest.NewRecorder()
		srv.e.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := send("10.1.2.3:5000", "203.0.113.8"); code != http.StatusOK {
		t.Errorf("through the trusted proxy: %d", code)
	}
	if code := send("198.51.100.9:5000", "203.0.113.8"); code != http.StatusForbidden {
		t.Errorf("X-Forwarded-For from an untrusted peer was believed: %d", code)
	}
}
