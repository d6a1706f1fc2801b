package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestHealthz(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		rec := srv.client().get("/healthz")
		checkStatus(t, rec, http.StatusOK)
		var got struct{ Status string }
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Status != "ok" {
			t.Errorf("/healthz body %q (%v)", body(rec), err)
		}
	})
}

func TestReadyz(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		c := srv.client()
		checkStatus(t, c.get("/readyz"), http.StatusOK)

		if err := srv.Store.Close(); err != nil {
			t.Fatal(err)
		}
		rec := c.get("/readyz")
		checkStatus(t, rec, http.StatusServiceUnavailable)
		var got struct {
			Status string
			Error  struct{ Code string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Status != "unavailable" || got.Error.Code != "database_unreachable" {
			t.Errorf("/readyz body %q (%v)", body(rec), err)
		}
		checkStatus(t, c.get("/healthz"), http.StatusOK) // the process is still up

		// Dashboard pages say the database is unreachable rather than "500".
		page := c.get("/login")
		checkStatus(t, page, http.StatusServiceUnavailable)
		checkBody(t, page, "cannot reach its database")
	})
}

func TestMetrics(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		c := srv.client()
		c.get("/healthz")
		c.get("/static/no-such-file.css")
		rec := c.get("/metrics")
		checkStatus(t, rec, http.StatusOK)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("/metrics Content-Type = %q", ct)
		}
		checkBody(t, rec,
			"# TYPE keyward_http_requests_total counter",
			`keyward_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
			`keyward_http_requests_total{method="GET",route="/static/*",status="404"} 1`,
			"keyward_http_request_duration_seconds_bucket",
			"go_goroutines",
		)
	})
}
