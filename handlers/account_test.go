package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestChangePasswordRejected(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		u, _ := srv.seedAdmin("ada@example.com", "Acme")
		c, other := srv.client(), srv.client()
		c.signIn("ada@example.com", testPassword)
		other.signIn("ada@example.com", testPassword)
		checkBody(t, c.get("/account"), "Change password", "ada@example.com")

		tests := []struct {
			name     string
			current  string
			password string
			field    string
			message  string
		}{
			{"wrong current password", "not-my-password", "a-brand-new-password", "current", "That is not your current password."},
			{"empty current password", "", "a-brand-new-password", "current", "That is not your current password."},
			{"too short", testPassword, "short", "password", "Use at least 10 characters."},
			{"too common", testPassword, "password123", "password", "too common"},
			{"same as email", testPassword, "ADA@example.com", "password", "must not be your email"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := c.post("/account/password", url.Values{"current": {tt.current}, "password": {tt.password}})
				checkStatus(t, rec, http.StatusUnprocessableEntity)
				if got := fieldMessage(body(rec), tt.field); !strings.Contains(got, tt.message) {
					t.Errorf("message beside %s = %q, want %q", tt.field, got, tt.message)
				}
				if strings.Contains(body(rec), `value="`+tt.password+`"`) {
					t.Error("the password is put back into the form")
				}
			})
		}
		if n := srv.sessionCount(u); n != 2 {
			t.Errorf("a refused change ended sessions: %d left, want 2", n)
		}
		srv.client().signIn("ada@example.com", testPassword) // old password still works
		if n := len(srv.auditActions(models.ActionPasswordChange)); n != 0 {
			t.Errorf("%d password-change events after refused changes", n)
		}
	})
}

func TestChangePassword(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		u, _ := srv.seedAdmin("ada@example.com", "Acme")
		c, phone := srv.client(), srv.client()
		c.signIn("ada@example.com", testPassword)
		phone.signIn("ada@example.com", testPassword)
		c.get("/account")

		const next = "a-brand-new-password"
		rec := c.post("/account/password", url.Values{"current": {testPassword}, "password": {next}})
		checkRedirect(t, rec, "/account")
		checkBody(t, c.follow(rec), "Password changed. Your other sessions are signed out.", "signed in on 1 browser(s)")
		checkRedirect(t, phone.get("/account"), "/login?next=%2Faccount")
		if n := srv.sessionCount(u); n != 1 {
			t.Errorf("%d sessions after the change, want 1", n)
		}

		c2 := srv.client()
		c2.get("/login")
		checkStatus(t, c2.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), http.StatusUnauthorized)
		c2.signIn("ada@example.com", next)
		if n := len(srv.auditActions(models.ActionPasswordChange)); n != 1 {
			t.Errorf("%d password-change events, want 1", n)
		}
	})
}
