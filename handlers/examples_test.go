package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
)

var tokenShape = regexp.MustCompile(`^([a-z]+)_([0-9A-Za-z]{8})_([0-9A-Za-z]{32})$`)

// TestExamplePoliciesInDashboard creates a token of every type of every
// example policy through the new-token form, then checks what DESIGN §1
// lists for the pattern as far as the dashboard shows it.
func TestExamplePoliciesInDashboard(t *testing.T) {
	tests := []struct {
		file     string
		prefixes map[string]string // type → prefix
		check    func(t *testing.T, d *dash, made map[string]created)
	}{
		{"personal-tokens.yaml", map[string]string{"personal": "pat", "service": "svc"}, checkPersonalTokens},
		{"activity-profile-read.yaml", map[string]string{"activity": "act", "profile_read": "prd", "service": "svc"}, checkActivityProfileRead},
		{"workspace-keys.yaml", map[string]string{"workspace": "wbk", "service": "svc"}, checkWorkspaceKeys},
		{"role-tokens.yaml", map[string]string{"role": "lp", "service": "svc"}, checkRoleTokens},
		{"split-keys.yaml", map[string]string{"customer": "lxc", "management": "lxm", "service": "svc"}, checkSplitKeys},
	}
	for _, tc := range tests {
		p := dashPolicy(t, tc.file)
		t.Run(strings.TrimSuffix(tc.file, ".yaml"), func(t *testing.T) {
			eachServer(t, p, func(t *testing.T, srv *testServer) {
				d := newDash(t, srv)
				made := map[string]created{}
				for _, tt := range p.Types {
					cr := d.create(d.c, tt.Name, tt.Label+" one", nil)
					m := tokenShape.FindStringSubmatch(cr.plain)
					if m == nil || m[1] != tc.prefixes[tt.Name] {
						t.Errorf("%s token %q, want %s_<8>_<32>", tt.Name, cr.plain, tc.prefixes[tt.Name])
					}
					if d.token(cr.id).SecretHash != models.HashToken(cr.plain) {
						t.Errorf("%s: stored hash is not the token's", tt.Name)
					}
					made[tt.Name] = cr
				}
				if len(made) != len(tc.prefixes) {
					t.Errorf("policy types %d, want %d", len(made), len(tc.prefixes))
				}
				tc.check(t, d, made)
			})
		})
	}
}

func offered(doc dom, sel, attr string) []string {
	var out []string
	for _, e := range doc.find(sel) {
		out = append(out, e.attr(attr))
	}
	return out
}

func checkPersonalTokens(t *testing.T, d *dash, made map[string]created) {
	doc := d.page(d.c, d.url("/tokens/new?type=personal"), http.StatusOK)
	want := []string{"read", "write", "admin", "notes:create", "notes:update", "notes:delete", "notes:*", "workspaces:manage", "members:manage", "analytics:view"}
	if got := offered(doc, "input[name=scopes]", "value"); !slices.Equal(got, want) {
		t.Errorf("scopes offered %v", got)
	}
	if sel, _ := doc.first("select#expires_in option[selected]"); sel.text() != "1 week" {
		t.Errorf("default expiry %q, want 1 week", sel.text())
	}
	for _, v := range offered(doc, "select#expires_in option", "value") {
		if dur, err := models.ParseDuration(v); err != nil || dur > 30*24*time.Hour {
			t.Errorf("expiry option %q beyond 30 days", v)
		}
	}
	if hint, _ := doc.first("#expires-hint"); !strings.Contains(hint.text(), "revoked automatically") {
		t.Errorf("hint %q", hint.text())
	}
	// notes:* is a grantable wildcard.
	cr := d.create(d.c, "personal", "Notes bot", func(v url.Values) { v.Set("scopes", "notes:*") })
	if tok := d.token(cr.id); !slices.Equal(tok.Scopes, []string{"notes:*"}) {
		t.Errorf("wildcard scope stored as %v", tok.Scopes)
	}
	// At most 10 per user: 3 made so far, 7 more fit.
	for i := range 7 {
		d.create(d.c, "personal", fmt.Sprintf("Script %d", i), nil)
	}
	res := d.submitCreate(d.c, d.newForm(d.c, "personal", "Eleventh"))
	if res.rec.Code != http.StatusUnprocessableEntity || !strings.Contains(res.doc.fieldErrors()["cap"], "10 active tokens") {
		t.Errorf("11th token: %d %v", res.rec.Code, res.doc.fieldErrors())
	}
	if note, _ := d.page(d.c, d.url("/tokens/new"), http.StatusOK).first("[data-testid=cap]"); !strings.Contains(note.text(), "10 active tokens") {
		t.Errorf("cap note %q", note.text())
	}
	// Members may create their own personal tokens, not service tokens.
	m, _ := d.as("member@example.com", models.RoleMember)
	d.create(m, "personal", "Member PAT", nil)
	if rec := m.get(d.url("/tokens/new?type=service")); rec.Code != http.StatusForbidden {
		t.Errorf("member service form: %d", rec.Code)
	}
}

func checkActivityProfileRead(t *testing.T, d *dash, made map[string]created) {
	doc := d.page(d.c, d.url("/tokens/new"), http.StatusOK)
	labels := []string{}
	for _, o := range doc.find("#type-pick option") {
		labels = append(labels, o.text())
	}
	if !slices.Equal(labels[:2], []string{"Activity", "Profile Read"}) {
		t.Errorf("types offered %v", labels)
	}
	pr := d.token(made["profile_read"].id)
	if !slices.Equal(pr.ExposedAttributes, []string{"email", "loyalty_tier"}) || pr.LinkingAttribute != "loyalty_tier" || pr.IPAllowlist == "" || pr.TermsAcceptedAt == nil {
		t.Errorf("profile read token %+v", pr)
	}
	// Profile Read needs attributes, a linking attribute and at least one IP;
	// Activity needs no IP. Both need the terms.
	form := d.newForm(d.c, "profile_read", "Incomplete")
	form.Del("attributes")
	form.Del("linking_choice")
	form.Del("linking_custom")
	form.Set("ip_allowlist", "")
	form.Del("accept_terms")
	res := d.submitCreate(d.c, form)
	for _, f := range []string{"attributes", "linking_attribute", "ip_allowlist", "terms"} {
		if res.doc.fieldErrors()[f] == "" {
			t.Errorf("profile read without %s accepted: %v", f, res.doc.fieldErrors())
		}
	}
	act := d.token(made["activity"].id)
	if act.IPAllowlist != "" || act.TermsAcceptedAt == nil {
		t.Errorf("activity token without IPs: allowlist %q terms %v", act.IPAllowlist, act.TermsAcceptedAt)
	}
	// Details tab, Reset under the key, the hidden-key sentence.
	page := d.page(d.c, d.url("/tokens/"+made["activity"].id), http.StatusOK)
	if !page.exists("form[data-testid=details-form]") {
		t.Error("no Details form")
	}
	if tab, _ := page.first("nav.tabs a[aria-current=page]"); tab.text() != "Details" {
		t.Errorf("current tab %q", tab.text())
	}
	if r, _ := page.first(".key-panel [data-testid=reset]"); r.text() != "Reset API token" {
		t.Errorf("reset link under the key: %q", r.text())
	}
	if k, _ := page.first("[data-testid=key-hidden]"); k.text() != "API tokens can only be viewed when they are first created." {
		t.Errorf("key panel says %q", k.text())
	}
	// Reset: the old one stops at once.
	old := d.token(made["activity"].id).SecretHash
	d.c.get(d.url("/tokens/" + made["activity"].id + "/reset"))
	if rec := d.c.post(d.url("/tokens/"+made["activity"].id+"/reset"), url.Values{"grace": {"0"}}); rec.Code != http.StatusOK {
		t.Fatalf("reset: %d", rec.Code)
	}
	if tok := d.token(made["activity"].id); tok.SecretHash == old || tok.PreviousHash != "" {
		t.Error("the old secret still works after a reset without grace")
	}
	// 3 made; the workspace holds at most 5 active tokens.
	d.create(d.c, "activity", "Fourth", nil)
	d.create(d.c, "activity", "Fifth", nil)
	res = d.submitCreate(d.c, d.newForm(d.c, "activity", "Sixth"))
	if res.rec.Code != http.StatusUnprocessableEntity || !strings.Contains(res.doc.fieldErrors()["cap"], "5 active tokens") {
		t.Errorf("sixth token: %d %v", res.rec.Code, res.doc.fieldErrors())
	}
}

func checkWorkspaceKeys(t *testing.T, d *dash, made map[string]created) {
	doc := d.page(d.c, d.url("/tokens/new?type=workspace"), http.StatusOK)
	if got := offered(doc, "input[name=scopes]", "value"); !slices.Equal(got, []string{"read", "write", "assistant"}) {
		t.Errorf("permissions offered %v", got)
	}
	// Expiry is optional: never by default, a date allowed.
	if sel, _ := doc.first("select#expires_in option[selected]"); sel.attr("value") != "never" {
		t.Errorf("default expiry %q", sel.attr("value"))
	}
	if d.token(made["workspace"].id).ExpiresAt != nil {
		t.Error("default workspace key expires")
	}
	cr := d.create(d.c, "workspace", "Dated key", func(v url.Values) {
		v["scopes"] = []string{"read", "assistant"}
		v.Set("expires_on", "2099-01-31")
	})
	if tok := d.token(cr.id); tok.ExpiresAt == nil || tok.ExpiresAt.Format("2006-01-02 15:04") != "2099-02-01 00:00" || !slices.Equal(tok.Scopes, []string{"read", "assistant"}) {
		t.Errorf("dated key expires %v scopes %v", tok.ExpiresAt, tok.Scopes)
	}
	// Plans with their limits in the settings.
	settings := d.page(d.c, d.url("/settings"), http.StatusOK)
	var plans []string
	for _, o := range settings.find("select#plan option") {
		plans = append(plans, o.text())
	}
	want := []string{"starter — 100/day, 10/minute", "pro — 1000/day, 50/minute", "org — 10000/day, 200/minute"}
	if !slices.Equal(plans, want) {
		t.Errorf("plans %q", plans)
	}
}

func checkRoleTokens(t *testing.T, d *dash, made map[string]created) {
	doc := d.page(d.c, d.url("/tokens/new?type=role"), http.StatusOK)
	roles := doc.find("input[name=scopes]")
	var names []string
	for _, r := range roles {
		if r.attr("type") != "radio" {
			t.Errorf("role %s is a %s, want a radio", r.attr("value"), r.attr("type"))
		}
		names = append(names, r.attr("value"))
	}
	if !slices.Equal(names, []string{"BLUEPRINTS_FULL", "BLUEPRINTS_READONLY", "PROFILE_FULL", "FULL"}) {
		t.Errorf("roles %v", names)
	}
	var lifetimes []string
	for _, o := range doc.find("select#expires_in option") {
		lifetimes = append(lifetimes, o.text())
	}
	if len(lifetimes) == 0 || lifetimes[0] != "1 week" || lifetimes[len(lifetimes)-1] != "1 year" || slices.Contains(lifetimes, "Never") {
		t.Errorf("lifetimes %v, want 1 week … 1 year without never", lifetimes)
	}
	if tok := d.token(made["role"].id); !slices.Equal(tok.Scopes, []string{"BLUEPRINTS_FULL"}) {
		t.Errorf("role token scopes %v", tok.Scopes)
	}
	res := d.submitCreate(d.c, func() url.Values {
		v := d.newForm(d.c, "role", "Two roles")
		v["scopes"] = []string{"FULL", "PROFILE_FULL"}
		return v
	}())
	if !strings.Contains(res.doc.fieldErrors()["scopes"], "exactly one role") {
		t.Errorf("two roles: %v", res.doc.fieldErrors())
	}
	cr := d.create(d.c, "role", "Year-long", func(v url.Values) { v.Set("scopes", "FULL"); v.Set("expires_in", "1y") })
	if tok := d.token(cr.id); tok.ExpiresAt == nil || tok.ExpiresAt.Sub(tok.CreatedAt).Hours() != 365*24 {
		t.Errorf("1 year role token expires %v", tok.ExpiresAt)
	}
}

func checkSplitKeys(t *testing.T, d *dash, made map[string]created) {
	list := d.page(d.c, d.url("/tokens"), http.StatusOK)
	for _, typ := range []string{"customer", "management"} {
		tok := d.token(made[typ].id)
		row, ok := list.first("tr[data-token-id=" + tok.PublicID + "]")
		if !ok {
			t.Fatalf("no row for the %s key", typ)
		}
		cells := row.find("td")
		if m, _ := cells[1].first("code.masked"); m.text() != tok.Masked() || !strings.HasSuffix(m.text(), "••••"+made[typ].plain[len(made[typ].plain)-4:]) {
			t.Errorf("masked %q", m.text())
		}
		if cells[0].text() != tok.Name || cells[4].text() != views.FormatTime(tok.CreatedAt) {
			t.Errorf("label %q created %q", cells[0].text(), cells[4].text())
		}
	}
	// Revoke is a soft delete that cannot be undone.
	id := made["customer"].id
	d.c.get(d.url("/tokens/" + id + "/revoke"))
	d.c.post(d.url("/tokens/"+id+"/revoke"), nil)
	if tok := d.token(id); tok.RevokedAt == nil {
		t.Fatal("not revoked")
	}
	if rec := d.c.post(d.url("/tokens/"+id+"/reset"), url.Values{"grace": {"0"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("reset of a revoked key: %d", rec.Code)
	}
	if d.token(id).RevokedAt == nil || !slices.Contains(rowIDs(d.page(d.c, d.url("/tokens?status=revoked"), http.StatusOK)), id) {
		t.Error("the revoked key is gone or working again")
	}
	// Only admins and managers create, view and revoke.
	mgr, _ := d.as("manager@example.com", models.RoleManager)
	d.create(mgr, "management", "Manager's key", nil)
	if rec := mgr.get(d.url("/tokens/" + made["management"].id)); rec.Code != http.StatusOK {
		t.Errorf("manager views a key: %d", rec.Code)
	}
	m, _ := d.as("member@example.com", models.RoleMember)
	for _, path := range []string{"/tokens/new", "/tokens/" + made["management"].id, "/tokens/" + made["management"].id + "/revoke"} {
		if rec := m.get(d.url(path)); rec.Code != http.StatusForbidden {
			t.Errorf("member GET %s: %d", path, rec.Code)
		}
	}
}
