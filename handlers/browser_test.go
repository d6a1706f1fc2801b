package handlers_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/keyward/keyward/models"
)

// TestBrowserJourney walks the whole dashboard in Chromium: first-run setup,
// members, every token type of the activity + profile-read policy, and one
// token's life from creation to revocation, with the audit trail and its
// CSV export. Screenshots land in testdata/screenshots.
func TestBrowserJourney(t *testing.T) {
	began := time.Now()
	bctx := startBrowser(t)
	policy := loadExample(t, "activity-profile-read")
	srv := startServer(t, policy)
	b := newTab(t, bctx, srv.URL)
	ctx := context.Background()
	const (
		adminEmail   = "ada@example.com"
		adminName    = "Ada Lovelace"
		adminPass    = "analytical-engine-1843"
		workspace    = "Acme Support"
		slug         = "acme-support"
		managerEmail = "grace@example.com"
	)
	ws := func(rest string) string { return "/w/" + slug + rest }
	var managerPass string

	step(t, "first-run setup", func(t *testing.T) {
		code, err := srv.Store.NewSetupCode(ctx)
		if err != nil || code == "" {
			t.Fatalf("setup code %q: %v", code, err)
		}
		if st := b.open(t, "/"); st != http.StatusOK || b.path(t) != "/setup" {
			t.Fatalf("a fresh install opens at %s (status %d), want /setup", b.path(t), st)
		}
		b.checkLabels(t)
		b.shot(t, "setup")

		b.typeInto(t, "#code", "AAAA-BBBB-CCCC")
		b.typeInto(t, "#name", adminName)
		b.typeInto(t, "#email", adminEmail)
		b.typeInto(t, "#password", adminPass)
		b.typeInto(t, "#workspace", workspace)
		if st := b.submit(t, `form[action="/setup"] button[type=submit]`); st != http.StatusUnprocessableEntity {
			t.Fatalf("wrong setup code: status %d, want 422", st)
		}
		if msg := b.text(t, "#code-error"); msg == "" {
			t.Errorf("no message beside the setup code")
		}
		if v := run(t, b, chromedp.Value(chromedp.CSS("#workspace"))); v != workspace {
			t.Errorf("workspace field lost its input: %q", v)
		}
		b.shot(t, "setup-error")

		b.typeInto(t, "#code", code)
		b.typeInto(t, "#password", adminPass)
		if st := b.submit(t, `form[action="/setup"] button[type=submit]`); st != http.StatusOK {
			t.Fatalf("setup: status %d", st)
		}
		if p := b.path(t); p != ws("/tokens") {
			t.Fatalf("after setup at %s, want %s", p, ws("/tokens"))
		}
		if !strings.Contains(b.text(t, ".flash"), "Welcome") {
			t.Errorf("no welcome message after setup")
		}
		b.checkLabels(t)
		b.shot(t, "tokens-empty")
	})

	step(t, "sign in", func(t *testing.T) {
		b.signOut(t)
		b.checkLabels(t)
		b.shot(t, "login")
		b.typeInto(t, "#email", adminEmail)
		b.typeInto(t, "#password", "not-the-password")
		if st := b.submit(t, `form[action="/login"] button[type=submit]`); st != http.StatusUnauthorized {
			t.Fatalf("wrong password: status %d, want 401", st)
		}
		if !b.has(t, `[data-testid=login-error]`) {
			t.Errorf("no message for a wrong password")
		}
		b.shot(t, "login-error")
		b.signIn(t, adminEmail, adminPass)
		if p := b.path(t); p != ws("/tokens") {
			t.Errorf("after sign-in at %s, want %s", p, ws("/tokens"))
		}
	})

	step(t, "add a manager", func(t *testing.T) {
		b.page(t, ws("/members"), http.StatusOK, "")
		b.typeInto(t, "#member-email", managerEmail)
		b.typeInto(t, "#member-name", "Grace Hopper")
		b.do(t, chromedp.SetValue(chromedp.CSS("#member-role"), "manager"))
		if st := b.submit(t, `form[action="`+ws("/members")+`"] button[type=submit]`); st != http.StatusOK {
			t.Fatalf("add member: status %d", st)
		}
		if !b.has(t, `dialog[open]`) {
			t.Fatalf("no dialog with the initial password")
		}
		managerPass = b.text(t, "#new-password")
		if len(managerPass) < 10 {
			t.Fatalf("initial password %q is too short", managerPass)
		}
		b.shotView(t, "members-password")
		b.do(t, chromedp.Click(chromedp.CSS(`dialog[open] [data-close-dialog]`)))
		b.waitGone(t, managerPass)
		b.page(t, ws("/members"), http.StatusOK, "members")
		if !strings.Contains(b.text(t, "[data-testid=members]"), managerEmail) {
			t.Errorf("the manager is not listed")
		}
	})

	step(t, "admin pages", func(t *testing.T) {
		b.page(t, ws("/settings"), http.StatusOK, "settings")
		catalog := run(t, b, chromedp.Value(chromedp.CSS("#catalog")))
		b.do(t, chromedp.SetValue(chromedp.CSS("#catalog"), catalog+"\nvip_level"))
		if st := b.submit(t, `form[action="`+ws("/settings")+`"] button[type=submit]`); st != http.StatusOK {
			t.Fatalf("save settings: status %d", st)
		}
		w, err := srv.Store.WorkspaceBySlug(ctx, slug)
		if err != nil || !slices.Contains(w.AttributeCatalog, "vip_level") {
			t.Errorf("catalogue not saved: %v %v", w, err)
		}
		b.page(t, "/account", http.StatusOK, "account")
	})

	step(t, "sign in as the manager", func(t *testing.T) {
		b.signOut(t)
		b.signIn(t, managerEmail, managerPass)
		if p := b.path(t); p != ws("/tokens") {
			t.Errorf("manager lands on %s, want %s", p, ws("/tokens"))
		}
		if b.has(t, `header.topbar a[href="`+ws("/members")+`"]`) {
			t.Errorf("a manager sees the Members link")
		}
	})

	step(t, "type picker", func(t *testing.T) {
		b.page(t, ws("/tokens/new"), http.StatusOK, "")
		// Picking with the mouse submits the picker at once.
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		_, err := chromedp.RunResponse(ctx, chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.querySelector('#type-pick');
			s.value = 'profile_read';
			s.dispatchEvent(new Event('change', {bubbles: true}));
		})()`))
		if err != nil {
			t.Fatalf("pick a type: %v", err)
		}
		if p := b.path(t); p != ws("/tokens/new?type=profile_read") {
			t.Fatalf("picking a type went to %s", p)
		}
		// Arrow keys only move the choice; the page stays until Choose.
		b.do(t, chromedp.Focus(chromedp.CSS("#type-pick")), chromedp.KeyEvent(kb.ArrowUp), chromedp.Sleep(300*time.Millisecond))
		if p := b.path(t); p != ws("/tokens/new?type=profile_read") {
			t.Errorf("an arrow key in the type picker left the page for %s", p)
		}
		if v := run(t, b, chromedp.Value(chromedp.CSS("#type-pick"))); v != "activity" {
			t.Errorf("arrow key chose %q", v)
		}
	})

	tokens := map[string]createdToken{}
	for _, tt := range policy.TypesForRole(string(models.RoleManager)) {
		step(t, "create "+tt.Name+" token", func(t *testing.T) {
			tok := b.createToken(t, slug, tt, tt.Label+" for the browser test", "new-activity-profile-read-"+tt.Name, nil)
			if tt.Name == "profile_read" {
				b.shotView(t, "reveal")
			}
			b.copyToken(t, tok.Plaintext)
			b.closeReveal(t, srv, slug, tok)
			tokens[tt.Name] = tok
			saved := srv.token(t, slug, tok.PublicID)
			if tt.Attributes && (saved.LinkingAttribute != "loyalty_tier" || len(saved.ExposedAttributes) != 2) {
				t.Errorf("profile read token saved attributes %v linked by %q", saved.ExposedAttributes, saved.LinkingAttribute)
			}
			if tt.IPRule == "required" && saved.IPAllowlist == "" {
				t.Errorf("profile read token saved without its IPs")
			}
			if tt.Terms != "" && saved.TermsAcceptedAt == nil {
				t.Errorf("terms not recorded")
			}
		})
	}
	svc := tokens["service"]

	step(t, "use the token against the API", func(t *testing.T) {
		needAPI(t, srv.URL)
		for _, tok := range tokens {
			r := callAPI(t, srv.URL, "/api/v1/token", tok.Plaintext)
			if r.Status != http.StatusOK || r.Body["id"] != tok.PublicID {
				t.Errorf("GET /api/v1/token with the new %s token: %d %s", tok.Type.Name, r.Status, r.Raw)
			}
		}
		r := callAPI(t, srv.URL, "/api/v1/token", tokens["profile_read"].Plaintext)
		if r.Body["linking_attribute"] != "loyalty_tier" {
			t.Errorf("profile read token describes linking attribute %v", r.Body["linking_attribute"])
		}
	})

	step(t, "edit details", func(t *testing.T) {
		page := ws("/tokens/" + svc.PublicID)
		b.page(t, page, http.StatusOK, "token-details")
		b.typeInto(t, "#name", "Billing verifier")
		if st := b.submit(t, `[data-testid=details-form] button[type=submit]`); st != http.StatusOK {
			t.Fatalf("save details: status %d", st)
		}
		if p := b.path(t); p != page {
			t.Errorf("after saving at %s, want %s", p, page)
		}
		if h := b.text(t, "h1"); h != "Billing verifier" {
			t.Errorf("heading reads %q after renaming", h)
		}
		if !strings.Contains(b.text(t, ".flash"), "Saved") {
			t.Errorf("no confirmation after saving")
		}
		if got := srv.token(t, slug, svc.PublicID).Name; got != "Billing verifier" {
			t.Errorf("stored name %q", got)
		}

		b.typeInto(t, "#description", "Verifies callers of the billing API")
		b.typeInto(t, "#ip_allowlist", "10.0.0.0/33")
		if st := b.submit(t, `[data-testid=details-form] button[type=submit]`); st != http.StatusUnprocessableEntity {
			t.Fatalf("invalid CIDR: status %d, want 422", st)
		}
		msg := b.text(t, "#ip_allowlist-error")
		if msg == "" {
			t.Fatalf("no message beside the IP field")
		}
		if v := run(t, b, chromedp.Value(chromedp.CSS("#ip_allowlist"))); v != "10.0.0.0/33" {
			t.Errorf("IP field lost its input: %q", v)
		}
		if v := run(t, b, chromedp.Value(chromedp.CSS("#description"))); v != "Verifies callers of the billing API" {
			t.Errorf("description lost its input: %q", v)
		}
		if inv := run(t, b, chromedp.AttributeValue(chromedp.CSS("#ip_allowlist"), "aria-invalid")); inv.Value != "true" {
			t.Errorf("IP field not marked aria-invalid")
		}
		// "Beside the field": the message sits right under the textarea.
		gap := eval[float64](t, b, `document.querySelector('#ip_allowlist-error').getBoundingClientRect().top - document.querySelector('#ip_allowlist').getBoundingClientRect().bottom`)
		if gap < 0 || gap > 80 {
			t.Errorf("IP error is %.0fpx away from its field", gap)
		}
		t.Logf("invalid CIDR message: %q", msg)
		b.shot(t, "token-details-error")
	})

	var reset createdToken
	step(t, "reset", func(t *testing.T) {
		b.open(t, ws("/tokens/"+svc.PublicID))
		if st := b.submit(t, `[data-testid=reset]`); st != http.StatusOK {
			t.Fatalf("open reset confirmation: status %d", st)
		}
		b.checkLabels(t)
		b.shot(t, "confirm-reset")
		if st := b.submit(t, `[data-testid=confirm-reset]`); st != http.StatusOK {
			t.Fatalf("reset: status %d", st)
		}
		if !b.has(t, `dialog[open][data-testid=reveal]`) {
			t.Fatalf("no reveal dialog after reset")
		}
		reset = svc
		reset.Plaintext = b.text(t, "#token-value")
		if reset.Plaintext == svc.Plaintext || !strings.HasPrefix(reset.Plaintext, "svc_"+svc.PublicID+"_") {
			t.Fatalf("reset revealed %q", reset.Plaintext)
		}
		b.shotView(t, "reveal-reset")
	})

	step(t, "keyboard-only dialog", func(t *testing.T) {
		if a := b.active(t); !strings.Contains(a, "data-copy-target") {
			t.Logf("focus on open: %s", a)
		}
		found := false
		for range 8 {
			b.key(t, kb.Tab)
			if strings.Contains(b.active(t), "data-copy-target") {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("Tab never reaches Copy; focus is on %s", b.active(t))
		}
		b.key(t, kb.Enter)
		b.waitText(t, `dialog [data-copy-target]`, "Copied")
		b.key(t, kb.Escape)
		b.waitGone(t, reset.Plaintext)
		if b.has(t, `dialog[open]`) {
			t.Errorf("Escape did not close the dialog")
		}
	})

	step(t, "reset takes effect", func(t *testing.T) {
		needAPI(t, srv.URL)
		if r := callAPI(t, srv.URL, "/api/v1/token", svc.Plaintext); r.Status != http.StatusUnauthorized {
			t.Errorf("old secret after reset: %d %s, want 401", r.Status, r.Raw)
		}
		if r := callAPI(t, srv.URL, "/api/v1/token", reset.Plaintext); r.Status != http.StatusOK {
			t.Errorf("new secret after reset: %d %s, want 200", r.Status, r.Raw)
		}
	})

	step(t, "revoke", func(t *testing.T) {
		b.open(t, ws("/tokens/"+svc.PublicID))
		if st := b.submit(t, `[data-testid=revoke]`); st != http.StatusOK {
			t.Fatalf("open revoke confirmation: status %d", st)
		}
		b.shot(t, "confirm-revoke")
		if st := b.submit(t, `[data-testid=confirm-revoke]`); st != http.StatusOK {
			t.Fatalf("revoke: status %d", st)
		}
		if s := b.text(t, "[data-testid=status]"); s != "revoked" {
			t.Errorf("status badge reads %q after revoking", s)
		}
		b.shot(t, "token-revoked")
		if srv.token(t, slug, svc.PublicID).RevokedAt == nil {
			t.Errorf("token not revoked in the store")
		}
	})

	step(t, "revoked token refused", func(t *testing.T) {
		needAPI(t, srv.URL)
		r := callAPI(t, srv.URL, "/api/v1/token", reset.Plaintext)
		if r.Status != http.StatusUnauthorized || r.code() != "revoked_key" {
			t.Errorf("revoked token: %d %s, want 401 revoked_key", r.Status, r.Raw)
		}
	})

	step(t, "usage and activity tabs", func(t *testing.T) {
		pr := tokens["profile_read"]
		srv.seedUsage(t, slug, pr.PublicID)
		b.page(t, ws("/tokens/"+pr.PublicID+"/usage"), http.StatusOK, "token-usage")
		heights := eval[[]float64](t, b, `[...document.querySelectorAll('figure.bars .bar')].map(b => b.getBoundingClientRect().height)`)
		tall := 0
		for _, h := range heights {
			if h > 1 {
				tall++
			}
		}
		if tall < 3 {
			t.Errorf("usage chart shows %d visible bars of %d, want the seeded days", tall, len(heights))
		}
		b.page(t, ws("/tokens/"+pr.PublicID+"/activity"), http.StatusOK, "token-activity")
		if !strings.Contains(b.text(t, "[data-testid=audit]"), "token.created") {
			t.Errorf("activity tab lacks token.created")
		}
	})

	step(t, "token list", func(t *testing.T) {
		b.page(t, ws("/tokens"), http.StatusOK, "tokens")
		list := b.text(t, "[data-testid=tokens]")
		for _, tok := range tokens {
			if !strings.Contains(list, tok.Type.Prefix+"_"+tok.PublicID+"_") {
				t.Errorf("list lacks the masked %s token", tok.Type.Name)
			}
		}
		html := b.html(t)
		for _, tok := range append(mapValues(tokens), reset) {
			if strings.Contains(html, tok.Plaintext) {
				t.Errorf("the list shows a whole token")
			}
		}
		b.do(t, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
		b.page(t, ws("/tokens"), http.StatusOK, "tokens-narrow")
		b.page(t, ws("/tokens/"+tokens["profile_read"].PublicID), http.StatusOK, "token-details-narrow")
		b.do(t, chromedp.EmulateViewport(browserWidth, browserHeight, chromedp.EmulateScale(1)))
	})

	step(t, "audit log", func(t *testing.T) {
		b.page(t, ws("/audit"), http.StatusOK, "audit")
		log := b.text(t, "[data-testid=audit]")
		for _, action := range []string{"setup.completed", "member.added", "token.created", "token.updated", "token.reset", "token.revoked"} {
			if !strings.Contains(log, action) {
				t.Errorf("audit log lacks %s", action)
			}
		}
		if n := strings.Count(log, "token.created"); n != len(tokens) {
			t.Errorf("audit log has %d token.created, want %d", n, len(tokens))
		}
	})

	step(t, "CSV export", func(t *testing.T) {
		dir := t.TempDir()
		b.allowDownloads(t, dir)
		name, data := b.download(t, `[data-testid=csv]`, dir)
		if !strings.HasSuffix(name, ".csv") {
			t.Errorf("download named %q", name)
		}
		csv := string(data)
		if !strings.HasPrefix(csv, "time,action,") {
			t.Errorf("CSV starts %q", csv[:min(60, len(csv))])
		}
		for _, action := range []string{"token.created", "token.updated", "token.reset", "token.revoked"} {
			if !strings.Contains(csv, action) {
				t.Errorf("CSV lacks %s", action)
			}
		}
		for _, tok := range append(mapValues(tokens), reset) {
			if strings.Contains(csv, tok.Plaintext) {
				t.Errorf("CSV holds a plaintext token")
			}
		}
	})

	step(t, "error pages", func(t *testing.T) {
		b.page(t, ws("/tokens/zzzzzzzz"), http.StatusNotFound, "error-404")
		b.page(t, ws("/members"), http.StatusForbidden, "error-403")
		b.page(t, "/setup", http.StatusGone, "error-410")
	})

	t.Logf("browser journey took %s", time.Since(began).Round(time.Millisecond))
}

// TestBrowserExamplePolicies creates a token of every type of the other
// example policies, each on its own server, as a manager.
func TestBrowserExamplePolicies(t *testing.T) {
	began := time.Now()
	bctx := startBrowser(t)
	for _, name := range []string{"personal-tokens", "role-tokens", "split-keys", "workspace-keys"} {
		t.Run(name, func(t *testing.T) {
			policy := loadExample(t, name)
			srv := startServer(t, policy)
			_, w := srv.seedAdmin("admin@example.com", "Example "+name)
			srv.seedMember(w, "manager@example.com", models.RoleManager)
			b := newTab(t, bctx, srv.URL)
			step(t, "sign in as manager", func(t *testing.T) { b.signIn(t, "manager@example.com", testPassword) })
			var made []createdToken
			for _, tt := range policy.TypesForRole(string(models.RoleManager)) {
				step(t, "create "+tt.Name, func(t *testing.T) {
					tok := b.createToken(t, w.Slug, tt, tt.Label+" from the browser", "new-"+name+"-"+tt.Name, nil)
					b.copyToken(t, tok.Plaintext)
					b.closeReveal(t, srv, w.Slug, tok)
					made = append(made, tok)
				})
			}
			step(t, "list", func(t *testing.T) {
				b.page(t, "/w/"+w.Slug+"/tokens", http.StatusOK, "tokens-"+name)
				if n := eval[int](t, b, `document.querySelectorAll('[data-testid=tokens] tbody tr').length`); n != len(made) {
					t.Errorf("list shows %d tokens, want %d", n, len(made))
				}
			})
			step(t, "admin pages", func(t *testing.T) {
				b.signOut(t)
				b.signIn(t, "admin@example.com", testPassword)
				b.page(t, "/w/"+w.Slug+"/settings", http.StatusOK, "settings-"+name)
				b.page(t, "/w/"+w.Slug+"/members", http.StatusOK, "")
				b.page(t, "/w/"+w.Slug+"/audit", http.StatusOK, "")
			})
			step(t, "use against the API", func(t *testing.T) {
				needAPI(t, srv.URL)
				for _, tok := range made {
					r := callAPI(t, srv.URL, "/api/v1/token", tok.Plaintext)
					if r.Status != http.StatusOK || r.Body["id"] != tok.PublicID || r.Body["type"] != tok.Type.Name {
						t.Errorf("GET /api/v1/token with the %s token: %d %s", tok.Type.Name, r.Status, r.Raw)
					}
				}
			})
		})
	}
	t.Logf("example policies took %s", time.Since(began).Round(time.Millisecond))
}

// TestBrowserWithoutJavaScript creates a Profile Read token with scripts
// off: every form posts, the type picker has its button, and the reveal
// dialog shows because it is rendered open.
func TestBrowserWithoutJavaScript(t *testing.T) {
	began := time.Now()
	bctx := startBrowser(t)
	policy := loadExample(t, "activity-profile-read")
	srv := startServer(t, policy)
	_, w := srv.seedAdmin("admin@example.com", "No Script")
	b := newTab(t, bctx, srv.URL)
	b.disableScript(t)
	ws := func(rest string) string { return "/w/" + w.Slug + rest }
	var tok createdToken

	step(t, "sign in", func(t *testing.T) {
		b.signIn(t, "admin@example.com", testPassword)
		if eval[bool](t, b, `document.documentElement.classList.contains('js')`) {
			t.Fatalf("app.js ran although scripts are off")
		}
	})

	step(t, "choose the type with the button", func(t *testing.T) {
		b.page(t, ws("/tokens/new"), http.StatusOK, "")
		b.do(t, chromedp.SetValue(chromedp.CSS("#type-pick"), "profile_read"))
		if st := b.submit(t, `form.type-picker button[type=submit]`); st != http.StatusOK {
			t.Fatalf("choose type: status %d", st)
		}
		if p := b.path(t); p != ws("/tokens/new?type=profile_read") {
			t.Errorf("type picker went to %s", p)
		}
	})

	step(t, "create", func(t *testing.T) {
		tt, _ := policy.Type("profile_read")
		tok = b.createToken(t, w.Slug, tt, "Warehouse sync", "new-token-nojs", func() {
			// Without script, picking "Custom" is the person's job.
			b.do(t, chromedp.Click(chromedp.CSS(`input[name=linking_choice][value=custom]`)))
		})
		visible := eval[bool](t, b, `(() => { const d = document.querySelector('dialog[open]'); const r = d.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(d).visibility !== 'hidden'; })()`)
		if !visible {
			t.Errorf("reveal dialog not visible without script")
		}
		if eval[bool](t, b, `getComputedStyle(document.querySelector('dialog [data-copy-target]')).display !== 'none'`) {
			t.Errorf("a Copy button that cannot work is shown without script")
		}
		b.shotView(t, "reveal-nojs")
		if st := b.submit(t, `[data-testid=close]`); st != http.StatusOK {
			t.Fatalf("close link: status %d", st)
		}
		if p := b.path(t); p != ws("/tokens/"+tok.PublicID) {
			t.Errorf("close link went to %s", p)
		}
		if strings.Contains(b.html(t), tok.Plaintext) {
			t.Errorf("token still on the page")
		}
		b.do(t, chromedp.Reload())
		if strings.Contains(b.html(t), tok.Plaintext) {
			t.Errorf("token back after reload")
		}
	})

	step(t, "edit and revoke", func(t *testing.T) {
		b.typeInto(t, "#name", "Warehouse sync v2")
		if st := b.submit(t, `[data-testid=details-form] button[type=submit]`); st != http.StatusOK {
			t.Fatalf("save: status %d", st)
		}
		if h := b.text(t, "h1"); h != "Warehouse sync v2" {
			t.Errorf("heading %q after rename", h)
		}
		if st := b.submit(t, `[data-testid=revoke]`); st != http.StatusOK {
			t.Fatalf("revoke confirmation: status %d", st)
		}
		if st := b.submit(t, `[data-testid=confirm-revoke]`); st != http.StatusOK {
			t.Fatalf("revoke: status %d", st)
		}
		if s := b.text(t, "[data-testid=status]"); s != "revoked" {
			t.Errorf("status %q after revoking", s)
		}
	})
	t.Logf("no-script flow took %s", time.Since(began).Round(time.Millisecond))
}

func mapValues(m map[string]createdToken) []createdToken {
	out := make([]createdToken, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func (srv *liveServer) token(t *testing.T, slug, publicID string) *models.Token {
	t.Helper()
	ctx := context.Background()
	w, err := srv.Store.WorkspaceBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.Store.TokenByPublicID(ctx, w.ID, publicID)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// seedUsage records a fortnight of calls, some refused, for the Usage tab.
func (srv *liveServer) seedUsage(t *testing.T, slug, publicID string) {
	t.Helper()
	tok := srv.token(t, slug, publicID)
	today := srv.Store.Now().UTC()
	counts := map[models.UsageKey]int64{}
	for i := range 14 {
		day := today.AddDate(0, 0, -i).Format(time.DateOnly)
		counts[models.UsageKey{TokenID: tok.ID, Day: day, Endpoint: "GET /profiles/{id}", Outcome: "ok"}] = int64(20 + (i*37)%60)
		counts[models.UsageKey{TokenID: tok.ID, Day: day, Endpoint: "GET /profiles", Outcome: "ok"}] = int64(5 + (i*11)%15)
		if i%3 == 0 {
			counts[models.UsageKey{TokenID: tok.ID, Day: day, Endpoint: "GET /profiles/{id}", Outcome: "ip_not_allowed"}] = int64(3 + i)
		}
	}
	seen := map[int64]models.TokenSeen{tok.ID: {At: today, IPs: []string{"127.0.0.1", "203.0.113.7"}}}
	if err := srv.Store.RecordUsage(context.Background(), counts, seen); err != nil {
		t.Fatal(err)
	}
}
