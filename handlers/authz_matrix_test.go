package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

// who makes a request in the authorization matrix.
type caller int

const (
	asAnon caller = iota
	asMember
	asManager
	asAdmin
	asOther // admin of another workspace
)

var callerNames = [...]string{"anonymous", "member", "manager", "admin", "other-admin"}

// matrixRow lists the status each caller gets from one route. Dashboard
// routes are driven with a signed-in session and a valid CSRF token; API
// routes with the session only (no bearer token), which must never be enough.
type matrixRow struct {
	method, path string
	want         [5]int
	form         url.Values
}

const (
	sOK       = http.StatusOK
	sCreated  = http.StatusCreated
	sSee      = http.StatusSeeOther
	sUnauth   = http.StatusUnauthorized
	sForbid   = http.StatusForbidden
	sNotFound = http.StatusNotFound
	sGone     = http.StatusGone
)

// authzMatrix covers every route. TestAuthorizationMatrix fails when a route
// exists without a row here, so a new route cannot skip this table.
var authzMatrix = []matrixRow{
	{"GET", "/", [5]int{sSee, sSee, sSee, sSee, sSee}, nil},
	{"GET", "/healthz", [5]int{sOK, sOK, sOK, sOK, sOK}, nil},
	{"GET", "/readyz", [5]int{sOK, sOK, sOK, sOK, sOK}, nil},
	{"GET", "/metrics", [5]int{sOK, sOK, sOK, sOK, sOK}, nil},
	{"GET", "/static/*", [5]int{sOK, sOK, sOK, sOK, sOK}, nil},
	{"GET", "/login", [5]int{sOK, sSee, sSee, sSee, sSee}, nil},
	{"POST", "/login", [5]int{sUnauth, sUnauth, sUnauth, sUnauth, sUnauth}, url.Values{"email": {"nobody@example.com"}, "password": {"wrong-password-1"}}},
	{"GET", "/setup", [5]int{sGone, sGone, sGone, sGone, sGone}, nil},
	{"POST", "/setup", [5]int{sGone, sGone, sGone, sGone, sGone}, url.Values{"code": {"X"}}},
	{"POST", "/logout", [5]int{sUnauth, sSee, sSee, sSee, sSee}, nil},
	{"POST", "/logout/everywhere", [5]int{sUnauth, sSee, sSee, sSee, sSee}, nil},
	{"GET", "/account", [5]int{sSee, sOK, sOK, sOK, sOK}, nil},
	{"POST", "/account/password", [5]int{sUnauth, 422, 422, 422, 422}, url.Values{"current": {"wrong"}, "password": {"short"}}},
	{"GET", "/w/:slug", [5]int{sSee, sSee, sSee, sSee, sNotFound}, nil},
	{"GET", "/w/:slug/tokens", [5]int{sSee, sOK, sOK, sOK, sNotFound}, nil},
	{"GET", "/w/:slug/tokens/new", [5]int{sSee, sOK, sOK, sOK, sNotFound}, nil},
	{"POST", "/w/:slug/tokens", [5]int{sUnauth, sCreated, sCreated, sCreated, sNotFound}, url.Values{"type": {"personal"}, "name": {"matrix"}, "scopes": {"read"}, "expires_in": {"7d"}}},
	{"GET", "/w/:slug/tokens/:id", [5]int{sSee, sForbid, sOK, sOK, sNotFound}, nil},
	{"POST", "/w/:slug/tokens/:id", [5]int{sUnauth, sForbid, sSee, sSee, sNotFound}, url.Values{"name": {"renamed"}, "scopes": {"read"}}},
	{"GET", "/w/:slug/tokens/:id/usage", [5]int{sSee, sForbid, sOK, sOK, sNotFound}, nil},
	{"GET", "/w/:slug/tokens/:id/activity", [5]int{sSee, sForbid, sOK, sOK, sNotFound}, nil},
	{"GET", "/w/:slug/tokens/:id/reset", [5]int{sSee, sForbid, sOK, sOK, sNotFound}, nil},
	{"POST", "/w/:slug/tokens/:id/reset", [5]int{sUnauth, sForbid, sOK, sOK, sNotFound}, nil},
	{"GET", "/w/:slug/tokens/:id/revoke", [5]int{sSee, sForbid, sOK, sOK, sNotFound}, nil},
	{"POST", "/w/:slug/tokens/:id/revoke", [5]int{sUnauth, sForbid, sSee, sSee, sNotFound}, nil},
	{"GET", "/w/:slug/audit", [5]int{sSee, sForbid, sOK, sOK, sNotFound}, nil},
	{"GET", "/w/:slug/audit.csv", [5]int{sSee, sForbid, sOK, sOK, sNotFound}, nil},
	{"GET", "/w/:slug/settings", [5]int{sSee, sForbid, sForbid, sOK, sNotFound}, nil},
	{"POST", "/w/:slug/settings", [5]int{sUnauth, sForbid, sForbid, sSee, sNotFound}, url.Values{"plan": {"standard"}, "catalog": {"email\ncustomer_id"}}},
	{"GET", "/w/:slug/members", [5]int{sSee, sForbid, sForbid, sOK, sNotFound}, nil},
	{"POST", "/w/:slug/members", [5]int{sUnauth, sForbid, sForbid, sOK, sNotFound}, url.Values{"email": {"new@example.com"}, "name": {"New"}, "role": {"member"}}},
	{"POST", "/w/:slug/members/:user/role", [5]int{sUnauth, sForbid, sForbid, sSee, sNotFound}, url.Values{"role": {"manager"}}},
	{"POST", "/w/:slug/members/:user/remove", [5]int{sUnauth, sForbid, sForbid, sSee, sNotFound}, nil},
}

// apiMatrix rows: a session alone never authenticates the API.
func init() {
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/token"},
		{"POST", "/api/v1/verify"},
		{"GET", "/api/v1/tokens"},
		{"POST", "/api/v1/tokens"},
		{"GET", "/api/v1/tokens/:id"},
		{"PATCH", "/api/v1/tokens/:id"},
		{"DELETE", "/api/v1/tokens/:id"},
		{"POST", "/api/v1/tokens/:id/reset"},
	} {
		authzMatrix = append(authzMatrix, matrixRow{r.method, r.path, [5]int{sUnauth, sUnauth, sUnauth, sUnauth, sUnauth}, nil})
	}
}

// matrixFixture is one workspace with a member, a manager and an admin, a
// token the admin made, and a second workspace with its own admin.
type matrixFixture struct {
	srv     *testServer
	ws      *models.Workspace
	users   map[caller]*models.User
	tokenID string
}

func newMatrixFixture(t *testing.T, store *models.Store) *matrixFixture {
	srv := newServer(t, store, nil)
	f := &matrixFixture{srv: srv, users: map[caller]*models.User{}}
	var u *models.User
	u, f.ws = srv.seedAdmin("admin@example.com", "Acme")
	f.users[asAdmin] = u
	f.users[asManager] = srv.seedMember(f.ws, "manager@example.com", models.RoleManager)
	f.users[asMember] = srv.seedMember(f.ws, "member@example.com", models.RoleMember)
	f.users[asOther], _ = srv.seedAdmin("other@example.com", "Other Co")
	tok, _, err := store.CreateToken(context.Background(), srv.Policy, f.ws, f.users[asAdmin], models.UserActor(f.users[asAdmin], "", ""),
		models.TokenInput{Type: "personal", Name: "admin token", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	f.tokenID = tok.PublicID
	return f
}

func (f *matrixFixture) path(p string) string {
	r := strings.NewReplacer(":slug", f.ws.Slug, ":id", f.tokenID, ":user", fmt.Sprint(f.users[asMember].ID), "*", "css/app.css")
	return r.Replace(p)
}

func TestAuthorizationMatrix(t *testing.T) {
	probe := newServer(t, models.OpenTestSQLite(t), nil)
	covered := map[string]bool{}
	for _, r := range authzMatrix {
		covered[r.method+" "+r.path] = true
	}
	var missing []string
	for _, r := range probe.Echo.Routes() {
		key := r.Method + " " + r.Path
		if r.Method == "echo_route_not_found" || r.Path == "" || covered[key] {
			continue
		}
		missing = append(missing, key)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("routes without a row in the authorization matrix:\n  %s", strings.Join(missing, "\n  "))
	}

	cells := 0
	for _, row := range authzMatrix {
		for w := asAnon; w <= asOther; w++ {
			cells++
			t.Run(fmt.Sprintf("%s %s as %s", row.method, row.path, callerNames[w]), func(t *testing.T) {
				f := newMatrixFixture(t, models.OpenTestSQLite(t))
				c := f.srv.client()
				if w != asAnon {
					c.signIn(f.users[w].Email, testPassword)
				} else {
					c.get("/login")
				}
				form := url.Values{}
				for k, v := range row.form {
					form[k] = v
				}
				form.Set("_csrf", c.csrf)
				var got int
				switch row.method {
				case "GET":
					before := stateFingerprint(t, f.srv.Store)
					got = c.get(f.path(row.path)).Code
					if after := stateFingerprint(t, f.srv.Store); after != before {
						t.Errorf("GET changed stored state:\n before %s\n after  %s", before, after)
					}
				case "POST":
					got = c.postRaw(f.path(row.path), form).Code
				default:
					req, _ := http.NewRequest(row.method, f.path(row.path), strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					got = c.do(req).Code
				}
				if got != row.want[w] {
					t.Errorf("status %d, want %d", got, row.want[w])
				}
			})
		}
	}
	t.Logf("authorization matrix: %d routes × 5 callers = %d cells", len(authzMatrix), cells)
}

// stateFingerprint summarises every domain table, so a GET that changes
// anything shows up. Sessions are left out: reading a page may consume its
// one-time flash message.
func stateFingerprint(t *testing.T, s *models.Store) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT COUNT(*) || ':' || COALESCE(MAX(updated_at), '') FROM users",
		"SELECT COUNT(*) || ':' || COALESCE(MAX(updated_at), '') FROM workspaces",
		"SELECT COUNT(*) || ':' || COALESCE(SUM(LENGTH(role)), 0) FROM memberships",
		"SELECT COUNT(*) || ':' || COALESCE(MAX(updated_at), '') || ':' || COUNT(revoked_at) FROM tokens",
		"SELECT COUNT(*) FROM audit_events",
		"SELECT COUNT(*) FROM usage_counters",
	} {
		var v string
		if err := s.DB().Raw(q).Scan(&v).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, v)
	}
	return strings.Join(out, " ")
}
