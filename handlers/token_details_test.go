package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

// detailsForm reads the Details tab's form as the browser would submit it.
func (d *dash) detailsForm(c *client, id string) url.Values {
	d.t.Helper()
	doc := d.page(c, d.url("/tokens/"+id), http.StatusOK)
	form, ok := doc.first("form[data-testid=details-form]")
	if !ok {
		d.t.Fatal("no details form")
	}
	if form.attr("action") != d.url("/tokens/"+id) || form.attr("method") != "post" {
		d.t.Errorf("details form posts to %s %q", form.attr("method"), form.attr("action"))
	}
	return form.formValues()
}

func TestTokenDetailsEdit(t *testing.T) {
	eachServer(t, dashPolicy(t, "activity-profile-read.yaml"), func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		cr := d.create(d.c, "profile_read", "Warehouse export", nil)
		before := d.token(cr.id)

		form := d.detailsForm(d.c, cr.id)
		// The form is filled with the stored values, the custom linking
		// attribute included.
		if form.Get("name") != "Warehouse export" || form.Get("ip_allowlist") != "203.0.113.7\n10.0.0.0/8" ||
			!slices.Equal(form["attributes"], []string{"email", "loyalty_tier"}) || form.Get("linking_choice") != "custom" ||
			form.Get("linking_custom") != "loyalty_tier" || !slices.Equal(form["scopes"], []string{"profiles:read"}) {
			t.Errorf("details form = %v", form)
		}
		t.Run("validation errors keep the input", func(t *testing.T) {
			tests := []struct {
				name  string
				edit  func(v url.Values)
				field string
				msg   string
			}{
				{"bad CIDR", func(v url.Values) { v.Set("ip_allowlist", "192.0.2.0/24\nnot-an-ip") }, "ip_allowlist", `line 2: "not-an-ip"`},
				{"no IP", func(v url.Values) { v.Set("ip_allowlist", "") }, "ip_allowlist", "at least one"},
				{"empty name", func(v url.Values) { v.Set("name", "") }, "name", "Enter a name"},
				{"scope of another type", func(v url.Values) { v.Set("scopes", "respond") }, "scopes", `"respond"`},
				{"unknown attribute", func(v url.Values) { v.Add("attributes", "passport_no") }, "attributes", `"passport_no"`},
				{"unknown linking attribute", func(v url.Values) { v.Set("linking_custom", "favourite_colour") }, "linking_attribute", `"favourite_colour"`},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					v := d.detailsForm(d.c, cr.id)
					v.Set("description", "typed but not saved")
					tc.edit(v)
					rec := d.c.post(d.url("/tokens/"+cr.id), v)
					if rec.Code != http.StatusUnprocessableEntity {
						t.Fatalf("status %d, want 422", rec.Code)
					}
					doc := parseDOM(t, body(rec))
					f, _ := doc.first("form[data-testid=details-form]")
					if msg := f.fieldErrors()[tc.field]; !strings.Contains(msg, tc.msg) {
						t.Errorf("errors %v, want %s containing %q", f.fieldErrors(), tc.field, tc.msg)
					}
					// The whole input comes back as typed.
					kept := f.formValues()
					for _, k := range []string{"name", "description", "ip_allowlist", "linking_custom"} {
						if kept.Get(k) != v.Get(k) {
							t.Errorf("%s = %q, typed %q", k, kept.Get(k), v.Get(k))
						}
					}
					if !slices.Equal(kept["attributes"], v["attributes"]) && tc.field != "attributes" {
						t.Errorf("attributes = %v, typed %v", kept["attributes"], v["attributes"])
					}
					after := d.token(cr.id)
					if after.Name != before.Name || after.Description != before.Description || after.IPAllowlist != before.IPAllowlist ||
						after.LinkingAttribute != before.LinkingAttribute || !slices.Equal(after.ExposedAttributes, before.ExposedAttributes) {
						t.Errorf("a refused edit changed the token: %+v", after)
					}
				})
			}
		})

		t.Run("save", func(t *testing.T) {
			v := d.detailsForm(d.c, cr.id)
			v.Set("name", "Warehouse export (EU)")
			v.Set("description", "nightly, EU only")
			v.Set("ip_allowlist", "198.51.100.0/24\n2001:db8::/48")
			v["attributes"] = []string{"email", "country"}
			v.Set("linking_choice", "email")
			v.Del("linking_custom")
			rec := d.c.post(d.url("/tokens/"+cr.id), v)
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != d.url("/tokens/"+cr.id) {
				t.Fatalf("save: %d → %q", rec.Code, rec.Header().Get("Location"))
			}
			doc := d.page(d.c, d.url("/tokens/"+cr.id), http.StatusOK)
			if flash, _ := doc.first(".flash-success"); flash.text() != "Saved." {
				t.Errorf("flash %q", flash.text())
			}
			after := d.token(cr.id)
			if after.Name != "Warehouse export (EU)" || after.Description != "nightly, EU only" || after.IPAllowlist != "198.51.100.0/24\n2001:db8::/48" ||
				!slices.Equal(after.ExposedAttributes, []string{"email", "country"}) || after.LinkingAttribute != "email" {
				t.Errorf("saved token = %+v", after)
			}
			if after.SecretHash != before.SecretHash {
				t.Error("editing changed the secret")
			}
			kept := d.detailsForm(d.c, cr.id)
			if kept.Get("linking_choice") != "email" || kept.Get("linking_custom") != "" || kept.Get("name") != "Warehouse export (EU)" {
				t.Errorf("form after save = %v", kept)
			}
			// The Activity tab shows the edit.
			act := d.page(d.c, d.url("/tokens/"+cr.id+"/activity"), http.StatusOK)
			var actions []string
			for _, row := range act.find("table[data-testid=audit] tbody tr") {
				cells := row.find("td")
				actions = append(actions, cells[1].text())
				if cells[2].text() != "admin@example.com" || cells[3].text() != d.c.IP {
					t.Errorf("activity row %q: actor %q ip %q", cells[1].text(), cells[2].text(), cells[3].text())
				}
			}
			if !slices.Equal(actions, []string{models.ActionTokenUpdated, models.ActionTokenCreated}) {
				t.Errorf("activity = %v", actions)
			}
		})

		t.Run("tabs", func(t *testing.T) {
			for _, tab := range []struct{ path, current, testid string }{
				{"", "Details", "details-form"},
				{"/usage", "Usage", "no-usage"},
				{"/activity", "Activity", "audit"},
			} {
				doc := d.page(d.c, d.url("/tokens/"+cr.id+tab.path), http.StatusOK)
				if cur, _ := doc.first("nav.tabs a[aria-current=page]"); cur.text() != tab.current {
					t.Errorf("%s: current tab %q", tab.path, cur.text())
				}
				if !doc.exists("[data-testid=" + tab.testid + "]") {
					t.Errorf("%s: no %s", tab.path, tab.testid)
				}
			}
		})

		t.Run("revoked tokens are read-only", func(t *testing.T) {
			other := d.create(d.c, "activity", "Old integration", nil)
			d.c.get(d.url("/tokens/" + other.id + "/revoke"))
			if rec := d.c.post(d.url("/tokens/"+other.id+"/revoke"), nil); rec.Code != http.StatusSeeOther {
				t.Fatalf("revoke: %d", rec.Code)
			}
			doc := d.page(d.c, d.url("/tokens/"+other.id), http.StatusOK)
			if doc.exists("form[data-testid=details-form]") || doc.exists("[data-testid=reset]") || doc.exists("[data-testid=revoke]") {
				t.Error("a revoked token still offers edit, reset or revoke")
			}
			rec := d.c.post(d.url("/tokens/"+other.id), url.Values{"name": {"Renamed"}})
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("edit revoked: %d", rec.Code)
			}
			doc = d.page(d.c, rec.Header().Get("Location"), http.StatusOK)
			if flash, _ := doc.first(".flash-error"); !strings.Contains(flash.text(), "revoked") {
				t.Errorf("flash %q", flash.text())
			}
			if d.token(other.id).Name != "Old integration" {
				t.Error("a revoked token was renamed")
			}
		})
	})
}
