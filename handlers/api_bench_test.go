package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// BenchmarkAPIVerify drives the real Echo instance in process, pairing each
// verify route with a bare route that takes the same request:
// GET /healthz against GET /api/v1/token (the bearer path) and a POST with a
// JSON body, answered by a route that only reads it, against POST
// /api/v1/verify on a cache hit and with a malformed token. scripts/bench.sh
// measures the same over the network.
func BenchmarkAPIVerify(b *testing.B) {
	srv := apiNewServer(b, models.OpenTestSQLite(b), nil, nil)
	srv.e.POST("/api/bench/bare", func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	_, svc := srv.apiToken("service", nil)
	_, user := srv.apiToken("personal", nil)
	// A mistyped token: one character off, caught by the checksum.
	last := byte('a')
	if user[len(user)-1] == 'a' {
		last = 'b'
	}
	bad := user[:len(user)-1] + string(last)
	run := func(b *testing.B, method, path, auth, body string) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine is one kept-alive client connection, with the
			// context the server gives a connection.
			conn := srv.e.Server.ConnContext(context.Background(), nil)
			req := httptest.NewRequestWithContext(conn, method, path, nil)
			req.Header.Set("Authorization", "Bearer "+auth)
			req.Header.Set("Content-Type", "application/json")
			rd := strings.NewReader(body)
			for pb.Next() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				rec := httptest.NewRecorder()
				srv.e.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
	verifyBody := func(token string) string { return `{"token":"` + token + `","scope":"read"}` }
	b.Run("bareget", func(b *testing.B) { run(b, http.MethodGet, "/healthz", user, "") })
	b.Run("bearer", func(b *testing.B) { run(b, http.MethodGet, "/api/v1/token", user, "") })
	b.Run("barepost", func(b *testing.B) { run(b, http.MethodPost, "/api/bench/bare", svc, verifyBody(user)) })
	b.Run("hit", func(b *testing.B) { run(b, http.MethodPost, "/api/v1/verify", svc, verifyBody(user)) })
	b.Run("malformed", func(b *testing.B) { run(b, http.MethodPost, "/api/v1/verify", svc, verifyBody(bad)) })
}
