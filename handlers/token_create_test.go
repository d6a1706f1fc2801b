package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
	"golang.org/x/net/html"
)

// dash is a workspace with a signed-in admin, for the token page tests.
type dash struct {
	t     *testing.T
	srv   *testServer
	admin *models.User
	ws    *models.Workspace
	c     *client // the admin's browser
}

func newDash(t *testing.T, srv *testServer) *dash {
	t.Helper()
	u, w := srv.seedAdmin("admin@example.com", "Acme Corp")
	d := &dash{t: t, srv: srv, admin: u, ws: w, c: srv.client()}
	d.c.signIn(u.Email, testPassword)
	return d
}

// as signs in a new browser as a fresh member of the workspace with role.
func (d *dash) as(email string, role models.Role) (*client, *models.User) {
	d.t.Helper()
	u := d.srv.seedMember(d.ws, email, role)
	c := d.srv.client()
	c.signIn(email, testPassword)
	return c, u
}

func (d *dash) url(rest string) string { return "/w/" + d.ws.Slug + rest }

// dashPolicy loads an example policy file by name.
func dashPolicy(t *testing.T, name string) *models.Policy {
	t.Helper()
	p, err := models.LoadPolicy(filepath.Join("..", "examples", name))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return p
}

func (d *dash) typ(name string) *models.TokenType {
	d.t.Helper()
	tt, ok := d.srv.Policy.Type(name)
	if !ok {
		d.t.Fatalf("policy has no type %q", name)
	}
	return tt
}

// newForm opens the new-token form for typ and fills it as a person would:
// a name, the first scope or role, the required IPs, two attributes with a
// linking attribute searched through Custom, and the terms. Everything else
// keeps what the page preselected.
func (d *dash) newForm(c *client, typ, name string) url.Values {
	d.t.Helper()
	rec := c.get(d.url("/tokens/new?type=" + typ))
	if rec.Code != http.StatusOK {
		d.t.Fatalf("GET new %s: %d\n%s", typ, rec.Code, body(rec))
	}
	form, ok := parseDOM(d.t, body(rec)).first("[data-testid=token-form]")
	if !ok {
		d.t.Fatalf("no token form for %s", typ)
	}
	v := form.formValues()
	tt := d.typ(typ)
	v.Set("name", name)
	if len(tt.Scopes) > 0 {
		v.Set("scopes", tt.Scopes[0])
	}
	if tt.IPRule == models.IPRuleRequired {
		v.Set("ip_allowlist", "203.0.113.7\n10.0.0.0/8")
	}
	if tt.Attributes {
		v["attributes"] = []string{"email", "loyalty_tier"}
		v.Set("linking_choice", "custom")
		v.Set("linking_custom", "loyalty_tier")
	}
	if tt.Terms != "" {
		v.Set("accept_terms", "yes")
	}
	return v
}

// created is what the reveal dialog showed after a create or reset.
type created struct {
	rec   *httptest.ResponseRecorder
	doc   dom
	plain string
	id    string
}

// submitCreate posts the form and, when it succeeds, reads the plaintext.
func (d *dash) submitCreate(c *client, form url.Values) created {
	d.t.Helper()
	rec := c.post(d.url("/tokens"), form)
	cr := created{rec: rec, doc: parseDOM(d.t, body(rec))}
	if v, ok := cr.doc.first("[data-testid=token-value]"); ok {
		cr.plain = v.text()
		if p, err := models.ParseToken(cr.plain); err == nil {
			cr.id = p.ID
		}
	}
	return cr
}

// create makes a token of typ through the form and fails the test unless it
// is revealed with 201.
func (d *dash) create(c *client, typ, name string, edit func(url.Values)) created {
	d.t.Helper()
	form := d.newForm(c, typ, name)
	if edit != nil {
		edit(form)
	}
	cr := d.submitCreate(c, form)
	if cr.rec.Code != http.StatusCreated || cr.id == "" {
		d.t.Fatalf("create %s %q: status %d, errors %v", typ, name, cr.rec.Code, cr.doc.fieldErrors())
	}
	return cr
}

func (d *dash) token(publicID string) *models.Token {
	d.t.Helper()
	tok, err := d.srv.Store.TokenByPublicID(context.Background(), d.ws.ID, publicID)
	if err != nil {
		d.t.Fatalf("load token %s: %v", publicID, err)
	}
	return tok
}

func (d *dash) count(table string) int64 {
	d.t.Helper()
	var n int64
	if err := d.srv.Store.DB().Table(table).Count(&n).Error; err != nil {
		d.t.Fatal(err)
	}
	return n
}

// page GETs path, checks the status and parses the body.
func (d *dash) page(c *client, path string, want int) dom {
	d.t.Helper()
	rec := c.get(path)
	if rec.Code != want {
		d.t.Fatalf("GET %s: status %d, want %d\n%s", path, rec.Code, want, body(rec))
	}
	return parseDOM(d.t, body(rec))
}

func TestCreateTokenShowsItOnce(t *testing.T) {
	eachServer(t, dashPolicy(t, "personal-tokens.yaml"), func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		cr := d.create(d.c, "personal", "Deploy bot", func(v url.Values) {
			v["scopes"] = []string{"read", "notes:*"}
			v.Set("description", "pushes releases")
		})
		if got := cr.rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", got)
		}
		if loc := cr.rec.Header().Get("Location"); loc != "" {
			t.Errorf("the reveal must not redirect (Location %q)", loc)
		}
		dialog, ok := cr.doc.first("dialog[open][data-testid=reveal]")
		if !ok {
			t.Fatal("no <dialog open> with the token")
		}
		if !strings.Contains(dialog.text(), "you won't be able to see it again") {
			t.Errorf("dialog text %q lacks the warning", dialog.text())
		}
		copyBtn, ok := dialog.first("button[data-testid=copy]")
		if !ok || copyBtn.attr("data-copy-target") != "#token-value" {
			t.Errorf("no copy button aimed at the token value")
		}
		if !strings.HasPrefix(cr.plain, "pat_") || len(cr.plain) != len("pat_")+8+1+32 {
			t.Errorf("plaintext %q is not pat_<8>_<32>", cr.plain)
		}
		if n := strings.Count(body(cr.rec), cr.plain); n != 1 {
			t.Errorf("the plaintext appears %d times in the response, want once", n)
		}
		tok := d.token(cr.id)
		if tok.SecretHash != models.HashToken(cr.plain) || tok.Name != "Deploy bot" || tok.Description != "pushes releases" ||
			!slices.Equal(tok.Scopes, []string{"read", "notes:*"}) || tok.CreatedByLabel != "admin@example.com" {
			t.Errorf("stored token = %+v", tok)
		}
		if tok.ExpiresAt == nil || tok.ExpiresAt.Sub(tok.CreatedAt) != 7*24*time.Hour {
			t.Errorf("expiry = %v, want the type's default of 7 days", tok.ExpiresAt)
		}

		for _, path := range []string{"/tokens/" + cr.id, "/tokens/" + cr.id + "/usage", "/tokens/" + cr.id + "/activity", "/tokens"} {
			rec := d.c.get(d.url(path))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d", path, rec.Code)
			}
			secret := cr.plain[strings.LastIndex(cr.plain, "_")+1:]
			if strings.Contains(body(rec), secret) {
				t.Errorf("GET %s shows the secret again", path)
			}
			doc := parseDOM(t, body(rec))
			if doc.exists("dialog") {
				t.Errorf("GET %s has a dialog", path)
			}
			if path == "/tokens/"+cr.id {
				if hidden, _ := doc.first("[data-testid=key-hidden]"); !strings.Contains(hidden.text(), "API tokens can only be viewed when they are first created") {
					t.Errorf("token page does not say the key is hidden: %q", hidden.text())
				}
				if m, _ := doc.first("[data-testid=masked]"); m.text() != tok.Masked() {
					t.Errorf("masked key = %q, want %q", m.text(), tok.Masked())
				}
			}
		}
	})
}

func TestCreateTokenNeedsCSRF(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		form := d.newForm(d.c, "personal", "No CSRF")
		form.Del("_csrf")
		if rec := d.c.postRaw(d.url("/tokens"), form); rec.Code != http.StatusForbidden {
			t.Errorf("POST without CSRF token: %d, want 403", rec.Code)
		}
		form.Set("_csrf", "forged")
		if rec := d.c.postRaw(d.url("/tokens"), form); rec.Code != http.StatusForbidden {
			t.Errorf("POST with a forged CSRF token: %d, want 403", rec.Code)
		}
		if n := d.count("tokens"); n != 0 {
			t.Errorf("%d tokens created without CSRF", n)
		}
	})
}

func TestNewTokenTypePicker(t *testing.T) {
	files := []string{"personal-tokens.yaml", "activity-profile-read.yaml", "workspace-keys.yaml", "role-tokens.yaml", "split-keys.yaml"}
	for _, file := range files {
		p := dashPolicy(t, file)
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			eachServer(t, p, func(t *testing.T, srv *testServer) {
				d := newDash(t, srv)
				for _, tt := range p.Types {
					t.Run(tt.Name, func(t *testing.T) {
						doc := d.page(d.c, d.url("/tokens/new?type="+tt.Name), http.StatusOK)
						if sel, _ := doc.first("#type-pick option[selected]"); sel.attr("value") != tt.Name {
							t.Errorf("type picker selects %q", sel.attr("value"))
						}
						form, ok := doc.first("[data-testid=token-form]")
						if !ok {
							t.Fatal("no form")
						}
						if h, _ := form.first("input[name=type]"); h.attr("value") != tt.Name {
							t.Errorf("hidden type = %q", h.attr("value"))
						}
						// Only this type's scopes, as radios for a single role.
						var scopes []string
						for _, in := range form.find("input[name=scopes]") {
							scopes = append(scopes, in.attr("value"))
							want := "checkbox"
							if tt.SingleScope {
								want = "radio"
							}
							if in.attr("type") != want {
								t.Errorf("scope %s is a %s, want %s", in.attr("value"), in.attr("type"), want)
							}
						}
						if !slices.Equal(scopes, tt.Scopes) {
							t.Errorf("scopes offered %v, want %v", scopes, tt.Scopes)
						}
						// The IP field says when it is required.
						label, hasIP := form.first("label[for=ip_allowlist]")
						switch tt.IPRule {
						case models.IPRuleNone:
							if hasIP {
								t.Error("IP field shown for a type without allowlists")
							}
						case models.IPRuleRequired:
							if !strings.Contains(label.text(), "required") {
								t.Errorf("IP label %q does not say it is required", label.text())
							}
						default:
							if !hasIP || !strings.Contains(label.text(), "optional") {
								t.Errorf("IP label %q does not say it is optional", label.text())
							}
						}
						if got := form.exists("input[name=accept_terms]"); got != (tt.Terms != "") {
							t.Errorf("terms tick shown = %v, policy terms %q", got, tt.Terms)
						}
						if tt.Terms != "" && !strings.Contains(form.text(), "I agree to the terms") {
							t.Error("terms tick has no \"I agree to the terms\" label")
						}
						if got := form.exists("input[name=attributes]"); got != tt.Attributes {
							t.Errorf("attribute choices shown = %v", got)
						}
						if tt.Attributes {
							if !form.exists("input[name=linking_choice][value=custom]") || !form.exists("input#linking_custom[list=attribute-catalog]") {
								t.Error("no Custom search for the linking attribute")
							}
							if n := len(form.find("datalist#attribute-catalog option")); n != len(d.ws.AttributeCatalog) {
								t.Errorf("catalogue search offers %d attributes, want %d", n, len(d.ws.AttributeCatalog))
							}
						}
						// Expiry: only lifetimes within bounds, never only where allowed,
						// the type's default preselected.
						var never bool
						var selected []string
						opts := form.find("select#expires_in option")
						if len(opts) == 0 {
							t.Fatal("no expiry options")
						}
						for _, o := range opts {
							v := o.attr("value")
							if o.has("selected") {
								selected = append(selected, v)
							}
							if v == "never" {
								never = true
								continue
							}
							dur, err := models.ParseDuration(v)
							if err != nil {
								t.Errorf("option %q: %v", v, err)
								continue
							}
							if err := tt.ValidateExpiry(dur, false); err != nil {
								t.Errorf("option %q (%s) is outside the bounds: %v", v, o.text(), err)
							}
						}
						if never != tt.Expiry.Never {
							t.Errorf("never offered = %v, allowed = %v", never, tt.Expiry.Never)
						}
						wantDefault := "never"
						if tt.Expiry.Default > 0 {
							wantDefault = models.FormatDuration(tt.Expiry.Default)
						}
						if !slices.Equal(selected, []string{wantDefault}) {
							t.Errorf("preselected %v, want [%s]", selected, wantDefault)
						}
						hint, _ := form.first("#expires-hint")
						if h := hint.text(); strings.Contains(h, "0s") || strings.Contains(h, "least 0") || strings.Contains(h, "between 0") {
							t.Errorf("expiry hint %q shows a zero bound", h)
						}
						if b := tt.Expiry.Describe(); b != "" && !strings.Contains(strings.ToLower(hint.text()), b) {
							t.Errorf("expiry hint %q does not say %q", hint.text(), b)
						}
					})
				}
				t.Run("unknown type", func(t *testing.T) {
					doc := d.page(d.c, d.url("/tokens/new?type=nope"), http.StatusUnprocessableEntity)
					if msg := doc.fieldErrors()["type"]; msg == "" {
						t.Errorf("no type error: %v", doc.fieldErrors())
					}
					if doc.exists("[data-testid=token-form]") {
						t.Error("form shown for an unknown type")
					}
				})
			})
		})
	}
}

func TestCreateTokenValidationErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		typ    string
		edit   func(v url.Values)
		field  string
		msg    string
		kept   func(t *testing.T, form dom)
	}{
		{
			name: "empty name", policy: "personal-tokens.yaml", typ: "personal",
			edit: func(v url.Values) { v.Set("name", "   "); v.Set("description", "kept text") }, field: "name", msg: "Enter a name",
			kept: func(t *testing.T, form dom) {
				if ta, _ := form.first("textarea#description"); ta.rawText() != "kept text" {
					t.Errorf("description = %q", ta.rawText())
				}
			},
		},
		{
			name: "malformed CIDR names the line", policy: "personal-tokens.yaml", typ: "personal",
			edit: func(v url.Values) {
				v.Set("ip_allowlist", "10.0.0.0/8\n192.168.1.0/33")
				v["scopes"] = []string{"write", "analytics:view"}
			},
			field: "ip_allowlist", msg: `line 2: "192.168.1.0/33"`,
			kept: func(t *testing.T, form dom) {
				if ta, _ := form.first("textarea#ip_allowlist"); ta.rawText() != "10.0.0.0/8\n192.168.1.0/33" {
					t.Errorf("allowlist = %q", ta.rawText())
				}
				if !form.exists("input[name=scopes][value=write][checked]") || !form.exists("input[name=scopes][value=analytics:view][checked]") ||
					form.exists("input[name=scopes][value=read][checked]") {
					t.Error("scope choices not kept")
				}
				if n, _ := form.first("input#name"); n.attr("value") != "Bad input" {
					t.Errorf("name = %q", n.attr("value"))
				}
			},
		},
		{
			name: "scope the type does not allow", policy: "personal-tokens.yaml", typ: "personal",
			edit: func(v url.Values) { v.Set("scopes", "tokens:manage") }, field: "scopes", msg: `"tokens:manage"`,
		},
		{
			name: "expiry too long", policy: "personal-tokens.yaml", typ: "personal",
			edit: func(v url.Values) { v.Set("expires_in", "60d") }, field: "expires", msg: "between 1 day and 30 days",
		},
		{
			name: "never where not allowed", policy: "personal-tokens.yaml", typ: "personal",
			edit: func(v url.Values) { v.Set("expires_in", "never") }, field: "expires", msg: "must expire",
		},
		{
			name: "custom date too far", policy: "personal-tokens.yaml", typ: "personal",
			edit: func(v url.Values) { v.Set("expires_on", time.Now().AddDate(0, 3, 0).Format("2006-01-02")) }, field: "expires", msg: "30 days",
			kept: func(t *testing.T, form dom) {
				if in, _ := form.first("input#expires_on"); in.attr("value") != time.Now().AddDate(0, 3, 0).Format("2006-01-02") {
					t.Errorf("date = %q", in.attr("value"))
				}
			},
		},
		{
			name: "custom date not a date", policy: "personal-tokens.yaml", typ: "personal",
			edit: func(v url.Values) { v.Set("expires_on", "next tuesday") }, field: "expires", msg: "YYYY-MM-DD",
		},
		{
			name: "role token with two roles", policy: "role-tokens.yaml", typ: "role",
			edit: func(v url.Values) { v["scopes"] = []string{"BLUEPRINTS_READONLY", "FULL"} }, field: "scopes", msg: "exactly one role",
		},
		{
			name: "role token for a day", policy: "role-tokens.yaml", typ: "role",
			edit: func(v url.Values) { v.Set("expires_in", "1d") }, field: "expires", msg: "between 1 week and 1 year",
		},
		{
			name: "profile read without IP", policy: "activity-profile-read.yaml", typ: "profile_read",
			edit: func(v url.Values) { v.Set("ip_allowlist", "") }, field: "ip_allowlist", msg: "at least one",
			kept: func(t *testing.T, form dom) {
				if !form.exists("input[name=attributes][value=email][checked]") || !form.exists("input[name=attributes][value=loyalty_tier][checked]") {
					t.Error("attribute choices not kept")
				}
				if in, _ := form.first("input#linking_custom"); in.attr("value") != "loyalty_tier" || !form.exists("input[name=linking_choice][value=custom][checked]") {
					t.Errorf("custom linking attribute not kept: %q", in.attr("value"))
				}
				if !form.exists("input[name=accept_terms][checked]") {
					t.Error("terms tick not kept")
				}
			},
		},
		{
			name: "profile read without attributes", policy: "activity-profile-read.yaml", typ: "profile_read",
			edit: func(v url.Values) { v.Del("attributes") }, field: "attributes", msg: "at least one",
		},
		{
			name: "custom linking attribute not in catalogue", policy: "activity-profile-read.yaml", typ: "profile_read",
			edit: func(v url.Values) { v.Set("linking_custom", "shoe_size") }, field: "linking_attribute", msg: `"shoe_size"`,
			kept: func(t *testing.T, form dom) {
				if in, _ := form.first("input#linking_custom"); in.attr("value") != "shoe_size" {
					t.Errorf("custom value = %q", in.attr("value"))
				}
			},
		},
		{
			name: "linking attribute missing", policy: "activity-profile-read.yaml", typ: "profile_read",
			edit: func(v url.Values) { v.Del("linking_choice"); v.Del("linking_custom") }, field: "linking_attribute", msg: "Choose",
		},
		{
			name: "terms not ticked", policy: "activity-profile-read.yaml", typ: "activity",
			edit: func(v url.Values) { v.Del("accept_terms") }, field: "terms", msg: "agree",
		},
		{
			name: "unknown type", policy: "personal-tokens.yaml", typ: "personal",
			edit: func(v url.Values) { v.Set("type", "superuser") }, field: "type", msg: `"superuser"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachServer(t, dashPolicy(t, tc.policy), func(t *testing.T, srv *testServer) {
				d := newDash(t, srv)
				form := d.newForm(d.c, tc.typ, "Bad input")
				tc.edit(form)
				events := d.count("audit_events")
				cr := d.submitCreate(d.c, form)
				if cr.rec.Code != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", cr.rec.Code)
				}
				msg, ok := cr.doc.first("small.field-error#" + tc.field + "-error")
				if !ok || !strings.Contains(msg.text(), tc.msg) {
					t.Errorf("field errors %v, want %s containing %q", cr.doc.fieldErrors(), tc.field, tc.msg)
				}
				if cr.doc.exists("dialog") || cr.plain != "" {
					t.Error("a failed create revealed a token")
				}
				if n := d.count("tokens"); n != 0 {
					t.Errorf("%d tokens written", n)
				}
				if n := d.count("audit_events"); n != events {
					t.Errorf("%d audit events written", n-events)
				}
				if tc.field != "type" {
					f, ok := cr.doc.first("[data-testid=token-form]")
					if !ok {
						t.Fatal("the form is not shown again")
					}
					if in, _ := f.first("input#name"); tc.field != "name" && in.attr("value") != "Bad input" {
						t.Errorf("name not kept: %q", in.attr("value"))
					}
					if tc.kept != nil {
						tc.kept(t, f)
					}
					// The form still posts: fix the field and it goes through.
					if ref := f.attr("action"); ref != d.url("/tokens") {
						t.Errorf("form action %q", ref)
					}
				}
			})
		})
	}
}

func TestCreateTokenCapReached(t *testing.T) {
	eachServer(t, dashPolicy(t, "activity-profile-read.yaml"), func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		doc := d.page(d.c, d.url("/tokens/new?type=activity"), http.StatusOK)
		if doc.exists("[data-testid=cap]") {
			t.Error("cap note shown before the cap is reached")
		}
		var ids []string
		for i := range 5 {
			ids = append(ids, d.create(d.c, "activity", fmt.Sprintf("Integration %d", i), nil).id)
		}
		doc = d.page(d.c, d.url("/tokens/new?type=profile_read"), http.StatusOK)
		if note, ok := doc.first("[data-testid=cap]"); !ok || !strings.Contains(note.text(), "5 active tokens") || !strings.Contains(note.text(), "Revoke one") {
			t.Errorf("cap note = %q", note.text())
		}
		form := d.newForm(d.c, "profile_read", "One too many")
		cr := d.submitCreate(d.c, form)
		if cr.rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("create over the cap: %d", cr.rec.Code)
		}
		if msg := cr.doc.fieldErrors()["cap"]; !strings.Contains(msg, "5 active tokens") {
			t.Errorf("cap error = %q", msg)
		}
		if n := d.count("tokens"); n != 5 {
			t.Errorf("%d tokens, want 5", n)
		}
		// Revoking one makes room again.
		d.c.get(d.url("/tokens/" + ids[0] + "/revoke"))
		if rec := d.c.post(d.url("/tokens/"+ids[0]+"/revoke"), nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("revoke: %d", rec.Code)
		}
		if d.page(d.c, d.url("/tokens/new?type=activity"), http.StatusOK).exists("[data-testid=cap]") {
			t.Error("cap note still shown after a revoke")
		}
		d.create(d.c, "profile_read", "Now it fits", nil)
	})
}

// dom is a parsed HTML node with the few queries these tests need: compound
// selectors (tag, #id, .class, [attr], [attr=value]) joined by descendant
// combinators.
type dom struct{ n *html.Node }

func parseDOM(t testing.TB, s string) dom {
	t.Helper()
	n, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return dom{n}
}

type simpleSel struct {
	tag   string
	conds [][2]string // attribute, value ("\x00" means present); class is ".class"
}

func parseSel(s string) []simpleSel {
	var out []simpleSel
	for _, part := range strings.Fields(s) {
		var ss simpleSel
		i := 0
		readIdent := func() string {
			j := i
			for j < len(part) && !strings.ContainsRune("#.[", rune(part[j])) {
				j++
			}
			v := part[i:j]
			i = j
			return v
		}
		ss.tag = readIdent()
		for i < len(part) {
			switch part[i] {
			case '#':
				i++
				ss.conds = append(ss.conds, [2]string{"id", readIdent()})
			case '.':
				i++
				ss.conds = append(ss.conds, [2]string{".class", readIdent()})
			case '[':
				end := strings.IndexByte(part[i:], ']') + i
				inner := part[i+1 : end]
				i = end + 1
				k, v, ok := strings.Cut(inner, "=")
				if !ok {
					v = "\x00"
				}
				ss.conds = append(ss.conds, [2]string{k, strings.Trim(v, `"'`)})
			}
		}
		out = append(out, ss)
	}
	return out
}

func (s simpleSel) match(n *html.Node) bool {
	if n.Type != html.ElementNode || (s.tag != "" && n.Data != s.tag) {
		return false
	}
	d := dom{n}
	for _, c := range s.conds {
		switch {
		case c[0] == ".class":
			if !slices.Contains(strings.Fields(d.attr("class")), c[1]) {
				return false
			}
		case c[1] == "\x00":
			if !d.has(c[0]) {
				return false
			}
		default:
			if !d.has(c[0]) || d.attr(c[0]) != c[1] {
				return false
			}
		}
	}
	return true
}

// find returns the descendants of d matching sel, in document order.
func (d dom) find(sel string) []dom {
	chain := parseSel(sel)
	if len(chain) == 0 {
		return nil
	}
	var out []dom
	for n := range d.n.Descendants() {
		if !chain[len(chain)-1].match(n) {
			continue
		}
		k := len(chain) - 2
		for a := n.Parent; a != nil && a != d.n.Parent && k >= 0; a = a.Parent {
			if chain[k].match(a) {
				k--
			}
		}
		if k < 0 {
			out = append(out, dom{n})
		}
	}
	return out
}

func (d dom) first(sel string) (dom, bool) {
	if all := d.find(sel); len(all) > 0 {
		return all[0], true
	}
	return dom{&html.Node{Type: html.ElementNode}}, false
}

func (d dom) exists(sel string) bool { return len(d.find(sel)) > 0 }

func (d dom) attr(key string) string {
	for _, a := range d.n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func (d dom) has(key string) bool {
	return slices.ContainsFunc(d.n.Attr, func(a html.Attribute) bool { return a.Key == key })
}

// rawText is the text content as written.
func (d dom) rawText() string {
	var b strings.Builder
	for n := range d.n.Descendants() {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	}
	return b.String()
}

// text is the text content with runs of white space collapsed.
func (d dom) text() string { return strings.Join(strings.Fields(d.rawText()), " ") }

// fieldErrors maps each .field-error's field to its message.
func (d dom) fieldErrors() map[string]string {
	out := map[string]string{}
	for _, e := range d.find(".field-error") {
		out[strings.TrimSuffix(e.attr("id"), "-error")] = e.text()
	}
	return out
}

// formValues returns what a browser would submit for the form unchanged.
func (d dom) formValues() url.Values {
	v := url.Values{}
	for n := range d.n.Descendants() {
		e := dom{n}
		if n.Type != html.ElementNode || e.attr("name") == "" || e.has("disabled") {
			continue
		}
		name := e.attr("name")
		switch n.Data {
		case "input":
			switch e.attr("type") {
			case "checkbox", "radio":
				if e.has("checked") {
					val := e.attr("value")
					if !e.has("value") {
						val = "on"
					}
					v.Add(name, val)
				}
			case "submit", "button", "reset", "file", "image":
			default:
				v.Add(name, e.attr("value"))
			}
		case "textarea":
			v.Add(name, e.rawText())
		case "select":
			opts := e.find("option")
			if len(opts) == 0 {
				continue
			}
			chosen := opts[0]
			for _, o := range opts {
				if o.has("selected") {
					chosen = o
				}
			}
			val := chosen.attr("value")
			if !chosen.has("value") {
				val = chosen.text()
			}
			v.Add(name, val)
		}
	}
	return v
}
