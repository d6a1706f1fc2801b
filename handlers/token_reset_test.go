package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
)

func TestResetToken(t *testing.T) {
	tests := []struct {
		grace string
		want  time.Duration
	}{
		{"0", 0},
		{"1h", time.Hour},
		{"24h", 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run("grace "+tc.grace, func(t *testing.T) {
			eachServer(t, dashPolicy(t, "activity-profile-read.yaml"), func(t *testing.T, srv *testServer) {
				d := newDash(t, srv)
				old := d.create(d.c, "activity", "Support desk", nil)
				oldHash := models.HashToken(old.plain)

				// The token page links to a confirmation naming the token.
				doc := d.page(d.c, d.url("/tokens/"+old.id), http.StatusOK)
				if a, _ := doc.first("a[data-testid=reset]"); a.attr("href") != d.url("/tokens/"+old.id+"/reset") || a.text() != "Reset API token" {
					t.Errorf("reset link %q %q", a.text(), a.attr("href"))
				}
				confirm := d.page(d.c, d.url("/tokens/"+old.id+"/reset"), http.StatusOK)
				if h, _ := confirm.first("[data-testid=confirm] h1"); !strings.Contains(h.text(), "Support desk") {
					t.Errorf("confirmation heading %q", h.text())
				}
				var graces []string
				for _, o := range confirm.find("select#grace option") {
					graces = append(graces, o.attr("value"))
				}
				if strings.Join(graces, ",") != "0,1h,6h,24h" {
					t.Errorf("grace choices %v", graces)
				}
				if d.token(old.id).SecretHash != oldHash {
					t.Fatal("showing the confirmation reset the token")
				}

				rec := d.c.post(d.url("/tokens/"+old.id+"/reset"), url.Values{"grace": {tc.grace}})
				if rec.Code != http.StatusOK {
					t.Fatalf("reset: %d\n%s", rec.Code, body(rec))
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
				}
				res := parseDOM(t, body(rec))
				dialog, ok := res.first("dialog[open][data-testid=reveal]")
				if !ok {
					t.Fatal("no reveal dialog after reset")
				}
				v, _ := dialog.first("[data-testid=token-value]")
				plain := v.text()
				p, err := models.ParseToken(plain)
				if err != nil || p.ID != old.id || p.Prefix != "act" || plain == old.plain {
					t.Fatalf("new token %q: %v", plain, err)
				}
				if !strings.Contains(dialog.text(), "you won't be able to see it again") || !dialog.exists("[data-testid=copy]") {
					t.Error("the new secret is not shown like a new token")
				}
				tok := d.token(old.id)
				if tok.SecretHash != models.HashToken(plain) {
					t.Error("stored hash is not the new token's")
				}
				if tc.want == 0 {
					if tok.PreviousHash != "" || tok.PreviousValidUntil != nil {
						t.Errorf("old hash kept without grace: %q", tok.PreviousHash)
					}
					var n int64
					srv.Store.DB().Table("tokens").Where("secret_hash = ? OR previous_hash = ?", oldHash, oldHash).Count(&n)
					if n != 0 {
						t.Error("the old token's hash is still stored")
					}
					if !strings.Contains(dialog.text(), "The old secret has stopped working.") {
						t.Errorf("dialog does not say the old secret stopped: %q", dialog.text())
					}
				} else {
					if tok.PreviousHash != oldHash || tok.PreviousValidUntil == nil {
						t.Fatalf("grace: previous hash %q until %v", tok.PreviousHash, tok.PreviousValidUntil)
					}
					if got := tok.PreviousValidUntil.Sub(tok.UpdatedAt); got < tc.want-time.Minute || got > tc.want+time.Minute {
						t.Errorf("old secret valid for %s, want %s", got, tc.want)
					}
					until := views.FormatTime(*tok.PreviousValidUntil)
					if !strings.Contains(dialog.text(), "The old secret keeps working until "+until) {
						t.Errorf("dialog does not say until when: %q", dialog.text())
					}
					page := d.page(d.c, d.url("/tokens/"+old.id), http.StatusOK)
					if g, _ := page.first("[data-testid=grace]"); !strings.Contains(g.text(), until) {
						t.Errorf("token page grace note %q", g.text())
					}
				}
				// Reloading never shows the secret again.
				page := d.c.get(d.url("/tokens/" + old.id))
				if strings.Contains(body(page), plain) || strings.Contains(body(page), old.plain) {
					t.Error("the token page shows a secret after the reset")
				}
				if evs, _, _ := srv.Store.AuditEvents(t.Context(), models.AuditFilter{WorkspaceID: d.ws.ID, Action: models.ActionTokenReset}); len(evs) != 1 || evs[0].ActorLabel != d.admin.Email {
					t.Errorf("token.reset events = %+v", evs)
				}
			})
		})
	}
}

func TestResetTokenRefusals(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		cr := d.create(d.c, "personal", "Laptop", nil)
		hash := d.token(cr.id).SecretHash
		d.c.get(d.url("/tokens/" + cr.id + "/reset"))
		for _, g := range []string{"25h", "48h", "soon", "-1h"} {
			rec := d.c.post(d.url("/tokens/"+cr.id+"/reset"), url.Values{"grace": {g}})
			if rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("grace %q: %d, want 422", g, rec.Code)
				continue
			}
			doc := parseDOM(t, body(rec))
			if doc.fieldErrors()["grace"] == "" || doc.exists("dialog") {
				t.Errorf("grace %q: errors %v", g, doc.fieldErrors())
			}
		}
		if d.token(cr.id).SecretHash != hash {
			t.Error("a refused reset changed the secret")
		}
		d.c.get(d.url("/tokens/" + cr.id + "/revoke"))
		if rec := d.c.post(d.url("/tokens/"+cr.id+"/revoke"), nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("revoke: %d", rec.Code)
		}
		for _, req := range []func() int{
			func() int { return d.c.get(d.url("/tokens/" + cr.id + "/reset")).Code },
			func() int { return d.c.post(d.url("/tokens/"+cr.id+"/reset"), url.Values{"grace": {"0"}}).Code },
		} {
			if code := req(); code != http.StatusSeeOther {
				t.Errorf("reset of a revoked token: %d, want a redirect back", code)
			}
		}
		doc := d.page(d.c, d.url("/tokens/"+cr.id), http.StatusOK)
		if f, _ := doc.first(".flash-error"); !strings.Contains(f.text(), "revoked token cannot be reset") {
			t.Errorf("flash %q", f.text())
		}
		if d.token(cr.id).SecretHash != hash {
			t.Error("a revoked token was reset")
		}
	})
}
