package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

const sessionCookie = "keyward_session"

// cookie returns the value of the named cookie the client holds, or "".
func (c *client) cookie(name string) string {
	for _, ck := range c.jar.Cookies(base) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// withSessionCookie returns a fresh client that presents only the given session cookie.
func (srv *testServer) withSessionCookie(value string) *client {
	c := srv.client()
	c.jar.SetCookies(base, []*http.Cookie{{Name: sessionCookie, Value: value, Path: "/"}})
	return c
}

// follow requests the Location of a redirect.
func (c *client) follow(rec *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	c.srv.t.Helper()
	loc := rec.Header().Get("Location")
	if loc == "" {
		c.srv.t.Fatalf("status %d has no Location to follow", rec.Code)
	}
	return c.get(loc)
}

func checkStatus(t *testing.T, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status %d, want %d\n%s", rec.Code, want, truncateBody(rec))
	}
}

func checkRedirect(t *testing.T, rec *httptest.ResponseRecorder, location string) {
	t.Helper()
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != location {
		t.Fatalf("got %d to %q, want 303 to %q\n%s", rec.Code, rec.Header().Get("Location"), location, truncateBody(rec))
	}
}

func checkBody(t *testing.T, rec *httptest.ResponseRecorder, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body(rec), p) {
			t.Errorf("body lacks %q\n%s", p, truncateBody(rec))
		}
	}
}

func truncateBody(rec *httptest.ResponseRecorder) string {
	b := body(rec)
	if len(b) > 3000 {
		return b[:3000] + "…"
	}
	return b
}

// auditActions returns the events with that action, newest first.
func (srv *testServer) auditActions(action string) []models.AuditEvent {
	srv.t.Helper()
	evs, _, err := srv.Store.AuditEvents(context.Background(), models.AuditFilter{Action: action})
	if err != nil {
		srv.t.Fatal(err)
	}
	return evs
}

func (srv *testServer) sessionCount(u *models.User) int64 {
	srv.t.Helper()
	n, err := srv.Store.SessionCount(context.Background(), u.ID)
	if err != nil {
		srv.t.Fatal(err)
	}
	return n
}

// freezeClock fixes the store's clock at t0 and returns a function that moves it.
func (srv *testServer) freezeClock(t0 time.Time) func(time.Time) {
	now := t0
	srv.Store.Now = func() time.Time { return now }
	return func(t time.Time) { now = t }
}

func TestSignIn(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		u, _ := srv.seedAdmin("ada@example.com", "Acme")
		c := srv.client()
		checkRedirect(t, c.get("/w/acme/tokens"), "/login?next=%2Fw%2Facme%2Ftokens")
		rec := c.get("/login?next=%2Fw%2Facme%2Ftokens")
		checkStatus(t, rec, http.StatusOK)
		checkBody(t, rec, `name="next" value="/w/acme/tokens"`)
		if c.cookie(sessionCookie) != "" {
			t.Fatal("an anonymous visitor was given a session cookie")
		}

		rec = c.post("/login", url.Values{"email": {"ADA@example.com"}, "password": {testPassword}, "next": {"/w/acme/tokens"}})
		checkRedirect(t, rec, "/w/acme/tokens")
		first := c.cookie(sessionCookie)
		if first == "" {
			t.Fatal("no session cookie after sign-in")
		}
		checkStatus(t, c.follow(rec), http.StatusOK)
		checkRedirect(t, c.get("/"), "/w/acme/tokens")
		checkRedirect(t, c.get("/login"), "/")
		if evs := srv.auditActions(models.ActionLoginSucceeded); len(evs) != 1 || evs[0].TargetLabel != u.Email || evs[0].IP != c.IP {
			t.Errorf("login.succeeded events = %+v", evs)
		}

		// Signing in again replaces the session: a new id, the old row gone.
		checkRedirect(t, c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), "/")
		second := c.cookie(sessionCookie)
		if second == "" || second == first {
			t.Fatalf("session cookie not replaced at sign-in (%q -> %q)", first, second)
		}
		if n := srv.sessionCount(u); n != 1 {
			t.Errorf("%d session rows after signing in twice, want 1", n)
		}
		checkRedirect(t, srv.withSessionCookie(first).get("/account"), "/login?next=%2Faccount")
		checkStatus(t, srv.withSessionCookie(second).get("/account"), http.StatusOK)
	})
}

func TestSignInRedirectStaysOnSite(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		srv.seedAdmin("ada@example.com", "Acme")
		tests := map[string]string{
			"":                        "/",
			"/w/acme/members":         "/w/acme/members",
			"/account?x=1":            "/account?x=1",
			"https://evil.example/":   "/",
			"//evil.example/":         "/",
			"/\\evil.example/":        "/",
			"javascript:alert(1)":     "/",
			"evil.example/w/acme/xyz": "/",
			// Browsers drop tabs and newlines from URLs and read \ as /.
			"/\t/evil.example/":  "/",
			"/\t\\evil.example/": "/",
			"/\r\n/evil.example": "/",
			"/w/acme\\..\\x":     "/",
		}
		for next, want := range tests {
			c := srv.client()
			c.get("/login")
			checkRedirect(t, c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {next}}), want)
			// A signed-in visitor to /login?next= is redirected at once, by the same rule.
			checkRedirect(t, c.get("/login?next="+url.QueryEscape(next)), want)
		}
	})
}

func TestSignInWrongPassword(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		srv.seedAdmin("ada@example.com", "Acme")
		for _, tt := range []struct{ email, password string }{
			{"ada@example.com", "not-the-password"},
			{"nobody@example.com", testPassword}, // same answer: no account enumeration
		} {
			c := srv.client()
			c.get("/login")
			rec := c.post("/login", url.Values{"email": {tt.email}, "password": {tt.password}})
			checkStatus(t, rec, http.StatusUnauthorized)
			checkBody(t, rec, "Wrong email or password.", `value="`+tt.email+`"`)
			if strings.Contains(body(rec), tt.password) {
				t.Error("the sign-in page echoes the password")
			}
			if c.cookie(sessionCookie) != "" {
				t.Error("a failed sign-in set a session cookie")
			}
		}
		evs := srv.auditActions(models.ActionLoginFailed)
		if len(evs) != 2 {
			t.Fatalf("%d login.failed events, want 2", len(evs))
		}
		for _, ev := range evs {
			if ev.IP != "192.0.2.10" || ev.TargetLabel == "" || strings.Contains(ev.Details, testPassword) {
				t.Errorf("login.failed event %+v", ev)
			}
		}
	})
}

func TestSignInThrottledPerAccount(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		srv.seedAdmin("ada@example.com", "Acme")
		t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		setNow := srv.freezeClock(t0)
		c := srv.client()
		c.get("/login")
		for i := range models.MaxFailuresPerEmail {
			setNow(t0.Add(time.Duration(i) * time.Second))
			checkStatus(t, c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong-password"}}), http.StatusUnauthorized)
		}
		setNow(t0.Add(time.Minute))
		// Even the right password waits, from any address.
		c.IP = "198.51.100.7"
		rec := c.post("/login", url.Values{"email": {"Ada@Example.com"}, "password": {testPassword}})
		checkStatus(t, rec, http.StatusTooManyRequests)
		checkBody(t, rec, "Too many failed sign-ins", "12:15 UTC")
		retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		if err != nil || retry < 13*60 || retry > 15*60 {
			t.Errorf("Retry-After = %q, want about 14 minutes in seconds", rec.Header().Get("Retry-After"))
		}
		if c.cookie(sessionCookie) != "" {
			t.Error("a throttled sign-in set a session cookie")
		}
		if n := len(srv.auditActions(models.ActionLoginThrottled)); n != 1 {
			t.Errorf("%d login.throttled events, want 1", n)
		}
		// Other accounts are not affected.
		srv.seedMember(mustWorkspace(t, srv, "acme"), "bob@example.com", models.RoleMember)
		checkRedirect(t, c.post("/login", url.Values{"email": {"bob@example.com"}, "password": {testPassword}}), "/")

		setNow(t0.Add(models.LoginWindow + time.Second))
		c2 := srv.client()
		c2.signIn("ada@example.com", testPassword)
	})
}

func TestSignInThrottledPerAddress(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		_, w := srv.seedAdmin("ada@example.com", "Acme")
		t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		setNow := srv.freezeClock(t0)
		attacker := srv.client()
		attacker.IP = "203.0.113.66"
		attacker.get("/login")
		// Four failures on each of five accounts: no account reaches its own limit.
		for i := range models.MaxFailuresPerIP {
			email := "user" + strconv.Itoa(i%5) + "@example.com"
			if i < 5 {
				srv.seedMember(w, email, models.RoleMember)
			}
			checkStatus(t, attacker.post("/login", url.Values{"email": {email}, "password": {"wrong-password"}}), http.StatusUnauthorized)
		}
		rec := attacker.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
		checkStatus(t, rec, http.StatusTooManyRequests)
		checkBody(t, rec, "Too many failed sign-ins")
		if rec.Header().Get("Retry-After") == "" {
			t.Error("no Retry-After header")
		}
		srv.client().signIn("ada@example.com", testPassword) // from another address

		setNow(t0.Add(models.LoginWindow + time.Second))
		checkRedirect(t, attacker.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), "/")
	})
}

func TestSignOut(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		u, _ := srv.seedAdmin("ada@example.com", "Acme")
		c := srv.client()
		c.signIn("ada@example.com", testPassword)
		old := c.cookie(sessionCookie)
		c.get("/w/acme/tokens")

		rec := c.post("/logout", nil)
		checkRedirect(t, rec, "/login?signed_out=1")
		checkBody(t, c.follow(rec), "You are signed out.")
		if c.cookie(sessionCookie) != "" {
			t.Error("session cookie not cleared")
		}
		if n := srv.sessionCount(u); n != 0 {
			t.Errorf("%d session rows after sign-out", n)
		}
		// The old cookie, replayed, no longer signs anyone in.
		replay := srv.withSessionCookie(old)
		checkRedirect(t, replay.get("/w/acme/tokens"), "/login?next=%2Fw%2Facme%2Ftokens")
		if n := len(srv.auditActions(models.ActionLogout)); n != 1 {
			t.Errorf("%d logout events, want 1", n)
		}
	})
}

func TestSignOutEverywhere(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		u, _ := srv.seedAdmin("ada@example.com", "Acme")
		bob, _ := srv.seedAdmin("bob@example.com", "Globex")
		laptop, phone, other := srv.client(), srv.client(), srv.client()
		laptop.signIn("ada@example.com", testPassword)
		phone.signIn("ada@example.com", testPassword)
		other.signIn("bob@example.com", testPassword)
		if n := srv.sessionCount(u); n != 2 {
			t.Fatalf("%d sessions, want 2", n)
		}
		checkBody(t, laptop.get("/account"), "signed in on 2 browser(s)")

		checkRedirect(t, laptop.post("/logout/everywhere", nil), "/login?signed_out=1")
		if n := srv.sessionCount(u); n != 0 {
			t.Errorf("%d sessions left after sign out everywhere", n)
		}
		checkRedirect(t, phone.get("/account"), "/login?next=%2Faccount")
		checkRedirect(t, laptop.get("/account"), "/login?next=%2Faccount")
		checkStatus(t, other.get("/account"), http.StatusOK)
		if n := srv.sessionCount(bob); n != 1 {
			t.Errorf("another user's sessions = %d, want 1", n)
		}
		evs := srv.auditActions(models.ActionLogoutAll)
		if len(evs) != 1 || !strings.Contains(evs[0].Details, `"sessions":2`) {
			t.Errorf("logout.everywhere events = %+v", evs)
		}
	})
}

func TestSessionIdleTimeout(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		srv.seedAdmin("ada@example.com", "Acme")
		t0 := time.Now().UTC()
		setNow := srv.freezeClock(t0)
		c := srv.client()
		c.signIn("ada@example.com", testPassword)
		idle := srv.Config.SessionIdle

		setNow(t0.Add(idle - time.Minute))
		checkStatus(t, c.get("/account"), http.StatusOK)
		setNow(t0.Add(2*idle - 2*time.Minute)) // activity above restarted the idle clock
		checkStatus(t, c.get("/account"), http.StatusOK)
		setNow(t0.Add(3*idle - time.Minute))
		// A form sent after the timeout is refused with a page that says why.
		rec := c.post("/account/password", url.Values{"current": {testPassword}, "password": {"another-good-password"}})
		checkStatus(t, rec, http.StatusUnauthorized)
		checkBody(t, rec, "Your session has ended. Sign in again.", `href="/login"`)
		checkRedirect(t, c.get("/account"), "/login?next=%2Faccount")
	})
}

func TestSessionAbsoluteTimeout(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		srv.seedAdmin("ada@example.com", "Acme")
		t0 := time.Now().UTC()
		setNow := srv.freezeClock(t0)
		c := srv.client()
		c.signIn("ada@example.com", testPassword)
		step := srv.Config.SessionIdle - 5*time.Minute
		end := t0.Add(srv.Config.SessionAbsolute)
		now := t0
		for now.Add(step).Before(end) {
			now = now.Add(step)
			setNow(now)
			checkStatus(t, c.get("/account"), http.StatusOK)
		}
		setNow(end)
		checkRedirect(t, c.get("/account"), "/login?next=%2Faccount")
	})
}

// mustWorkspace loads a workspace by slug.
func mustWorkspace(t *testing.T, srv *testServer, slug string) *models.Workspace {
	t.Helper()
	w, err := srv.Store.WorkspaceBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestSignInOddInput: whatever bytes arrive in the form or headers, a failed
// sign-in is a 401 and its audit row is written (PostgreSQL refuses invalid UTF-8).
func TestSignInOddInput(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		srv.seedAdmin("ada@example.com", "Acme")
		tests := []struct {
			name, email, userAgent string
		}{
			{"invalid UTF-8 email", "\xff\xfe@example.com", "test"},
			{"very long email", strings.Repeat("a", 100000) + "@example.com", "test"},
			{"long user agent cut inside a character", "ada@example.com", strings.Repeat("a", 299) + "é" + strings.Repeat("b", 50)},
			{"invalid UTF-8 user agent", "ada@example.com", "agent\xff"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := srv.client()
				c.get("/login")
				form := url.Values{"_csrf": {c.csrf}, "email": {tt.email}, "password": {"wrong-password"}}
				req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("User-Agent", tt.userAgent)
				checkStatus(t, c.do(req), http.StatusUnauthorized)
				ev := srv.auditActions(models.ActionLoginFailed)[0]
				if len(ev.TargetLabel) > 320 || len(ev.UserAgent) > 300 {
					t.Errorf("audit row keeps %d bytes of email and %d of user agent", len(ev.TargetLabel), len(ev.UserAgent))
				}
			})
		}
	})
}
