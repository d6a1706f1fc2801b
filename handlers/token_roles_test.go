package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestTokenRoles(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		mgr, _ := d.as("manager@example.com", models.RoleManager)
		m1, _ := d.as("ann@example.com", models.RoleMember)
		m2, _ := d.as("bob@example.com", models.RoleMember)

		svc := d.create(d.c, "service", "Resource server", nil).id
		adm := d.create(d.c, "personal", "Admin PAT", nil).id
		mg := d.create(mgr, "personal", "Manager PAT", nil).id
		ann := d.create(m1, "personal", "Ann PAT", nil).id
		bob := d.create(m2, "personal", "Bob PAT", nil).id

		t.Run("lists", func(t *testing.T) {
			everything := []string{bob, ann, mg, adm, svc}
			for _, tc := range []struct {
				who  string
				c    *client
				want []string
			}{
				{"admin", d.c, everything},
				{"manager", mgr, everything},
				{"member", m1, []string{ann}},
			} {
				doc := d.page(tc.c, d.url("/tokens"), http.StatusOK)
				if got := rowIDs(doc); !slices.Equal(got, tc.want) {
					t.Errorf("%s sees %v, want %v", tc.who, got, tc.want)
				}
			}
			// A member's filters stay within their own tokens.
			if got := rowIDs(d.page(m1, d.url("/tokens?q=PAT"), http.StatusOK)); !slices.Equal(got, []string{ann}) {
				t.Errorf("member search sees %v", got)
			}
			if got := rowIDs(d.page(m1, d.url("/tokens?q="+bob), http.StatusOK)); len(got) != 0 {
				t.Errorf("member finds another member's token by id: %v", got)
			}
		})

		t.Run("member creates only member types", func(t *testing.T) {
			doc := d.page(m1, d.url("/tokens/new"), http.StatusOK)
			var offered []string
			for _, o := range doc.find("#type-pick option") {
				offered = append(offered, o.attr("value"))
			}
			if !slices.Equal(offered, []string{"personal"}) {
				t.Errorf("member is offered %v", offered)
			}
			if rec := m1.get(d.url("/tokens/new?type=service")); rec.Code != http.StatusForbidden {
				t.Errorf("GET new service: %d, want 403", rec.Code)
			}
			form := d.newForm(m1, "personal", "Sneaky")
			form.Set("type", "service")
			form.Set("scopes", "tokens:manage")
			form.Set("expires_in", "90d")
			before := d.count("tokens")
			if rec := m1.post(d.url("/tokens"), form); rec.Code != http.StatusForbidden {
				t.Errorf("POST service token as member: %d, want 403", rec.Code)
			}
			if d.count("tokens") != before {
				t.Error("the refused create wrote a token")
			}
		})

		t.Run("member and another member's token", func(t *testing.T) {
			for _, id := range []string{bob, adm, svc} {
				for _, path := range []string{"", "/usage", "/activity", "/reset", "/revoke"} {
					if rec := m1.get(d.url("/tokens/" + id + path)); rec.Code != http.StatusForbidden {
						t.Errorf("GET %s%s: %d, want 403", id, path, rec.Code)
					}
				}
				m1.get(d.url("/tokens"))
				for _, post := range []struct {
					path string
					form url.Values
				}{
					{"", url.Values{"name": {"Mine now"}}},
					{"/reset", url.Values{"grace": {"0"}}},
					{"/revoke", nil},
				} {
					if rec := m1.post(d.url("/tokens/"+id+post.path), post.form); rec.Code != http.StatusForbidden {
						t.Errorf("POST %s%s: %d, want 403", id, post.path, rec.Code)
					}
				}
				tok := d.token(id)
				if tok.RevokedAt != nil || tok.Name == "Mine now" || tok.PreviousHash != "" {
					t.Errorf("a member changed %s: %+v", id, tok)
				}
			}
			// Their own token they may see, edit, reset and revoke.
			for _, path := range []string{"", "/usage", "/activity", "/reset", "/revoke"} {
				if rec := m1.get(d.url("/tokens/" + ann + path)); rec.Code != http.StatusOK {
					t.Errorf("member GET own %s: %d", path, rec.Code)
				}
			}
			v := d.detailsForm(m1, ann)
			v.Set("name", "Ann's laptop")
			if rec := m1.post(d.url("/tokens/"+ann), v); rec.Code != http.StatusSeeOther {
				t.Errorf("member edits own token: %d", rec.Code)
			}
			if rec := m1.post(d.url("/tokens/"+ann+"/revoke"), nil); rec.Code != http.StatusSeeOther || d.token(ann).RevokedAt == nil {
				t.Errorf("member revokes own token: %d", rec.Code)
			}
		})

		t.Run("managers manage every token", func(t *testing.T) {
			for _, path := range []string{"", "/usage", "/activity", "/reset", "/revoke"} {
				if rec := mgr.get(d.url("/tokens/" + bob + path)); rec.Code != http.StatusOK {
					t.Errorf("manager GET %s: %d", path, rec.Code)
				}
			}
			if rec := mgr.post(d.url("/tokens/"+bob+"/reset"), url.Values{"grace": {"0"}}); rec.Code != http.StatusOK {
				t.Errorf("manager resets a member's token: %d", rec.Code)
			}
		})

		t.Run("another workspace", func(t *testing.T) {
			otherAdmin, otherWS := srv.seedAdmin("other@example.com", "Other Co")
			foreign, _, err := srv.Store.CreateToken(t.Context(), srv.Policy, otherWS, otherAdmin, models.UserActor(otherAdmin, "", ""),
				models.TokenInput{Type: "personal", Name: "Theirs", Scopes: []string{"read"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []*client{d.c, mgr, m1} {
				for _, path := range []string{"", "/usage", "/activity", "/reset", "/revoke"} {
					if rec := c.get(d.url("/tokens/" + foreign.PublicID + path)); rec.Code != http.StatusNotFound {
						t.Errorf("GET foreign %s: %d, want 404", path, rec.Code)
					}
				}
				c.get(d.url("/tokens"))
				for _, path := range []string{"", "/reset", "/revoke"} {
					if rec := c.post(d.url("/tokens/"+foreign.PublicID+path), url.Values{"name": {"x"}, "grace": {"0"}}); rec.Code != http.StatusNotFound {
						t.Errorf("POST foreign %s: %d, want 404", path, rec.Code)
					}
				}
			}
			if tok, _ := srv.Store.TokenByPublicID(t.Context(), otherWS.ID, foreign.PublicID); tok.RevokedAt != nil || tok.Name != "Theirs" || tok.PreviousHash != "" {
				t.Errorf("another workspace's token changed: %+v", tok)
			}
			if rec := d.c.get("/w/" + otherWS.Slug + "/tokens"); rec.Code != http.StatusNotFound {
				t.Errorf("another workspace's list: %d, want 404", rec.Code)
			}
			if rec := d.c.get(d.url("/tokens/NoSuchId")); rec.Code != http.StatusNotFound {
				t.Errorf("unknown id: %d", rec.Code)
			}
		})

		t.Run("pages by role", func(t *testing.T) {
			for _, tc := range []struct {
				c     *client
				path  string
				codes int
			}{
				{m1, "/audit", http.StatusForbidden},
				{m1, "/audit.csv", http.StatusForbidden},
				{m1, "/settings", http.StatusForbidden},
				{m1, "/members", http.StatusForbidden},
				{mgr, "/audit", http.StatusOK},
				{mgr, "/audit.csv", http.StatusOK},
				{mgr, "/settings", http.StatusForbidden},
				{d.c, "/settings", http.StatusOK},
			} {
				if rec := tc.c.get(d.url(tc.path)); rec.Code != tc.codes {
					t.Errorf("GET %s: %d, want %d", tc.path, rec.Code, tc.codes)
				}
			}
		})
	})
}

func TestMembersCannotCreateAdminOnlyTypes(t *testing.T) {
	// Split keys: only admins and managers create, view and revoke keys.
	eachServer(t, dashPolicy(t, "split-keys.yaml"), func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		m, _ := d.as("member@example.com", models.RoleMember)
		key := d.create(d.c, "customer", "Chat", nil).id
		doc := d.page(m, d.url("/tokens"), http.StatusOK)
		if doc.exists("[data-testid=new-token]") || len(rowIDs(doc)) != 0 {
			t.Errorf("member sees a New button or keys: %v", rowIDs(doc))
		}
		for _, path := range []string{"/tokens/new", "/tokens/new?type=customer", "/tokens/new?type=management", "/tokens/" + key, "/tokens/" + key + "/revoke"} {
			if rec := m.get(d.url(path)); rec.Code != http.StatusForbidden {
				t.Errorf("member GET %s: %d, want 403", path, rec.Code)
			}
		}
		m.get(d.url("/tokens"))
		if rec := m.post(d.url("/tokens"), url.Values{"type": {"customer"}, "name": {"x"}, "expires_in": {"never"}}); rec.Code != http.StatusForbidden {
			t.Errorf("member POST create: %d, want 403", rec.Code)
		}
		if rec := m.post(d.url("/tokens/"+key+"/revoke"), nil); rec.Code != http.StatusForbidden {
			t.Errorf("member POST revoke: %d, want 403", rec.Code)
		}
	})
}
