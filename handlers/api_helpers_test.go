package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiServer is the real Echo instance over a real store with one workspace,
// a clock the test moves, and the verifier and usage recorder it runs.
type apiServer struct {
	t      testing.TB
	e      *echo.Echo
	h      *handlers.Handler
	s      *models.Store
	p      *models.Policy
	ws     *models.Workspace
	v      *models.Verifier
	usage  *models.UsageRecorder
	clock  atomic.Int64
	remote string // RemoteAddr of requests
}

var apiSeq atomic.Int64

// apiEachServer runs fn on SQLite and, when configured, PostgreSQL.
func apiEachServer(t *testing.T, p *models.Policy, fn func(t *testing.T, srv *apiServer)) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) { fn(t, apiNewServer(t, s, p, nil)) })
}

// apiNewServer builds the server on s with policy p (nil: built-in); cfg may
// adjust the configuration before the server is built.
func apiNewServer(t testing.TB, s *models.Store, p *models.Policy, cfg func(*models.Config)) *apiServer {
	t.Helper()
	if p == nil {
		p = models.DefaultPolicy()
	}
	srv := &apiServer{t: t, s: s, p: p, remote: "192.0.2.10:41000"}
	srv.clock.Store(time.Date(2030, 5, 14, 9, 30, 0, 0, time.UTC).UnixNano())
	s.Now = srv.now
	conf, err := models.LoadConfig(func(k string) string {
		if k == "KEYWARD_SECURE_COOKIES" {
			return "false"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		cfg(conf)
	}
	secret, err := s.SessionSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv.usage = models.NewUsageRecorder(s, log)
	srv.v = models.NewVerifier(s, p, models.VerifierOptions{Usage: srv.usage, Logger: log})
	srv.e, srv.h = handlers.New(handlers.Options{
		Store: s, Policy: p, Config: conf, Logger: log,
		Sessions: s.NewSessionStore(secret, false, conf.SessionIdle, conf.SessionAbsolute),
		Verifier: srv.v, Usage: srv.usage,
	})
	n := apiSeq.Add(1)
	_, srv.ws = srv.apiWorkspace(fmt.Sprintf("api%d@example.com", n), fmt.Sprintf("API %d", n))
	return srv
}

func (srv *apiServer) now() time.Time { return time.Unix(0, srv.clock.Load()).UTC() }

func (srv *apiServer) advance(d time.Duration) { srv.clock.Add(int64(d)) }

// apiWorkspace creates another workspace with its admin.
func (srv *apiServer) apiWorkspace(email, name string) (*models.User, *models.Workspace) {
	srv.t.Helper()
	u, ws, err := srv.s.CreateAdmin(context.Background(), models.NewUser{Email: email, Name: "Admin", Password: "correct-horse-battery"}, name, srv.p.DefaultPlan)
	if err != nil {
		srv.t.Fatalf("create admin: %v", err)
	}
	return u, ws
}

// apiToken creates a token of the type in the server's workspace; service
// tokens get tokens:verify and tokens:manage, others read.
func (srv *apiServer) apiToken(typ string, edit func(*models.TokenInput)) (*models.Token, string) {
	srv.t.Helper()
	return srv.apiTokenIn(srv.ws, typ, edit)
}

func (srv *apiServer) apiTokenIn(ws *models.Workspace, typ string, edit func(*models.TokenInput)) (*models.Token, string) {
	srv.t.Helper()
	in := models.TokenInput{Type: typ, Name: "api test " + typ, Scopes: []string{"read"}}
	if typ == "service" {
		in.Scopes = []string{"tokens:verify", "tokens:manage"}
	}
	if edit != nil {
		edit(&in)
	}
	tok, plain, err := srv.s.CreateToken(context.Background(), srv.p, ws, nil, models.SystemActor, in)
	if err != nil {
		srv.t.Fatalf("CreateToken(%s): %v", typ, err)
	}
	return tok, plain
}

// apiDo sends a request with an Authorization header (none when auth is
// empty) and a JSON body (raw when body is a string, none when nil).
func (srv *apiServer) apiDo(method, path, auth string, body any) *httptest.ResponseRecorder {
	srv.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			srv.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = srv.remote
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	srv.e.ServeHTTP(rec, req)
	return rec
}

// apiBearer sends the request with "Authorization: Bearer token".
func (srv *apiServer) apiBearer(method, path, token string, body any) *httptest.ResponseRecorder {
	srv.t.Helper()
	return srv.apiDo(method, path, "Bearer "+token, body)
}

// apiJSON decodes a JSON response body into v and fails the test if it cannot.
func apiJSON(t testing.TB, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON; body %s", ct, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body.String(), err)
	}
}

// apiErrBody is the API's error body.
type apiErrBody struct {
	Error struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		ExpiredAt *time.Time        `json:"expired_at"`
		Field     string            `json:"field"`
		Fields    map[string]string `json:"fields"`
	} `json:"error"`
}

// apiExpectError checks status and code of an error response and that the
// body is exactly {"error":{"code","message",…}}.
func apiExpectError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) apiErrBody {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
	var raw map[string]map[string]any
	apiJSON(t, rec, &raw)
	if len(raw) != 1 || raw["error"] == nil {
		t.Fatalf("body %s is not {\"error\":{…}}", rec.Body.String())
	}
	var b apiErrBody
	apiJSON(t, rec, &b)
	if b.Error.Code != code || b.Error.Message == "" {
		t.Fatalf("error %q (%q), want code %q with a message", b.Error.Code, b.Error.Message, code)
	}
	return b
}

// apiExpectRateHeaders checks the X-RateLimit-* headers are present and
// well-formed, and returns limit and remaining ("unlimited" stays a string).
func apiExpectRateHeaders(t testing.TB, rec *httptest.ResponseRecorder) (limit, remaining string, reset time.Time) {
	t.Helper()
	limit, remaining = rec.Header().Get("X-RateLimit-Limit"), rec.Header().Get("X-RateLimit-Remaining")
	r := rec.Header().Get("X-RateLimit-Reset")
	if limit == "" || remaining == "" || r == "" {
		t.Fatalf("rate-limit headers missing: limit %q remaining %q reset %q", limit, remaining, r)
	}
	secs, err := strconv.ParseInt(r, 10, 64)
	if err != nil {
		t.Fatalf("X-RateLimit-Reset %q is not Unix seconds", r)
	}
	return limit, remaining, time.Unix(secs, 0).UTC()
}

// apiExpectNoRateHeaders checks a response to an unauthenticated request has
// no rate-limit headers: there is no token to count against.
func apiExpectNoRateHeaders(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"} {
		if v := rec.Header().Get(h); v != "" {
			t.Errorf("%s: %s on a response to an unauthenticated request", h, v)
		}
	}
}

// apiVerifyAnswer is the body of POST /api/v1/verify.
type apiVerifyAnswer struct {
	Valid      bool              `json:"valid"`
	Code       string            `json:"code"`
	Status     int               `json:"status"`
	Message    string            `json:"message"`
	ExpiredAt  *time.Time        `json:"expired_at"`
	RetryAfter int               `json:"retry_after"`
	Token      *models.TokenInfo `json:"token"`
	RateLimit  *models.RateLimit `json:"ratelimit"`
}

// apiVerify posts body to the verify endpoint as the service token and
// decodes a 200 answer.
func (srv *apiServer) apiVerify(service string, body any) apiVerifyAnswer {
	srv.t.Helper()
	rec := srv.apiBearer(http.MethodPost, "/api/v1/verify", service, body)
	if rec.Code != http.StatusOK {
		srv.t.Fatalf("verify: status %d %s", rec.Code, rec.Body.String())
	}
	var a apiVerifyAnswer
	apiJSON(srv.t, rec, &a)
	return a
}
