package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
)

func TestRevokeToken(t *testing.T) {
	eachServer(t, dashPolicy(t, "split-keys.yaml"), func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		mc, manager := d.as("manager@example.com", models.RoleManager)
		cr := d.create(d.c, "customer", "Chat widget", nil)
		keep := d.create(d.c, "management", "Back office", nil)
		tok := d.token(cr.id)

		doc := d.page(mc, d.url("/tokens/"+cr.id), http.StatusOK)
		if a, _ := doc.first("a[data-testid=revoke]"); a.attr("href") != d.url("/tokens/"+cr.id+"/revoke") {
			t.Errorf("revoke link %q", a.attr("href"))
		}
		confirm := d.page(mc, d.url("/tokens/"+cr.id+"/revoke"), http.StatusOK)
		box, _ := confirm.first("[data-testid=confirm]")
		if h, _ := box.first("h1"); !strings.Contains(h.text(), "Chat widget") {
			t.Errorf("confirmation heading %q does not name the token", h.text())
		}
		if m, _ := box.first("code.masked"); m.text() != tok.Masked() {
			t.Errorf("confirmation shows %q, want %q", m.text(), tok.Masked())
		}
		if !strings.Contains(box.text(), "cannot be undone") {
			t.Error("confirmation does not say it cannot be undone")
		}
		if b, _ := box.first("button[data-testid=confirm-revoke]"); !strings.Contains(b.text(), "Chat widget") {
			t.Errorf("confirm button %q", b.text())
		}
		if d.token(cr.id).RevokedAt != nil {
			t.Fatal("showing the confirmation revoked the token")
		}

		rec := mc.post(d.url("/tokens/"+cr.id+"/revoke"), nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != d.url("/tokens/"+cr.id) {
			t.Fatalf("revoke: %d → %q", rec.Code, rec.Header().Get("Location"))
		}
		revoked := d.token(cr.id)
		if revoked.RevokedAt == nil || revoked.RevokedByLabel != manager.Email || revoked.RevokedReason != models.RevokeManual {
			t.Fatalf("stored: revoked %v by %q (%q)", revoked.RevokedAt, revoked.RevokedByLabel, revoked.RevokedReason)
		}
		if d.token(keep.id).RevokedAt != nil {
			t.Error("revoked the wrong token")
		}
		page := d.page(mc, d.url("/tokens/"+cr.id), http.StatusOK)
		if f, _ := page.first(".flash-success"); !strings.Contains(f.text(), "Chat widget") || !strings.Contains(f.text(), "revoked") {
			t.Errorf("flash %q", f.text())
		}
		if s, _ := page.first("[data-testid=status]"); s.text() != "revoked" {
			t.Errorf("status %q", s.text())
		}
		when := views.FormatTime(*revoked.RevokedAt)
		if r, _ := page.first("[data-testid=revoked]"); !strings.Contains(r.text(), when) || !strings.Contains(r.text(), manager.Email) {
			t.Errorf("revoked fact %q, want who and when (%s)", r.text(), when)
		}

		// It stays listed, and the revoked filter finds it with who and when.
		list := d.page(d.c, d.url("/tokens"), http.StatusOK)
		if !list.exists("tr[data-token-id=" + cr.id + "]") {
			t.Error("the revoked token left the list")
		}
		list = d.page(d.c, d.url("/tokens?status=revoked"), http.StatusOK)
		if ids := rowIDs(list); len(ids) != 1 || ids[0] != cr.id {
			t.Errorf("revoked filter rows %v", ids)
		}
		if row, _ := list.first("tr[data-token-id=" + cr.id + "]"); !strings.Contains(row.text(), "by "+manager.Email+", "+when) {
			t.Errorf("revoked row %q", row.text())
		}

		// No way back.
		if rec := mc.get(d.url("/tokens/" + cr.id + "/revoke")); rec.Code != http.StatusSeeOther {
			t.Errorf("confirm revoke again: %d", rec.Code)
		}
		if rec := mc.post(d.url("/tokens/"+cr.id+"/revoke"), nil); rec.Code != http.StatusSeeOther {
			t.Errorf("revoke again: %d", rec.Code)
		}
		if f, _ := d.page(mc, d.url("/tokens/"+cr.id), http.StatusOK).first(".flash-error"); !strings.Contains(f.text(), "already revoked") {
			t.Errorf("second revoke flash %q", f.text())
		}
		if again := d.token(cr.id); !again.RevokedAt.Equal(*revoked.RevokedAt) || again.RevokedByLabel != manager.Email {
			t.Error("revoking again changed the revocation")
		}
		evs, _, _ := srv.Store.AuditEvents(t.Context(), models.AuditFilter{WorkspaceID: d.ws.ID, Action: models.ActionTokenRevoked})
		if len(evs) != 1 || evs[0].ActorLabel != manager.Email || evs[0].TargetID != cr.id {
			t.Errorf("token.revoked events = %+v", evs)
		}
	})
}
