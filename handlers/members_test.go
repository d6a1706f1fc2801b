package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

var newPasswordCode = regexp.MustCompile(`id="new-password">([^<]+)</code>`)

// fieldMessage returns the message shown beside a form field, or "".
func fieldMessage(page, field string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(field) + `-error">([^<]*)<`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestAddNewMember(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		_, w := srv.seedAdmin("ada@example.com", "Acme")
		admin := srv.client()
		admin.signIn("ada@example.com", testPassword)
		checkBody(t, admin.get("/w/acme/members"), "ada@example.com", "Add a member")

		rec := admin.post("/w/acme/members", url.Values{"email": {"New.Person@Example.com"}, "name": {"New Person"}, "role": {"manager"}})
		checkStatus(t, rec, http.StatusOK)
		if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control = %q on the page showing a password", cc)
		}
		m := newPasswordCode.FindStringSubmatch(body(rec))
		if m == nil {
			t.Fatalf("no generated password on the page\n%s", truncateBody(rec))
		}
		password := html.UnescapeString(m[1])
		checkBody(t, rec, "new.person@example.com", "be able to see it again")

		// Shown once: the next view of the page does not have it.
		if again := body(admin.get("/w/acme/members")); strings.Contains(again, password) || strings.Contains(again, `id="new-password"`) {
			t.Error("the generated password is shown a second time")
		}
		for _, ev := range srv.auditActions(models.ActionMemberAdded) {
			if strings.Contains(ev.Details, password) {
				t.Error("the audit log holds the generated password")
			}
		}
		if strings.Contains(srv.Logs.String(), password) {
			t.Error("the log holds the generated password")
		}

		newcomer := srv.client()
		newcomer.signIn("new.person@example.com", password)
		checkStatus(t, newcomer.get("/w/acme/tokens"), http.StatusOK)
		u, err := srv.Store.UserByEmail(ctx, "new.person@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if mem, err := srv.Store.Membership(ctx, w.ID, u.ID); err != nil || mem.Role != models.RoleManager {
			t.Errorf("membership = %+v, %v; want manager", mem, err)
		}
		evs := srv.auditActions(models.ActionMemberAdded)
		if len(evs) != 1 || evs[0].TargetLabel != "new.person@example.com" || !strings.Contains(evs[0].Details, `"new_account":true`) {
			t.Errorf("member.added events = %+v", evs)
		}
	})
}

func TestAddExistingMember(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		_, w := srv.seedAdmin("ada@example.com", "Acme")
		bob, _ := srv.seedAdmin("bob@example.com", "Globex")
		admin := srv.client()
		admin.signIn("ada@example.com", testPassword)
		admin.get("/w/acme/members")

		rec := admin.post("/w/acme/members", url.Values{"email": {"BOB@example.com"}, "role": {"member"}})
		checkRedirect(t, rec, "/w/acme/members")
		page := admin.follow(rec)
		checkBody(t, page, "bob@example.com joined the workspace as member.")
		if strings.Contains(body(page), `id="new-password"`) {
			t.Error("a password is shown for an existing account")
		}
		if m, err := srv.Store.Membership(ctx, w.ID, bob.ID); err != nil || m.Role != models.RoleMember {
			t.Errorf("membership = %+v, %v", m, err)
		}
		// Bob keeps his own password and now sees both workspaces.
		c := srv.client()
		c.signIn("bob@example.com", testPassword)
		checkStatus(t, c.get("/w/acme/tokens"), http.StatusOK)
		checkBody(t, c.get("/w/globex/tokens"), `href="/w/acme/tokens"`, `href="/w/globex/tokens"`)
	})
}

func TestAddMemberInvalid(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		_, w := srv.seedAdmin("ada@example.com", "Acme")
		srv.seedMember(w, "m@example.com", models.RoleMember)
		admin := srv.client()
		admin.signIn("ada@example.com", testPassword)
		admin.get("/w/acme/members")
		tests := []struct {
			name    string
			form    url.Values
			field   string
			message string
		}{
			{"already a member", url.Values{"email": {"M@example.com"}, "role": {"member"}}, "email", "already a member"},
			{"no email", url.Values{"email": {""}, "name": {"X"}, "role": {"member"}}, "email", "Enter an email address."},
			{"bad email", url.Values{"email": {"not-an-email"}, "name": {"X"}, "role": {"member"}}, "email", "valid email"},
			{"new person without a name", url.Values{"email": {"nameless@example.com"}, "name": {"  "}, "role": {"member"}}, "name", "Enter a name."},
			{"unknown role", url.Values{"email": {"x@example.com"}, "name": {"X"}, "role": {"owner"}}, "role", "Choose admin, manager or member."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, _ := srv.Store.UserCount(context.Background())
				rec := admin.post("/w/acme/members", tt.form)
				checkStatus(t, rec, http.StatusUnprocessableEntity)
				if got := fieldMessage(body(rec), tt.field); !strings.Contains(got, tt.message) {
					t.Errorf("message beside %s = %q, want %q", tt.field, got, tt.message)
				}
				if v := tt.form.Get("email"); v != "" {
					checkBody(t, rec, `value="`+v+`"`) // the input is kept
				}
				if after, _ := srv.Store.UserCount(context.Background()); after != before {
					t.Errorf("users %d -> %d", before, after)
				}
			})
		}
		if ms, _ := srv.Store.MembersByWorkspace(context.Background(), w.ID); len(ms) != 2 {
			t.Errorf("%d members, want 2", len(ms))
		}
	})
}

func TestChangeRoleAndRemove(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		ctx := context.Background()
		ada, w := srv.seedAdmin("ada@example.com", "Acme")
		m := srv.seedMember(w, "m@example.com", models.RoleMember)
		admin := srv.client()
		admin.signIn("ada@example.com", testPassword)
		admin.get("/w/acme/members")
		role := func(u *models.User) models.Role {
			t.Helper()
			mem, err := srv.Store.Membership(ctx, w.ID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return mem.Role
		}

		rec := admin.post(fmt.Sprintf("/w/acme/members/%d/role", m.ID), url.Values{"role": {"manager"}})
		checkRedirect(t, rec, "/w/acme/members")
		checkBody(t, admin.follow(rec), "m@example.com is now manager.")
		if role(m) != models.RoleManager {
			t.Errorf("role = %s, want manager", role(m))
		}
		rec = admin.post(fmt.Sprintf("/w/acme/members/%d/role", m.ID), url.Values{"role": {"emperor"}})
		checkRedirect(t, rec, "/w/acme/members")
		checkBody(t, admin.follow(rec), "Choose admin, manager or member.")

		// The last admin can be neither demoted nor removed: a clear message, not an error page.
		for _, path := range []string{fmt.Sprintf("/w/acme/members/%d/role", ada.ID), fmt.Sprintf("/w/acme/members/%d/remove", ada.ID)} {
			rec := admin.post(path, url.Values{"role": {"member"}})
			checkRedirect(t, rec, "/w/acme/members")
			page := admin.follow(rec)
			checkStatus(t, page, http.StatusOK)
			checkBody(t, page, "flash-error", "The workspace needs at least one admin")
			if role(ada) != models.RoleAdmin {
				t.Fatalf("%s: the last admin lost the role", path)
			}
		}

		rec = admin.post(fmt.Sprintf("/w/acme/members/%d/remove", m.ID), nil)
		checkRedirect(t, rec, "/w/acme/members")
		checkBody(t, admin.follow(rec), "m@example.com was removed from the workspace.")
		if _, err := srv.Store.Membership(ctx, w.ID, m.ID); err == nil {
			t.Error("membership still exists")
		}
		removed := srv.client()
		removed.signIn("m@example.com", testPassword)
		checkStatus(t, removed.get("/w/acme/tokens"), http.StatusNotFound)

		for _, path := range []string{"/w/acme/members/abc/role", "/w/acme/members/999999/role", fmt.Sprintf("/w/acme/members/%d/remove", m.ID)} {
			checkStatus(t, admin.post(path, url.Values{"role": {"member"}}), http.StatusNotFound)
		}
		for action, want := range map[string]int{models.ActionMemberRole: 1, models.ActionMemberRemoved: 1} {
			if n := len(srv.auditActions(action)); n != want {
				t.Errorf("%d %s events, want %d", n, action, want)
			}
		}
	})
}
