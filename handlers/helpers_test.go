package handlers_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// testServer is a real Echo instance on a real store, with captured logs.
type testServer struct {
	t      testing.TB
	Echo   *echo.Echo
	H      *handlers.Handler
	Store  *models.Store
	Policy *models.Policy
	Config *models.Config
	Logs   *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newServer builds the server on store with the given policy (nil: built-in).
func newServer(t testing.TB, store *models.Store, policy *models.Policy) *testServer {
	t.Helper()
	if policy == nil {
		policy = models.DefaultPolicy()
	}
	cfg, err := models.LoadConfig(func(k string) string {
		if k == "KEYWARD_SECURE_COOKIES" {
			return "false"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	secret, err := store.SessionSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sessions := store.NewSessionStore(secret, false, cfg.SessionIdle, cfg.SessionAbsolute)
	e, h := handlers.New(handlers.Options{Store: store, Policy: policy, Config: cfg, Sessions: sessions, Logger: log})
	return &testServer{t: t, Echo: e, H: h, Store: store, Policy: policy, Config: cfg, Logs: logs}
}

// eachServer runs fn on a server over SQLite and, when configured, PostgreSQL.
func eachServer(t *testing.T, policy *models.Policy, fn func(t *testing.T, srv *testServer)) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) { fn(t, newServer(t, s, policy)) })
}

// seedAdmin creates an admin and workspace directly in the store.
func (srv *testServer) seedAdmin(email, workspace string) (*models.User, *models.Workspace) {
	srv.t.Helper()
	u, w, err := srv.Store.CreateAdmin(context.Background(), models.NewUser{Email: email, Name: strings.Split(email, "@")[0], Password: testPassword}, workspace, srv.Policy.DefaultPlan)
	if err != nil {
		srv.t.Fatalf("seed admin: %v", err)
	}
	return u, w
}

// seedMember adds a user with a role to a workspace.
func (srv *testServer) seedMember(w *models.Workspace, email string, role models.Role) *models.User {
	srv.t.Helper()
	m, _, err := srv.Store.AddMember(context.Background(), w.ID, models.NewUser{Email: email, Name: strings.Split(email, "@")[0], Password: testPassword}, role)
	if err != nil {
		srv.t.Fatalf("seed member: %v", err)
	}
	return &m.User
}

const testPassword = "correct-horse-battery"

// client is a browser stand-in: it keeps cookies and reads CSRF tokens from pages.
type client struct {
	srv  *testServer
	jar  *cookiejar.Jar
	csrf string
	IP   string
}

func (srv *testServer) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{srv: srv, jar: jar, IP: "192.0.2.10"}
}

var base, _ = url.Parse("http://keyward.test")

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// do sends a request through the real Echo instance and records cookies.
func (c *client) do(req *http.Request) *httptest.ResponseRecorder {
	c.srv.t.Helper()
	req.RemoteAddr = c.IP + ":40000"
	for _, ck := range c.jar.Cookies(base) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.srv.Echo.ServeHTTP(rec, req)
	c.jar.SetCookies(base, rec.Result().Cookies())
	if m := csrfInput.FindStringSubmatch(rec.Body.String()); m != nil {
		c.csrf = m[1]
	}
	return rec
}

func (c *client) get(path string) *httptest.ResponseRecorder {
	return c.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// post submits a form with the last CSRF token seen (fetch a page first).
func (c *client) post(path string, form url.Values) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" && c.csrf != "" {
		form.Set("_csrf", c.csrf)
	}
	return c.postRaw(path, form)
}

// postRaw submits a form exactly as given (no CSRF token added).
func (c *client) postRaw(path string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// signIn signs the client in and fails the test if that does not work.
func (c *client) signIn(email, password string) {
	c.srv.t.Helper()
	c.get("/login")
	rec := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if rec.Code != http.StatusSeeOther {
		c.srv.t.Fatalf("sign in %s: status %d\n%s", email, rec.Code, rec.Body.String())
	}
}

func body(rec *httptest.ResponseRecorder) string { return rec.Body.String() }
