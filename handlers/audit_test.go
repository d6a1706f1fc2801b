package handlers_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

type auditRow struct{ when, action, actor, target, ip, details string }

func auditRows(doc dom) []auditRow {
	var out []auditRow
	for _, tr := range doc.find("table[data-testid=audit] tbody tr") {
		c := tr.find("td")
		out = append(out, auditRow{c[0].text(), c[1].text(), c[2].text(), c[3].text(), c[4].text(), c[5].text()})
	}
	return out
}

func TestAuditLog(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		mgr, manager := d.as("manager@example.com", models.RoleManager)
		mgr.IP = "198.51.100.23"

		cr := d.create(d.c, "personal", "CI deploy", nil)
		v := d.detailsForm(d.c, cr.id)
		v.Set("name", "CI deploy (prod)")
		if rec := d.c.post(d.url("/tokens/"+cr.id), v); rec.Code != http.StatusSeeOther {
			t.Fatalf("edit: %d", rec.Code)
		}
		mgr.get(d.url("/tokens/" + cr.id + "/reset"))
		if rec := mgr.post(d.url("/tokens/"+cr.id+"/reset"), url.Values{"grace": {"1h"}}); rec.Code != http.StatusOK {
			t.Fatalf("reset: %d", rec.Code)
		}
		if rec := mgr.post(d.url("/tokens/"+cr.id+"/revoke"), nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("revoke: %d", rec.Code)
		}

		doc := d.page(d.c, d.url("/audit"), http.StatusOK)
		var got []auditRow
		for _, r := range auditRows(doc) {
			if strings.HasPrefix(r.action, "token.") {
				got = append(got, r)
			}
		}
		want := []struct{ action, actor, ip, target string }{
			{models.ActionTokenRevoked, manager.Email, mgr.IP, cr.id},
			{models.ActionTokenReset, manager.Email, mgr.IP, cr.id},
			{models.ActionTokenUpdated, "admin@example.com", d.c.IP, cr.id},
			{models.ActionTokenCreated, "admin@example.com", d.c.IP, cr.id},
		}
		if len(got) != len(want) {
			t.Fatalf("token events %+v, want %d", got, len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.action != w.action || g.actor != w.actor || g.ip != w.ip || !strings.Contains(g.target, w.target) {
				t.Errorf("row %d = %+v, want %+v", i, g, w)
			}
			if _, err := time.Parse("2006-01-02 15:04 UTC", g.when); err != nil {
				t.Errorf("row %d time %q", i, g.when)
			}
		}
		if !strings.Contains(got[2].details, "CI deploy (prod)") {
			t.Errorf("edit details %q do not say what changed", got[4].details)
		}
		if !strings.Contains(got[0].details, "manual") {
			t.Errorf("revoke details %q", got[2].details)
		}

		today := time.Now().UTC().Format("2006-01-02")
		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
		t.Run("filters", func(t *testing.T) {
			for _, tc := range []struct {
				query   string
				actions []string
			}{
				{"action=token.reset", []string{"token.reset"}},
				{"action=token.", []string{"token.revoked", "token.reset", "token.updated", "token.created"}},
				// The manager's own sign-in shows in the workspace's log too.
				{"actor=" + url.QueryEscape("MANAGER@example.com"), []string{"token.revoked", "token.reset", "login.succeeded"}},
				{"target=" + cr.id, []string{"token.revoked", "token.reset", "token.updated", "token.created"}},
				{"action=token.created&target=" + cr.id, []string{"token.created"}},
				{"action=token.&since=" + today + "&until=" + today, []string{"token.revoked", "token.reset", "token.updated", "token.created"}},
				{"until=" + yesterday, nil},
			} {
				doc := d.page(d.c, d.url("/audit?"+tc.query), http.StatusOK)
				var actions []string
				for _, r := range auditRows(doc) {
					actions = append(actions, r.action)
				}
				if !slices.Equal(actions, tc.actions) {
					t.Errorf("%s: %v, want %v", tc.query, actions, tc.actions)
				}
				csvLink, _ := doc.first("a[data-testid=csv]")
				if !strings.HasPrefix(csvLink.attr("href"), d.url("/audit.csv?")) {
					t.Errorf("%s: CSV link %q does not keep the filters", tc.query, csvLink.attr("href"))
				}
			}
			rec := d.c.get(d.url("/audit?since=yesterday"))
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("bad date: %d", rec.Code)
			}
			doc := parseDOM(t, body(rec))
			if msg := doc.fieldErrors()["since"]; !strings.Contains(msg, "YYYY-MM-DD") {
				t.Errorf("bad date error %q", msg)
			}
			if in, _ := doc.first("input#f-since"); in.attr("value") != "yesterday" {
				t.Errorf("bad date not kept: %q", in.attr("value"))
			}
		})

		t.Run("csv", func(t *testing.T) {
			rec := d.c.get(d.url("/audit.csv?action=token."))
			if rec.Code != http.StatusOK {
				t.Fatalf("csv: %d", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="keyward-audit-acme-corp-`) {
				t.Errorf("Content-Disposition %q", cd)
			}
			records, err := csv.NewReader(strings.NewReader(body(rec))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			wantHeader := []string{"time", "action", "actor_type", "actor", "target_type", "target_id", "target", "ip", "user_agent", "details"}
			if len(records) == 0 || !slices.Equal(records[0], wantHeader) {
				t.Fatalf("header %v", records[:min(1, len(records))])
			}
			rows := records[1:]
			if len(rows) != len(want) {
				t.Fatalf("%d rows, want %d", len(rows), len(want))
			}
			for i, w := range want {
				r := rows[i]
				if r[1] != w.action || r[3] != w.actor || r[5] != w.target || r[7] != w.ip || r[4] != "token" {
					t.Errorf("csv row %d = %v, want %+v", i, r, w)
				}
				if _, err := time.Parse(time.RFC3339, r[0]); err != nil {
					t.Errorf("csv row %d time %q", i, r[0])
				}
			}
			rec = d.c.get(d.url("/audit.csv?target=" + cr.id + "&action=token.reset"))
			if records, _ := csv.NewReader(strings.NewReader(body(rec))).ReadAll(); len(records) != 2 || records[1][1] != "token.reset" {
				t.Errorf("filtered csv = %v", records)
			}
			if rec := d.c.get(d.url("/audit.csv?until=tomorrow")); rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("csv with a bad date: %d", rec.Code)
			}
		})

		t.Run("csv defuses formulas", func(t *testing.T) {
			d.create(d.c, "personal", "=HYPERLINK(\"http://evil.example\")", nil)
			rec := d.c.get(d.url("/audit.csv?action=token.created"))
			records, err := csv.NewReader(strings.NewReader(body(rec))).ReadAll()
			if err != nil || len(records) < 2 {
				t.Fatalf("csv: %v %v", records, err)
			}
			if got := records[1][6]; !strings.HasPrefix(got, "'=") {
				t.Errorf("target %q would run as a formula", got)
			}
		})
	})
}

func TestAuditLogsExpiry(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		var tok *models.Token
		d.at(time.Now().UTC().Add(-48*time.Hour), func() {
			tok, _ = d.seed(d.admin, "personal", "Short-lived", func(in *models.TokenInput) { in.ExpiresIn = 24 * time.Hour })
		})
		if s, _ := d.page(d.c, d.url("/tokens/"+tok.PublicID), http.StatusOK).first("[data-testid=status]"); s.text() != "expired" {
			t.Errorf("status before the sweep %q", s.text())
		}
		if n, err := srv.Store.SweepExpired(t.Context()); err != nil || n != 1 {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		rows := auditRows(d.page(d.c, d.url("/audit?action=token.expired"), http.StatusOK))
		if len(rows) != 1 || rows[0].actor != "Keyward" || !strings.Contains(rows[0].target, tok.PublicID) || !strings.Contains(rows[0].details, "expired") {
			t.Errorf("expiry rows %+v", rows)
		}
		page := d.page(d.c, d.url("/tokens/"+tok.PublicID+"/activity"), http.StatusOK)
		var actions []string
		for _, r := range page.find("table[data-testid=audit] tbody tr") {
			actions = append(actions, r.find("td")[1].text())
		}
		if !slices.Equal(actions, []string{models.ActionTokenExpired, models.ActionTokenCreated}) {
			t.Errorf("activity tab %v", actions)
		}
		if r, _ := page.first("[data-testid=revoked]"); !strings.Contains(r.text(), "Keyward") || !strings.Contains(r.text(), "(expired)") {
			t.Errorf("revoked fact %q", r.text())
		}
		if ids := rowIDs(d.page(d.c, d.url("/tokens?status=revoked"), http.StatusOK)); !slices.Equal(ids, []string{tok.PublicID}) {
			t.Errorf("revoked filter %v", ids)
		}
	})
}
