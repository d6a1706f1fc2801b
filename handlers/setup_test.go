package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

func setupForm(code string) url.Values {
	return url.Values{
		"code": {code}, "name": {"Ada Lovelace"}, "email": {"Ada@Example.com"},
		"password": {testPassword}, "workspace": {"Acme Corp"},
	}
}

func TestSetup(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		code, err := srv.Store.NewSetupCode(ctx)
		if err != nil || code == "" {
			t.Fatalf("NewSetupCode = %q, %v", code, err)
		}
		c := srv.client()
		checkRedirect(t, c.get("/"), "/setup")
		checkRedirect(t, c.get("/login"), "/setup")
		checkStatus(t, c.get("/setup"), http.StatusOK)
		users := func() int64 {
			n, err := srv.Store.UserCount(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		t.Run("wrong code", func(t *testing.T) {
			rec := c.post("/setup", setupForm("WRNG-CODE-HERE"))
			checkStatus(t, rec, http.StatusUnprocessableEntity)
			checkBody(t, rec, `id="code-error"`, "That setup code is not right", `value="Ada Lovelace"`, `value="Acme Corp"`)
			if strings.Contains(body(rec), "WRNG-CODE-HERE") {
				t.Error("a wrong code is put back in the form")
			}
			if users() != 0 {
				t.Error("a wrong code created a user")
			}
		})

		t.Run("right code, bad form", func(t *testing.T) {
			form := setupForm(code)
			form.Set("password", "short")
			form.Set("workspace", "")
			rec := c.post("/setup", form)
			checkStatus(t, rec, http.StatusUnprocessableEntity)
			checkBody(t, rec, `id="password-error"`, "Use at least 10 characters.", `id="workspace-error"`, `value="`+code+`"`)
			if strings.Contains(body(rec), `id="code-error"`) {
				t.Error("the right code is reported as wrong")
			}
			if users() != 0 {
				t.Error("a failed setup created a user")
			}
		})

		t.Run("right code", func(t *testing.T) {
			rec := c.post("/setup", setupForm(code))
			checkRedirect(t, rec, "/w/acme-corp/tokens")
			checkBody(t, c.follow(rec), "Welcome to Keyward")
			checkStatus(t, c.get("/account"), http.StatusOK) // signed in
			u, err := srv.Store.UserByEmail(ctx, "ada@example.com")
			if err != nil {
				t.Fatal(err)
			}
			w := mustWorkspace(t, srv, "acme-corp")
			if m, err := srv.Store.Membership(ctx, w.ID, u.ID); err != nil || m.Role != models.RoleAdmin {
				t.Errorf("membership %+v, %v; want admin", m, err)
			}
			if evs := srv.auditActions(models.ActionSetup); len(evs) != 1 || evs[0].WorkspaceID == nil || *evs[0].WorkspaceID != w.ID {
				t.Errorf("setup.completed events = %+v", evs)
			}
		})

		t.Run("used twice", func(t *testing.T) {
			other := srv.client()
			other.get("/login")
			form := setupForm(code)
			form.Set("email", "mallory@example.com")
			rec := other.post("/setup", form)
			checkStatus(t, rec, http.StatusGone)
			checkBody(t, rec, "already set up")
			checkStatus(t, other.get("/setup"), http.StatusGone)
			checkStatus(t, other.get("/login"), http.StatusOK)
			if users() != 1 {
				t.Errorf("%d users after a second setup, want 1", users())
			}
		})
	})
}

// TestSetupWithoutCode: until the server has made a code, no code opens setup.
func TestSetupWithoutCode(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		c := srv.client()
		c.get("/setup")
		for _, code := range []string{"", " ", "AAAA-AAAA-AAAA"} {
			checkStatus(t, c.post("/setup", setupForm(code)), http.StatusUnprocessableEntity)
		}
		if n, _ := srv.Store.UserCount(context.Background()); n != 0 {
			t.Errorf("%d users created without a setup code", n)
		}
	})
}
