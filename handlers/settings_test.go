package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

func (d *dash) workspace() *models.Workspace {
	d.t.Helper()
	w, err := d.srv.Store.WorkspaceByID(d.t.Context(), d.ws.ID)
	if err != nil {
		d.t.Fatal(err)
	}
	return w
}

func TestSettingsPlanAndCatalogue(t *testing.T) {
	eachServer(t, dashPolicy(t, "workspace-keys.yaml"), func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		doc := d.page(d.c, d.url("/settings"), http.StatusOK)
		var plans []string
		for _, o := range doc.find("select#plan option") {
			plans = append(plans, o.attr("value"))
		}
		if !slices.Equal(plans, []string{"starter", "pro", "org"}) {
			t.Errorf("plans offered %v", plans)
		}
		if o, _ := doc.first("select#plan option[selected]"); o.attr("value") != "starter" {
			t.Errorf("current plan shown as %q", o.attr("value"))
		}
		if ta, _ := doc.first("textarea#catalog"); ta.rawText() != strings.Join(models.DefaultAttributeCatalog, "\n") {
			t.Errorf("catalogue shown as %q", ta.rawText())
		}

		t.Run("validation", func(t *testing.T) {
			for _, tc := range []struct {
				name, plan, catalog, field, msg string
			}{
				{"unknown plan", "enterprise", "email", "plan", "Choose one of the listed plans"},
				{"no plan", "", "email", "plan", "Choose one of the listed plans"},
				{"bad attribute", "pro", "email\n  \nshoe size!", "catalog", `Line 3: "shoe size!"`},
				{"long attribute", "pro", strings.Repeat("a", 65), "catalog", "at most 64"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					rec := d.c.post(d.url("/settings"), url.Values{"plan": {tc.plan}, "catalog": {tc.catalog}})
					if rec.Code != http.StatusUnprocessableEntity {
						t.Fatalf("status %d, want 422", rec.Code)
					}
					doc := parseDOM(t, body(rec))
					if msg := doc.fieldErrors()[tc.field]; !strings.Contains(msg, tc.msg) {
						t.Errorf("errors %v, want %s containing %q", doc.fieldErrors(), tc.field, tc.msg)
					}
					if ta, _ := doc.first("textarea#catalog"); ta.rawText() != tc.catalog {
						t.Errorf("catalogue not kept: %q", ta.rawText())
					}
					if w := d.workspace(); w.Plan != "starter" || !slices.Equal(w.AttributeCatalog, models.DefaultAttributeCatalog) {
						t.Errorf("a refused save changed the workspace: %q %v", w.Plan, w.AttributeCatalog)
					}
				})
			}
		})

		t.Run("save", func(t *testing.T) {
			rec := d.c.post(d.url("/settings"), url.Values{"plan": {"pro"}, "catalog": {"email\r\ncustomer_id\n\n shoe_size \nemail\n"}})
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != d.url("/settings") {
				t.Fatalf("save: %d → %q\n%s", rec.Code, rec.Header().Get("Location"), body(rec))
			}
			w := d.workspace()
			if w.Plan != "pro" || !slices.Equal(w.AttributeCatalog, []string{"email", "customer_id", "shoe_size"}) {
				t.Errorf("saved plan %q catalogue %q", w.Plan, w.AttributeCatalog)
			}
			doc := d.page(d.c, d.url("/settings"), http.StatusOK)
			if f, _ := doc.first(".flash-success"); f.text() != "Settings saved." {
				t.Errorf("flash %q", f.text())
			}
			if o, _ := doc.first("select#plan option[selected]"); o.attr("value") != "pro" {
				t.Errorf("plan shown as %q", o.attr("value"))
			}
			evs, _, _ := srv.Store.AuditEvents(t.Context(), models.AuditFilter{WorkspaceID: d.ws.ID, Action: models.ActionWorkspaceEdit})
			if len(evs) != 1 || evs[0].ActorLabel != d.admin.Email || evs[0].IP != d.c.IP {
				t.Errorf("workspace.updated events %+v", evs)
			}
		})

		t.Run("admins only", func(t *testing.T) {
			mgr, _ := d.as("manager@example.com", models.RoleManager)
			mgr.get(d.url("/tokens"))
			if rec := mgr.post(d.url("/settings"), url.Values{"plan": {"org"}, "catalog": {"x"}}); rec.Code != http.StatusForbidden {
				t.Errorf("manager POST settings: %d", rec.Code)
			}
			if w := d.workspace(); w.Plan != "pro" {
				t.Errorf("a manager changed the plan to %q", w.Plan)
			}
		})
	})
}

// TestSettingsCatalogueFeedsProfileRead edits the catalogue under a policy
// without plans and uses the new attribute in a Profile Read token.
func TestSettingsCatalogueFeedsProfileRead(t *testing.T) {
	eachServer(t, dashPolicy(t, "activity-profile-read.yaml"), func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		form := d.page(d.c, d.url("/settings"), http.StatusOK)
		f, _ := form.first("form[action=" + d.url("/settings") + "]")
		v := f.formValues()
		v.Set("catalog", "email\ncustomer_id\nmembership_no")
		rec := d.c.post(d.url("/settings"), v)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("save catalogue: %d, errors %v", rec.Code, parseDOM(t, body(rec)).fieldErrors())
		}
		if w := d.workspace(); !slices.Equal(w.AttributeCatalog, []string{"email", "customer_id", "membership_no"}) {
			t.Errorf("catalogue %v", w.AttributeCatalog)
		}
		doc := d.page(d.c, d.url("/tokens/new?type=profile_read"), http.StatusOK)
		var attrs []string
		for _, in := range doc.find("input[name=attributes]") {
			attrs = append(attrs, in.attr("value"))
		}
		if !slices.Equal(attrs, []string{"email", "customer_id", "membership_no"}) {
			t.Errorf("form offers %v", attrs)
		}
		cr := d.create(d.c, "profile_read", "Loyalty sync", func(v url.Values) {
			v["attributes"] = []string{"email", "membership_no"}
			v.Set("linking_custom", "membership_no")
		})
		if tok := d.token(cr.id); tok.LinkingAttribute != "membership_no" || !slices.Equal(tok.ExposedAttributes, []string{"email", "membership_no"}) {
			t.Errorf("token attributes %v linking %q", tok.ExposedAttributes, tok.LinkingAttribute)
		}
		// An attribute removed from the catalogue can no longer be chosen.
		form2 := d.newForm(d.c, "profile_read", "Old attribute")
		form2.Set("linking_custom", "loyalty_tier")
		if res := d.submitCreate(d.c, form2); res.rec.Code != http.StatusUnprocessableEntity || res.doc.fieldErrors()["linking_attribute"] == "" {
			t.Errorf("removed attribute: %d %v", res.rec.Code, res.doc.fieldErrors())
		}
	})
}
