package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
)

// seed creates a token straight in the store as u (nil: the CLI).
func (d *dash) seed(u *models.User, typ, name string, edit func(*models.TokenInput)) (*models.Token, string) {
	d.t.Helper()
	tt := d.typ(typ)
	in := models.TokenInput{Type: typ, Name: name, AcceptTerms: tt.Terms != ""}
	if len(tt.Scopes) > 0 {
		in.Scopes = []string{tt.Scopes[0]}
	}
	if tt.IPRule == models.IPRuleRequired {
		in.IPAllowlist = "203.0.113.7"
	}
	if tt.Attributes {
		in.ExposedAttributes, in.LinkingAttribute = []string{"email"}, "customer_id"
	}
	if edit != nil {
		edit(&in)
	}
	a := models.Actor{Type: "system", Label: "keyward CLI"}
	if u != nil {
		a = models.UserActor(u, "192.0.2.99", "seed")
	}
	tok, plain, err := d.srv.Store.CreateToken(context.Background(), d.srv.Policy, d.ws, u, a, in)
	if err != nil {
		d.t.Fatalf("seed %s %q: %v", typ, name, err)
	}
	return tok, plain
}

// at runs fn with the store clock set to t, then restores the real clock.
func (d *dash) at(t time.Time, fn func()) {
	d.srv.Store.Now = func() time.Time { return t }
	defer func() { d.srv.Store.Now = func() time.Time { return time.Now().UTC() } }()
	fn()
}

// rows returns the token list's rows by public id, in order.
func rowIDs(doc dom) []string {
	var ids []string
	for _, r := range doc.find("table[data-testid=tokens] tbody tr") {
		ids = append(ids, r.attr("data-token-id"))
	}
	return ids
}

func TestTokenListShowsMaskedTokens(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		mc, member := d.as("member@example.com", models.RoleMember)
		mine := d.create(d.c, "personal", "Admin's script", nil)
		theirs := d.create(mc, "personal", "Member's notebook", nil)
		svc, svcPlain := d.seed(nil, "service", "Verifier", func(in *models.TokenInput) { in.Never = true })
		if _, err := srv.Store.RevokeToken(context.Background(), d.ws.ID, svc.PublicID, models.UserActor(d.admin, "192.0.2.1", ""), models.RevokeManual); err != nil {
			t.Fatal(err)
		}

		rec := d.c.get(d.url("/tokens"))
		if rec.Code != http.StatusOK {
			t.Fatalf("list: %d", rec.Code)
		}
		for _, plain := range []string{mine.plain, theirs.plain, svcPlain} {
			if strings.Contains(body(rec), plain[strings.LastIndex(plain, "_")+1:]) {
				t.Errorf("the list shows a secret")
			}
		}
		doc := parseDOM(t, body(rec))
		tests := []struct {
			id, name, typ, creator, status string
		}{
			{mine.id, "Admin's script", "Personal access token", "admin@example.com", "active"},
			{theirs.id, "Member's notebook", "Personal access token", member.Email, "active"},
			{svc.PublicID, "Verifier", "Service token", "keyward CLI", "revoked"},
		}
		for _, tc := range tests {
			row, ok := doc.first("tr[data-token-id=" + tc.id + "]")
			if !ok {
				t.Errorf("no row for %s", tc.name)
				continue
			}
			tok := d.token(tc.id)
			cells := row.find("td")
			if len(cells) != 8 {
				t.Fatalf("row has %d cells", len(cells))
			}
			link, _ := cells[0].first("a")
			if cells[0].text() != tc.name || link.attr("href") != d.url("/tokens/"+tc.id) {
				t.Errorf("name cell %q → %q", cells[0].text(), link.attr("href"))
			}
			want := tok.Prefix + "_" + tc.id + "_••••" + tok.Last4
			if m, _ := cells[1].first("code.masked"); m.text() != want {
				t.Errorf("masked = %q, want %q", m.text(), want)
			}
			if cells[2].text() != tc.typ || cells[3].text() != tc.creator {
				t.Errorf("type %q creator %q, want %q %q", cells[2].text(), cells[3].text(), tc.typ, tc.creator)
			}
			if cells[4].text() != views.FormatTime(tok.CreatedAt) {
				t.Errorf("created %q", cells[4].text())
			}
			if cells[5].text() != "never" {
				t.Errorf("last used %q", cells[5].text())
			}
			if badge, _ := cells[7].first("span.badge-" + tc.status); badge.text() != tc.status {
				t.Errorf("status badge %q, want %q", cells[7].text(), tc.status)
			}
			if tc.status == "revoked" && !strings.Contains(cells[7].text(), "by admin@example.com") {
				t.Errorf("revoked row does not say who: %q", cells[7].text())
			}
		}
		if ids := rowIDs(doc); len(ids) != 3 || ids[0] != svc.PublicID {
			t.Errorf("rows %v, want 3 newest first", ids)
		}
		if !doc.exists("a[data-testid=new-token][href=" + d.url("/tokens/new") + "]") {
			t.Error("no New token link")
		}
	})
}

func TestTokenListFilters(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		day := 24 * time.Hour
		var alpha, beta, gamma, delta, svc *models.Token
		// Made six days ago: alpha (30d) is active, beta (1d) expired, gamma
		// (7d) expiring soon, delta revoked, svc never expires.
		d.at(time.Now().UTC().Add(-6*day), func() {
			life := func(d time.Duration) func(*models.TokenInput) {
				return func(in *models.TokenInput) { in.ExpiresIn = d }
			}
			alpha, _ = d.seed(d.admin, "personal", "Alpha deploy", life(30*day))
			beta, _ = d.seed(d.admin, "personal", "Beta sync", life(day))
			gamma, _ = d.seed(d.admin, "personal", "Gamma reports", life(7*day))
			delta, _ = d.seed(d.admin, "personal", "Delta", life(30*day))
			svc, _ = d.seed(d.admin, "service", "Verifier", func(in *models.TokenInput) { in.Never = true })
			if _, err := srv.Store.RevokeToken(context.Background(), d.ws.ID, delta.PublicID, models.UserActor(d.admin, "", ""), models.RevokeManual); err != nil {
				t.Fatal(err)
			}
		})
		ids := func(ts ...*models.Token) []string {
			var out []string
			for _, tk := range ts {
				out = append(out, tk.PublicID)
			}
			return out
		}
		tests := []struct {
			query  string
			want   []string
			badge  string // every row's badge
			status string // selected in the status filter
			typ    string
			search string
		}{
			{"", ids(svc, delta, gamma, beta, alpha), "", "", "", ""},
			{"?status=active", ids(svc, gamma, alpha), "", "active", "", ""},
			{"?status=expiring", ids(gamma), "expiring", "expiring", "", ""},
			{"?status=expired", ids(beta), "expired", "expired", "", ""},
			{"?status=revoked", ids(delta), "revoked", "revoked", "", ""},
			{"?type=service", ids(svc), "", "", "service", ""},
			{"?type=personal&status=revoked", ids(delta), "revoked", "revoked", "personal", ""},
			{"?q=alpha", ids(alpha), "", "", "", "alpha"},
			{"?q=" + gamma.PublicID, ids(gamma), "", "", "", gamma.PublicID},
			{"?q=nothing-like-it", nil, "", "", "", "nothing-like-it"},
		}
		for _, tc := range tests {
			t.Run(tc.query, func(t *testing.T) {
				doc := d.page(d.c, d.url("/tokens"+tc.query), http.StatusOK)
				got := rowIDs(doc)
				if strings.Join(got, ",") != strings.Join(tc.want, ",") {
					t.Errorf("rows %v, want %v", got, tc.want)
				}
				if tc.badge != "" {
					if n := len(doc.find("tbody span.badge-" + tc.badge)); n != len(tc.want) {
						t.Errorf("%d %s badges for %d rows", n, tc.badge, len(tc.want))
					}
				}
				if len(tc.want) == 0 {
					if e, _ := doc.first("[data-testid=no-tokens]"); !strings.Contains(e.text(), "No token matches") {
						t.Errorf("empty result says %q", e.text())
					}
				}
				if o, _ := doc.first("#filter-status option[selected]"); o.attr("value") != tc.status {
					t.Errorf("status filter shows %q", o.attr("value"))
				}
				if o, _ := doc.first("#filter-type option[selected]"); o.attr("value") != tc.typ {
					t.Errorf("type filter shows %q", o.attr("value"))
				}
				if in, _ := doc.first("input#filter-q"); in.attr("value") != tc.search {
					t.Errorf("search box shows %q", in.attr("value"))
				}
			})
		}
		doc := d.page(d.c, d.url("/tokens?status=expiring"), http.StatusOK)
		if b, _ := doc.first("tbody span.badge-expiring"); b.text() != "expiring soon" {
			t.Errorf("expiring badge reads %q", b.text())
		}
	})
}

func TestTokenListPagination(t *testing.T) {
	eachServer(t, dashPolicy(t, "workspace-keys.yaml"), func(t *testing.T, srv *testServer) {
		d := newDash(t, srv)
		var all []string // newest first
		base := time.Now().UTC().Add(-time.Hour)
		for i := range 30 {
			typ := "workspace"
			if i%3 == 0 {
				typ = "service"
			}
			d.at(base.Add(time.Duration(i)*time.Second), func() {
				tok, _ := d.seed(d.admin, typ, fmt.Sprintf("Key %02d", i), nil)
				all = append([]string{tok.PublicID}, all...)
			})
		}
		p1 := d.page(d.c, d.url("/tokens"), http.StatusOK)
		if got := rowIDs(p1); strings.Join(got, ",") != strings.Join(all[:25], ",") {
			t.Errorf("page 1 = %v", got)
		}
		next, ok := p1.first("nav.pagination a[rel=next]")
		if !ok || next.attr("href") != d.url("/tokens?page=2") {
			t.Fatalf("next link %q", next.attr("href"))
		}
		if p1.exists("nav.pagination a[rel=prev]") {
			t.Error("page 1 links to a previous page")
		}
		if nav, _ := p1.first("nav.pagination span"); !strings.Contains(nav.text(), "of 30 tokens") || !strings.Contains(nav.text(), "page 1 of 2") {
			t.Errorf("pagination says %q", nav.text())
		}
		p2 := d.page(d.c, next.attr("href"), http.StatusOK)
		if got := rowIDs(p2); strings.Join(got, ",") != strings.Join(all[25:], ",") {
			t.Errorf("page 2 = %v", got)
		}
		if prev, _ := p2.first("nav.pagination a[rel=prev]"); prev.attr("href") != d.url("/tokens") {
			t.Errorf("prev link %q", prev.attr("href"))
		}
		if p2.exists("nav.pagination a[rel=next]") {
			t.Error("last page links to a next page")
		}
		// Filters survive paging.
		f1 := d.page(d.c, d.url("/tokens?type=workspace&q=key"), http.StatusOK)
		if n := len(rowIDs(f1)); n != 20 {
			t.Errorf("workspace keys on page 1: %d, want 20", n)
		}
		if f1.exists("nav.pagination a[rel=next]") {
			t.Error("20 filtered rows should fit one page")
		}
		f2 := d.page(d.c, d.url("/tokens?q=Key&page=2"), http.StatusOK)
		if prev, _ := f2.first("nav.pagination a[rel=prev]"); prev.attr("href") != d.url("/tokens?q=Key") {
			t.Errorf("filtered prev link %q", prev.attr("href"))
		}
		// A page past the end is empty, not an error.
		if got := rowIDs(d.page(d.c, d.url("/tokens?page=9"), http.StatusOK)); len(got) != 0 {
			t.Errorf("page 9 = %v", got)
		}
		if got := rowIDs(d.page(d.c, d.url("/tokens?page=-1"), http.StatusOK)); len(got) != 25 {
			t.Errorf("page -1 shows %d rows, want the first page", len(got))
		}
	})
}
