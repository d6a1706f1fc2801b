package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

// BenchmarkAPIVerify drives the real Echo instance in process: the bare
// route against the verify endpoint on a cache hit and with a malformed
// token. scripts/bench.sh measures the same over the network.
func BenchmarkAPIVerify(b *testing.B) {
	srv := apiNewServer(b, models.OpenTestSQLite(b), nil, nil)
	_, svc := srv.apiToken("service", nil)
	_, user := srv.apiToken("personal", nil)
	bad := user[:len(user)-1] + "!"
	run := func(b *testing.B, method, path, body string) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest(method, path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+svc)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				srv.e.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
	b.Run("bare", func(b *testing.B) { run(b, http.MethodGet, "/healthz", "") })
	b.Run("hit", func(b *testing.B) { run(b, http.MethodPost, "/api/v1/verify", `{"token":"`+user+`","scope":"read"}`) })
	b.Run("malformed", func(b *testing.B) { run(b, http.MethodPost, "/api/v1/verify", `{"token":"`+bad+`","scope":"read"}`) })
}
