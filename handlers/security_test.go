package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/models"
)

const csrfMessage = "This form has expired or did not come from Keyward"

// TestCSRFRequired posts to state-changing routes without the form's token,
// with a wrong one, and cross-site: each is refused with 403 and changes nothing.
func TestCSRFRequired(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		admin, w := srv.seedAdmin("ada@example.com", "Acme")
		member := srv.seedMember(w, "m@example.com", models.RoleMember)
		c := srv.client()
		c.signIn("ada@example.com", testPassword)
		c.get("/w/acme/members")
		if c.csrf == "" {
			t.Fatal("no CSRF token on the members page")
		}
		anon := srv.client()
		anon.get("/login")

		routes := []struct {
			c    *client
			path string
			form url.Values
		}{
			{anon, "/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}},
			{anon, "/setup", url.Values{"code": {"X"}}},
			{c, "/logout", nil},
			{c, "/logout/everywhere", nil},
			{c, "/account/password", url.Values{"current": {testPassword}, "password": {"another-good-password"}}},
			{c, "/w/acme/members", url.Values{"email": {"x@example.com"}, "name": {"X"}, "role": {"admin"}}},
			{c, fmt.Sprintf("/w/acme/members/%d/role", member.ID), url.Values{"role": {"admin"}}},
			{c, fmt.Sprintf("/w/acme/members/%d/remove", member.ID), nil},
			{c, "/w/acme/settings", url.Values{"plan": {"standard"}, "catalog": {"x"}}},
			{c, "/w/acme/tokens", url.Values{"type": {"personal"}, "name": {"x"}, "scopes": {"read"}}},
		}
		for _, r := range routes {
			for _, variant := range []string{"missing", "wrong", "cross-site"} {
				form := url.Values{}
				for k, v := range r.form {
					form[k] = v
				}
				var rec *httptest.ResponseRecorder
				switch variant {
				case "missing":
					rec = r.c.postRaw(r.path, form)
				case "wrong":
					form.Set("_csrf", strings.Repeat("A", 32))
					rec = r.c.postRaw(r.path, form)
				case "cross-site":
					form.Set("_csrf", r.c.csrf)
					req := httptest.NewRequest(http.MethodPost, r.path, strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Sec-Fetch-Site", "cross-site")
					req.Header.Set("Origin", "https://evil.example")
					rec = r.c.do(req)
				}
				if rec.Code != http.StatusForbidden {
					t.Errorf("POST %s with %s CSRF token: status %d, want 403", r.path, variant, rec.Code)
					continue
				}
				if !strings.Contains(body(rec), csrfMessage) {
					t.Errorf("POST %s with %s CSRF token: page does not say what to do\n%s", r.path, variant, truncateBody(rec))
				}
			}
		}

		// Nothing happened: still signed in, same members, same role, no user made.
		if n := srv.sessionCount(admin); n != 1 {
			t.Errorf("%d sessions, want 1", n)
		}
		if m, err := srv.Store.Membership(context.Background(), w.ID, member.ID); err != nil || m.Role != models.RoleMember {
			t.Errorf("member after refused posts: %+v, %v", m, err)
		}
		if n, _ := srv.Store.UserCount(context.Background()); n != 2 {
			t.Errorf("%d users, want 2", n)
		}
		if len(srv.auditActions(models.ActionLoginSucceeded)) != 1 {
			t.Error("a sign-in without CSRF token succeeded")
		}
		// And the token the page gave works.
		checkRedirect(t, c.post(fmt.Sprintf("/w/acme/members/%d/role", member.ID), url.Values{"role": {"manager"}}), "/w/acme/members")
	})
}

// TestRoleDenied: pages above a role's reach answer with the 403 page, not a crash.
func TestRoleDenied(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		_, w := srv.seedAdmin("ada@example.com", "Acme")
		srv.seedMember(w, "manager@example.com", models.RoleManager)
		srv.seedMember(w, "member@example.com", models.RoleMember)
		manager, member := srv.client(), srv.client()
		manager.signIn("manager@example.com", testPassword)
		member.signIn("member@example.com", testPassword)

		tests := []struct {
			who    string
			c      *client
			method string
			path   string
			want   int
		}{
			{"manager", manager, "GET", "/w/acme/members", http.StatusForbidden},
			{"manager", manager, "POST", "/w/acme/members", http.StatusForbidden},
			{"manager", manager, "GET", "/w/acme/settings", http.StatusForbidden},
			{"manager", manager, "POST", "/w/acme/settings", http.StatusForbidden},
			{"manager", manager, "GET", "/w/acme/audit", http.StatusOK},
			{"manager", manager, "GET", "/w/acme/tokens", http.StatusOK},
			{"member", member, "GET", "/w/acme/members", http.StatusForbidden},
			{"member", member, "GET", "/w/acme/settings", http.StatusForbidden},
			{"member", member, "GET", "/w/acme/audit", http.StatusForbidden},
			{"member", member, "GET", "/w/acme/audit.csv", http.StatusForbidden},
			{"member", member, "GET", "/w/acme/tokens", http.StatusOK},
			// A page that does not exist is not found, whoever asks.
			{"member", member, "GET", "/w/acme/no-such-page", http.StatusNotFound},
			{"manager", manager, "GET", "/w/acme/tokens/abc/def", http.StatusNotFound},
		}
		for _, tt := range tests {
			var rec *httptest.ResponseRecorder
			if tt.method == "POST" {
				tt.c.get("/w/acme/tokens")
				rec = tt.c.post(tt.path, url.Values{"email": {"x@example.com"}, "name": {"X"}, "role": {"admin"}, "plan": {"standard"}})
			} else {
				rec = tt.c.get(tt.path)
			}
			if rec.Code != tt.want {
				t.Errorf("%s %s %s: status %d, want %d", tt.who, tt.method, tt.path, rec.Code, tt.want)
				continue
			}
			if tt.want == http.StatusForbidden {
				checkBody(t, rec, "Not allowed", "You don&#39;t have permission to see this page.")
			}
		}
		if _, err := srv.Store.UserByEmail(context.Background(), "x@example.com"); err == nil {
			t.Error("a manager added a member")
		}
		// The navigation offers only what the role may open.
		nav := body(manager.get("/w/acme/tokens"))
		if strings.Contains(nav, `href="/w/acme/members"`) || strings.Contains(nav, `href="/w/acme/settings"`) || !strings.Contains(nav, `href="/w/acme/audit"`) {
			t.Error("manager's navigation links are wrong")
		}
		nav = body(member.get("/w/acme/tokens"))
		if strings.Contains(nav, `href="/w/acme/audit"`) || strings.Contains(nav, `href="/w/acme/members"`) {
			t.Error("member's navigation shows pages it cannot open")
		}
	})
}

// TestOtherWorkspaceNotFound: a workspace one is not in looks exactly like one
// that does not exist.
func TestOtherWorkspaceNotFound(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		srv.seedAdmin("ada@example.com", "Acme")
		_, globex := srv.seedAdmin("bob@example.com", "Globex")
		c := srv.client()
		c.signIn("ada@example.com", testPassword)

		missing := c.get("/w/no-such-workspace/tokens")
		checkStatus(t, missing, http.StatusNotFound)
		checkBody(t, missing, "Not found")
		for _, path := range []string{"/w/globex", "/w/globex/tokens", "/w/globex/members", "/w/globex/settings", "/w/globex/audit"} {
			rec := c.get(path)
			checkStatus(t, rec, http.StatusNotFound)
			if body(rec) != body(missing) {
				t.Errorf("%s differs from a missing workspace's page", path)
			}
		}
		c.get("/w/acme/members")
		checkStatus(t, c.post("/w/globex/members", url.Values{"email": {"spy@example.com"}, "name": {"Spy"}, "role": {"admin"}}), http.StatusNotFound)
		if ms, _ := srv.Store.MembersByWorkspace(context.Background(), globex.ID); len(ms) != 1 {
			t.Errorf("Globex has %d members, want 1", len(ms))
		}
	})
}

// TestSecurityHeaders checks every kind of response: pages, error pages, JSON
// and static files.
func TestSecurityHeaders(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		srv.seedAdmin("ada@example.com", "Acme")
		anon := srv.client()
		c := srv.client()
		c.signIn("ada@example.com", testPassword)
		pages := []struct {
			c    *client
			path string
			html bool
		}{
			{anon, "/login", true},
			{anon, "/setup", true}, // 410 page
			{anon, "/healthz", false},
			{anon, "/api/v1/token", false},   // 401 JSON error
			{anon, "/api/v1/nothing", false}, // 404 JSON error
			{anon, "/metrics", false},
			{anon, "/static/css/app.css", false},
			{c, "/no/such/page", true}, // 404 page
			{c, "/w/acme/tokens", true},
			{c, "/w/acme/members", true},
			{c, "/w/acme/settings", true},
			{c, "/w/acme/audit", true},
			{c, "/account", true},
			{c, "/w/globex/tokens", true}, // 404 page
		}
		for _, p := range pages {
			rec := p.c.get(p.path)
			h := rec.Header()
			csp := parseCSP(h.Get("Content-Security-Policy"))
			script := csp["script-src"]
			if script == nil {
				script = csp["default-src"]
			}
			switch {
			case len(script) == 0:
				t.Errorf("%s: CSP %q sets no script source", p.path, h.Get("Content-Security-Policy"))
			case cspHas(script, "'unsafe-inline'") || cspHas(script, "'unsafe-eval'") || cspHas(script, "*"):
				t.Errorf("%s: CSP script-src %v allows inline or any script", p.path, script)
			}
			if fa := csp["frame-ancestors"]; len(fa) != 1 || fa[0] != "'none'" {
				t.Errorf("%s: frame-ancestors = %v, want 'none'", p.path, fa)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options = %q", p.path, got)
			}
			if strings.HasPrefix(p.path, "/api/") || p.path == "/healthz" || p.path == "/metrics" {
				// No API answer is a page: no referrers, no scripts.
				if src := csp["default-src"]; len(src) != 1 || src[0] != "'none'" {
					t.Errorf("%s: JSON answer with CSP default-src %v, want 'none'", p.path, src)
				}
			} else {
				switch rp := h.Get("Referrer-Policy"); rp {
				case "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin":
				default:
					t.Errorf("%s: Referrer-Policy = %q", p.path, rp)
				}
				if h.Get("X-Frame-Options") != "DENY" {
					t.Errorf("%s: X-Frame-Options = %q, want DENY", p.path, h.Get("X-Frame-Options"))
				}
			}
			if p.html {
				checkNoInlineCode(t, p.path, body(rec))
			}
		}
		// Signed-in pages are not kept by shared caches.
		if cc := c.get("/account").Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("/account Cache-Control = %q, want no-store", cc)
		}
	})
}

func parseCSP(header string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(header, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[strings.ToLower(f[0])] = f[1:]
		}
	}
	return out
}

func cspHas(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

var (
	scriptTag     = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	eventHandler  = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	styleAttr     = regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`)
	javascriptURL = regexp.MustCompile(`(?i)(href|action|src)\s*=\s*"\s*javascript:`)
)

// checkNoInlineCode: the CSP forbids inline script and style, so a page that
// relies on them would be broken in the browser.
func checkNoInlineCode(t *testing.T, path, page string) {
	t.Helper()
	for _, tag := range scriptTag.FindAllString(page, -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("%s: inline script %s", path, tag)
		}
	}
	for name, re := range map[string]*regexp.Regexp{"event handler": eventHandler, "style attribute": styleAttr, "javascript: URL": javascriptURL} {
		if m := re.FindString(page); m != "" {
			t.Errorf("%s: inline %s in %s", path, name, m)
		}
	}
}

// TestSessionCookieFlags checks the cookies of a local plain-HTTP server.
func TestSessionCookieFlags(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		srv.seedAdmin("ada@example.com", "Acme")
		c := srv.client()
		login := c.get("/login")
		rec := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
		checkRedirect(t, rec, "/")
		sess := responseCookie(rec, sessionCookie)
		csrf := responseCookie(login, "keyward_csrf")
		if sess == nil || csrf == nil {
			t.Fatalf("cookies: session %v, csrf %v", sess, csrf)
		}
		for _, ck := range []*http.Cookie{sess, csrf} {
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
				t.Errorf("%s: HttpOnly=%v SameSite=%v Secure=%v Path=%q", ck.Name, ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
			}
		}
	})
}

// TestSecureCookies: with KEYWARD_SECURE_COOKIES left at its default every
// cookie Keyward sets, including the one that clears the session, is Secure.
func TestSecureCookies(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		cfg, err := models.LoadConfig(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.SecureCookies {
			t.Fatal("secure cookies are not the default")
		}
		secret, err := store.SessionSecret(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sessions := store.NewSessionStore(secret, cfg.SecureCookies, cfg.SessionIdle, cfg.SessionAbsolute)
		e, _ := handlers.New(handlers.Options{Store: store, Policy: models.DefaultPolicy(), Config: cfg, Sessions: sessions,
			Logger: slog.New(slog.DiscardHandler)})
		if _, _, err := store.CreateAdmin(ctx, models.NewUser{Email: "ada@example.com", Name: "Ada", Password: testPassword}, "Acme", "standard"); err != nil {
			t.Fatal(err)
		}
		send := func(method, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, "https://keyward.test"+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			return rec
		}
		login := send("GET", "/login", nil)
		csrf := responseCookie(login, "keyward_csrf")
		if csrf == nil {
			t.Fatal("no CSRF cookie")
		}
		rec := send("POST", "/login", url.Values{"_csrf": {csrf.Value}, "email": {"ada@example.com"}, "password": {testPassword}}, csrf)
		checkStatus(t, rec, http.StatusSeeOther)
		sess := responseCookie(rec, sessionCookie)
		if sess == nil {
			t.Fatal("no session cookie")
		}
		out := send("POST", "/logout", url.Values{"_csrf": {csrf.Value}}, csrf, sess)
		checkStatus(t, out, http.StatusSeeOther)
		cleared := responseCookie(out, sessionCookie)
		if cleared == nil || cleared.MaxAge >= 0 {
			t.Fatalf("sign-out did not clear the session cookie: %+v", cleared)
		}
		for _, ck := range []*http.Cookie{csrf, sess, cleared} {
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("%s (max-age %d): Secure=%v HttpOnly=%v SameSite=%v", ck.Name, ck.MaxAge, ck.Secure, ck.HttpOnly, ck.SameSite)
			}
		}
	})
}

func responseCookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// newServerEnv is newServer with extra KEYWARD_* settings.
func newServerEnv(t *testing.T, store *models.Store, env map[string]string) *testServer {
	t.Helper()
	srv := newServer(t, store, nil)
	env["KEYWARD_SECURE_COOKIES"] = "false"
	cfg, err := models.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	secret, err := store.SessionSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sessions := store.NewSessionStore(secret, false, cfg.SessionIdle, cfg.SessionAbsolute)
	srv.Echo, srv.H = handlers.New(handlers.Options{Store: store, Policy: srv.Policy, Config: cfg, Sessions: sessions,
		Logger: slog.New(slog.NewJSONHandler(srv.Logs, nil))})
	srv.Config = cfg
	return srv
}

// failFrom posts a wrong password from remote with the given X-Forwarded-For
// and returns the client address Keyward recorded for it.
func failFrom(t *testing.T, srv *testServer, remote, xff string) string {
	t.Helper()
	c := srv.client()
	c.IP = remote
	c.get("/login")
	form := url.Values{"_csrf": {c.csrf}, "email": {"ada@example.com"}, "password": {"wrong-password"}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
		req.Header.Set("X-Real-IP", xff)
	}
	checkStatus(t, c.do(req), http.StatusUnauthorized)
	return srv.auditActions(models.ActionLoginFailed)[0].IP
}

// TestClientAddress: X-Forwarded-For is believed only from a configured proxy,
// so it cannot be used to dodge the per-address sign-in throttle.
func TestClientAddress(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, store *models.Store) {
		direct := newServer(t, store, nil)
		direct.seedAdmin("ada@example.com", "Acme")
		if got := failFrom(t, direct, "198.51.100.1", "203.0.113.5"); got != "198.51.100.1" {
			t.Errorf("without trusted proxies the address was %s, want the connection's", got)
		}

		proxied := newServerEnv(t, store, map[string]string{"KEYWARD_TRUSTED_PROXIES": "192.0.2.0/24"})
		if got := failFrom(t, proxied, "192.0.2.10", "203.0.113.5"); got != "203.0.113.5" {
			t.Errorf("through a trusted proxy the address was %s, want the forwarded one", got)
		}
		if got := failFrom(t, proxied, "198.51.100.1", "203.0.113.5"); got != "198.51.100.1" {
			t.Errorf("from an untrusted peer the address was %s, want the connection's", got)
		}
		if got := failFrom(t, proxied, "192.0.2.10", "203.0.113.5, 192.0.2.11"); got != "203.0.113.5" {
			t.Errorf("through two trusted proxies the address was %s, want the client's", got)
		}
	})
}
