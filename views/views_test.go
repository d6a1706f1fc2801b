package views_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"golang.org/x/net/html"
)

// node is an element of a rendered component.
type node struct{ *html.Node }

func render(t *testing.T, c templ.Component) node {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return node{doc}
}

func (n node) attr(k string) string {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val
		}
	}
	return ""
}

func (n node) has(k string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == k })
}

func (n node) text() string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// all returns the elements for which keep is true, in document order.
func (n node) all(keep func(node) bool) []node {
	var out []node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && keep(node{d}) {
			out = append(out, node{d})
		}
	}
	return out
}

func tag(name string) func(node) bool { return func(n node) bool { return n.Data == name } }

func testid(id string) func(node) bool {
	return func(n node) bool { return n.attr("data-testid") == id }
}

func (n node) one(t *testing.T, keep func(node) bool, what string) node {
	t.Helper()
	all := n.all(keep)
	if len(all) != 1 {
		t.Fatalf("%d elements for %s, want 1", len(all), what)
	}
	return all[0]
}

// checkLabels fails for every form control a person cannot name: each input
// (other than hidden), select and textarea needs a <label for=its id> or an
// enclosing <label> with text. Ids must be unique, and every field error must
// be named by its field's aria-describedby.
func checkLabels(t *testing.T, doc node) {
	t.Helper()
	ids := map[string]int{}
	for _, e := range doc.all(func(n node) bool { return n.has("id") }) {
		ids[e.attr("id")]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is used %d times", id, n)
		}
	}
	labelFor := map[string]string{}
	for _, l := range doc.all(tag("label")) {
		if f := l.attr("for"); f != "" {
			labelFor[f] = l.text()
		}
	}
	controls := doc.all(func(n node) bool {
		switch n.Data {
		case "select", "textarea":
			return true
		case "input":
			return n.attr("type") != "hidden" && n.attr("type") != "submit"
		}
		return false
	})
	if len(controls) == 0 {
		t.Fatal("no form controls rendered")
	}
	for _, c := range controls {
		name := c.Data + "[name=" + c.attr("name") + "]"
		if id := c.attr("id"); id != "" && strings.TrimSpace(labelFor[id]) != "" {
			continue
		}
		labelled := false
		for a := c.Parent; a != nil; a = a.Parent {
			if a.Type == html.ElementNode && a.Data == "label" && (node{a}).text() != "" {
				labelled = true
				break
			}
		}
		if !labelled {
			t.Errorf("%s (id %q) has no label", name, c.attr("id"))
		}
	}
	described := map[string]bool{}
	for _, e := range doc.all(func(n node) bool { return n.has("aria-describedby") }) {
		for _, id := range strings.Fields(e.attr("aria-describedby")) {
			described[id] = true
		}
	}
	for _, fe := range doc.all(func(n node) bool { return slices.Contains(strings.Fields(n.attr("class")), "field-error") }) {
		if !described[fe.attr("id")] && fe.attr("id") != "cap-error" { // the cap is about the whole form
			t.Errorf("field error %q (%q) is not tied to its field", fe.attr("id"), fe.text())
		}
	}
}

func chrome() views.Chrome {
	return views.Chrome{
		Title: "Test", User: &models.User{ID: 1, Name: "Ann", Email: "ann@example.com"},
		Workspace: &models.Workspace{ID: 1, Name: "Acme Corp", Slug: "acme-corp", AttributeCatalog: models.DefaultAttributeCatalog},
		Role:      models.RoleAdmin, CSRF: "csrf-value", Section: "tokens",
	}
}

func examplePolicy(t *testing.T, name string) *models.Policy {
	t.Helper()
	p, err := models.LoadPolicy("../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sampleToken(tt *models.TokenType) models.Token {
	now := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	exp := now.Add(30 * 24 * time.Hour)
	uid := int64(1)
	return models.Token{
		ID: 7, PublicID: "Ab3dE5gH", WorkspaceID: 1, Type: tt.Name, Prefix: tt.Prefix, Name: "Deploy <bot>",
		CreatedByID: &uid, CreatedByLabel: "ann@example.com", Last4: "o5p6", Scopes: tt.Scopes[:min(1, len(tt.Scopes))],
		IPAllowlist: "10.0.0.0/8", ExposedAttributes: []string{"email"}, LinkingAttribute: "segment",
		ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now,
	}
}

func TestTokenListView(t *testing.T) {
	p := examplePolicy(t, "split-keys.yaml")
	mgmt, _ := p.Type("management")
	tok := sampleToken(mgmt)
	revoked := sampleToken(mgmt)
	revoked.PublicID, revoked.RevokedAt, revoked.RevokedByLabel = "Zz9yX8wV", &tok.CreatedAt, "bob@example.com"
	page := views.TokenListPage{
		Chrome: chrome(), Types: p.TypesForRole("admin"), Status: "revoked", Type: "management", Search: "deploy",
		Rows: []views.TokenRow{
			{Token: tok, Status: models.StatusActive, TypeTag: mgmt.Label},
			{Token: revoked, Status: models.StatusRevoked, TypeTag: mgmt.Label},
		},
		Page: 2, PerPage: 2, Total: 5, CanCreate: true,
	}
	doc := render(t, views.TokenList(page))
	checkLabels(t, doc)
	table := doc.one(t, testid("tokens"), "token table")
	rows := table.all(tag("tr"))
	if len(rows) != 3 { // header + 2
		t.Fatalf("%d table rows", len(rows))
	}
	masked := doc.all(func(n node) bool { return n.Data == "code" && n.attr("class") == "masked" })
	if len(masked) != 2 || masked[0].text() != "lxm_Ab3dE5gH_••••o5p6" {
		t.Errorf("masked values %v", masked)
	}
	cells := node{rows[1].Node}.all(tag("td"))
	if cells[0].text() != "Deploy <bot>" || cells[2].text() != "Management key" || cells[3].text() != "ann@example.com" || cells[7].text() != "active" {
		t.Errorf("row cells %q %q %q %q", cells[0].text(), cells[2].text(), cells[3].text(), cells[7].text())
	}
	if got := (node{rows[2].Node}).all(tag("td"))[7].text(); got != "revoked by bob@example.com, 2030-01-02 03:04 UTC" {
		t.Errorf("revoked status cell %q", got)
	}
	doc.one(t, testid("new-token"), "New token link")
	sel := doc.all(func(n node) bool { return n.Data == "option" && n.has("selected") })
	var chosen []string
	for _, o := range sel {
		chosen = append(chosen, o.attr("value"))
	}
	if !slices.Equal(chosen, []string{"revoked", "management"}) {
		t.Errorf("selected filters %v", chosen)
	}
	prev := doc.one(t, func(n node) bool { return n.attr("rel") == "prev" }, "previous link")
	next := doc.one(t, func(n node) bool { return n.attr("rel") == "next" }, "next link")
	if prev.attr("href") != "/w/acme-corp/tokens?q=deploy&status=revoked&type=management" ||
		next.attr("href") != "/w/acme-corp/tokens?page=3&q=deploy&status=revoked&type=management" {
		t.Errorf("pagination links %q %q", prev.attr("href"), next.attr("href"))
	}

	empty := render(t, views.TokenList(views.TokenListPage{Chrome: chrome(), Types: p.TypesForRole("member")}))
	if e := empty.one(t, testid("no-tokens"), "empty note"); !strings.Contains(e.text(), "No tokens yet") {
		t.Errorf("empty note %q", e.text())
	}
	if len(empty.all(testid("new-token"))) != 0 {
		t.Error("New token link without CanCreate")
	}
}

func TestTokenView(t *testing.T) {
	p := examplePolicy(t, "activity-profile-read.yaml")
	pr, _ := p.Type("profile_read")
	tok := sampleToken(pr)
	base := views.TokenPage{
		Chrome: chrome(), Token: tok, Type: pr, Status: models.StatusActive, Tab: "details", Scopes: p.ScopeList,
		Catalog: models.DefaultAttributeCatalog, CanEdit: true, Now: tok.CreatedAt,
		Input: models.TokenInput{Name: tok.Name, Scopes: tok.Scopes, IPAllowlist: tok.IPAllowlist, ExposedAttributes: tok.ExposedAttributes, LinkingAttribute: tok.LinkingAttribute},
	}

	t.Run("details", func(t *testing.T) {
		doc := render(t, views.Token(base))
		checkLabels(t, doc)
		if m := doc.one(t, testid("masked"), "masked key"); m.text() != "prd_Ab3dE5gH_••••o5p6" {
			t.Errorf("masked %q", m.text())
		}
		if k := doc.one(t, testid("key-hidden"), "hidden key note"); k.text() != "API tokens can only be viewed when they are first created." {
			t.Errorf("key note %q", k.text())
		}
		if len(doc.all(tag("dialog"))) != 0 {
			t.Error("dialog without a plaintext")
		}
		doc.one(t, testid("details-form"), "details form")
		doc.one(t, testid("reset"), "reset link")
		doc.one(t, testid("revoke"), "revoke link")
		custom := doc.one(t, func(n node) bool { return n.attr("name") == "linking_choice" && n.attr("value") == "custom" }, "custom radio")
		if !custom.has("checked") {
			t.Error("segment is not a quick choice, so Custom should be checked")
		}
		if in := doc.one(t, func(n node) bool { return n.attr("id") == "linking_custom" }, "custom input"); in.attr("value") != "segment" {
			t.Errorf("custom value %q", in.attr("value"))
		}
	})

	t.Run("errors beside fields", func(t *testing.T) {
		p := base
		p.Input.IPAllowlist = "10.0.0.0/8\nbogus"
		p.Errors = map[string]string{"ip_allowlist": `line 2: "bogus" is not an IP address or CIDR range`, "name": "Enter a name.", "attributes": "Choose at least one attribute to expose.", "linking_attribute": "x", "scopes": "y"}
		doc := render(t, views.Token(p))
		checkLabels(t, doc)
		fe := doc.one(t, func(n node) bool { return n.attr("id") == "ip_allowlist-error" }, "IP error")
		if !strings.Contains(fe.text(), `line 2: "bogus"`) {
			t.Errorf("IP error %q", fe.text())
		}
		ta := doc.one(t, func(n node) bool { return n.attr("id") == "ip_allowlist" }, "IP textarea")
		if ta.attr("aria-invalid") != "true" || !strings.Contains(ta.text(), "bogus") {
			t.Errorf("textarea invalid=%q text %q", ta.attr("aria-invalid"), ta.text())
		}
	})

	t.Run("reveal", func(t *testing.T) {
		for _, how := range []string{"created", "reset"} {
			p := base
			p.Plaintext, p.Revealed = "prd_Ab3dE5gH_0123456789abcdefghijklmnopqrstuv", how
			doc := render(t, views.Token(p))
			d := doc.one(t, testid("reveal"), "reveal dialog")
			if d.Data != "dialog" || !d.has("open") {
				t.Errorf("reveal is <%s open=%v>", d.Data, d.has("open"))
			}
			if v := doc.one(t, testid("token-value"), "token value"); v.text() != p.Plaintext || v.attr("id") != "token-value" {
				t.Errorf("token value %q", v.text())
			}
			if c := doc.one(t, testid("copy"), "copy button"); c.Data != "button" || c.attr("data-copy-target") != "#token-value" {
				t.Errorf("copy button <%s %q>", c.Data, c.attr("data-copy-target"))
			}
			if !strings.Contains(d.text(), "you won't be able to see it again") {
				t.Errorf("dialog %q", d.text())
			}
		}
	})

	t.Run("revoked", func(t *testing.T) {
		p := base
		p.Token.RevokedAt, p.Token.RevokedByLabel, p.Token.RevokedReason = &tok.CreatedAt, "bob@example.com", "manual"
		p.Status, p.CanEdit = models.StatusRevoked, false
		doc := render(t, views.Token(p))
		if r := doc.one(t, testid("revoked"), "revoked fact"); r.text() != "2030-01-02 03:04 UTC by bob@example.com (manual)" {
			t.Errorf("revoked %q", r.text())
		}
		for _, id := range []string{"details-form", "reset", "revoke"} {
			if len(doc.all(testid(id))) != 0 {
				t.Errorf("revoked token shows %s", id)
			}
		}
	})

	t.Run("grace", func(t *testing.T) {
		p := base
		until := tok.CreatedAt.Add(6 * time.Hour)
		p.Token.PreviousHash, p.Token.PreviousValidUntil = "abc", &until
		doc := render(t, views.Token(p))
		if g := doc.one(t, testid("grace"), "grace note"); !strings.Contains(g.text(), "2030-01-02 09:04 UTC") {
			t.Errorf("grace note %q", g.text())
		}
	})
}

func TestTokenFormView(t *testing.T) {
	for _, file := range []string{"personal-tokens.yaml", "activity-profile-read.yaml", "workspace-keys.yaml", "role-tokens.yaml", "split-keys.yaml"} {
		p := examplePolicy(t, file)
		for i := range p.Types {
			tt := &p.Types[i]
			t.Run(file+"/"+tt.Name, func(t *testing.T) {
				page := views.TokenFormPage{
					Chrome: chrome(), Types: p.TypesForRole("admin"), Type: tt, Catalog: models.DefaultAttributeCatalog, Scopes: p.ScopeList,
					Options: []views.ExpiryOption{{Value: "7d", Label: "1 week"}}, Expiry: "7d",
					Errors: map[string]string{"name": "Enter a name.", "scopes": "s", "expires": "e", "ip_allowlist": "i", "attributes": "a", "linking_attribute": "l", "terms": "t", "cap": "c", "type": "unknown"},
				}
				if tt.IPRule == models.IPRuleNone {
					delete(page.Errors, "ip_allowlist")
				}
				if !tt.Attributes {
					delete(page.Errors, "attributes")
					delete(page.Errors, "linking_attribute")
				}
				if tt.Terms == "" {
					delete(page.Errors, "terms")
				}
				if len(tt.Scopes) == 0 {
					delete(page.Errors, "scopes") // no scope fieldset to carry it
				}
				doc := render(t, views.TokenForm(page))
				checkLabels(t, doc)
				doc.one(t, testid("token-form"), "token form")
				for field := range page.Errors {
					if field == "cap" {
						continue // a form-wide message, not a field's
					}
					doc.one(t, func(n node) bool { return n.attr("id") == field+"-error" }, field+" error")
				}
			})
		}
	}
	// With no type chosen the picker stands alone, with its message.
	doc := render(t, views.TokenForm(views.TokenFormPage{Chrome: chrome(), Types: examplePolicy(t, "split-keys.yaml").TypesForRole("admin"), Errors: map[string]string{"type": "Choose one of the listed token types."}}))
	checkLabels(t, doc)
	if e := doc.one(t, func(n node) bool { return n.attr("id") == "type-error" }, "type error"); e.text() != "Choose one of the listed token types." {
		t.Errorf("type error %q", e.text())
	}
}

func TestConfirmSettingsAuditViews(t *testing.T) {
	p := examplePolicy(t, "workspace-keys.yaml")
	wk, _ := p.Type("workspace")
	tok := sampleToken(wk)
	for _, action := range []string{"reset", "revoke"} {
		doc := render(t, views.Confirm(views.ConfirmPage{Chrome: chrome(), Token: tok, Action: action, Errors: map[string]string{"grace": "g"}}))
		if h := doc.one(t, tag("h1"), "heading"); !strings.Contains(h.text(), "Deploy <bot>") {
			t.Errorf("%s heading %q", action, h.text())
		}
		if action == "reset" {
			checkLabels(t, doc)
		}
	}
	var plans []models.Plan
	for _, n := range p.PlanNames() {
		plans = append(plans, p.Plan(n))
	}
	checkLabels(t, render(t, views.Settings(views.SettingsPage{Chrome: chrome(), Plans: plans, Plan: "pro", Catalog: "email", Errors: map[string]string{"plan": "p", "catalog": "c"}})))
	audit := render(t, views.Audit(views.AuditPage{
		Chrome: chrome(), Page: 1, PerPage: 50, Total: 1, Errors: map[string]string{"since": "s", "until": "u"},
		Events: []models.AuditEvent{{Action: "token.created", ActorLabel: "ann@example.com", TargetType: "token", TargetID: "Ab3dE5gH", TargetLabel: "Deploy", IP: "192.0.2.1", CreatedAt: tok.CreatedAt}},
	}))
	checkLabels(t, audit)
	audit.one(t, testid("audit"), "audit table")
	audit.one(t, testid("csv"), "CSV link")
}
