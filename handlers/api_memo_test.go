package handlers_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keyward/keyward/models"
)

// TestAPIConnectionMemo: over one kept-alive connection, a service's token is
// remembered after its first call, another connection does not share it, and
// revoking the token still refuses the very next call on the first one.
func TestAPIConnectionMemo(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		svcTok, svc := srv.apiToken("service", nil)
		_, user := srv.apiToken("personal", nil)

		ts := httptest.NewUnstartedServer(srv.e)
		ts.Config.ConnContext = srv.e.Server.ConnContext
		var conns atomic.Int64
		ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
		ts.Start()
		defer ts.Close()
		client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
		defer client.CloseIdleConnections()
		other := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
		defer other.CloseIdleConnections()

		verifyOn := func(client *http.Client) (int, string) {
			t.Helper()
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/verify", strings.NewReader(`{"token":"`+user+`","scope":"read"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+svc)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode, string(body)
		}
		verify := func() (int, string) { t.Helper(); return verifyOn(client) }

		before := srv.v.CacheStats().Remembered
		for range 3 {
			if code, body := verify(); code != http.StatusOK || !strings.Contains(body, `"valid":true`) {
				t.Fatalf("verify: %d %s", code, body)
			}
		}
		// The second and third calls recall the service's token.
		if n := srv.v.CacheStats().Remembered - before; n != 2 {
			t.Fatalf("%d calls answered through the connection's memo, want 2", n)
		}
		// Another connection has its own memo, which starts empty.
		if code, body := verifyOn(other); code != http.StatusOK {
			t.Fatalf("verify on a second connection: %d %s", code, body)
		}
		if n := srv.v.CacheStats().Remembered - before; n != 2 {
			t.Fatalf("a new connection's first call was answered through a memo")
		}
		other.CloseIdleConnections()
		if _, err := srv.s.RevokeToken(context.Background(), srv.ws.ID, svcTok.PublicID, models.SystemActor, "test"); err != nil {
			t.Fatal(err)
		}
		if code, body := verify(); code != http.StatusUnauthorized || !strings.Contains(body, `"revoked_key"`) {
			t.Fatalf("after revoke: %d %s", code, body)
		}
		if n := conns.Load(); n != 2 {
			t.Fatalf("the calls used %d connections, want 2", n)
		}
	})
}
