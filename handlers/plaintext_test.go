package handlers_test

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// headerLog records every Set-Cookie and Location header the server sends.
type headerLog struct {
	mu     sync.Mutex
	values []string
}

func (l *headerLog) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		l.mu.Lock()
		defer l.mu.Unlock()
		h := c.Response().Header()
		l.values = append(l.values, h.Values("Set-Cookie")...)
		l.values = append(l.values, h.Values("Location")...)
		return err
	}
}

// TestPlaintextNeverStored creates tokens through the dashboard and the CLI's
// store call, resets some, and then looks for every plaintext in the whole
// database (the SQLite file itself, every table on PostgreSQL), the logs,
// the audit table, the session rows and every cookie and redirect sent.
func TestPlaintextNeverStored(t *testing.T) {
	eachServer(t, dashPolicy(t, "activity-profile-read.yaml"), func(t *testing.T, srv *testServer) {
		headers := &headerLog{}
		srv.Echo.Use(headers.middleware)
		d := newDash(t, srv)
		var plains []string            // every plaintext ever shown
		current := map[string]string{} // token id → its working plaintext

		act := d.create(d.c, "activity", "Support desk", nil)
		prd := d.create(d.c, "profile_read", "CRM sync", nil)
		plains = append(plains, act.plain, prd.plain)
		current[act.id], current[prd.id] = act.plain, prd.plain

		// A reset with grace keeps the old hash; its plaintext must not stay.
		for _, grace := range []string{"0", "6h"} {
			d.c.get(d.url("/tokens/" + act.id + "/reset"))
			rec := d.c.post(d.url("/tokens/"+act.id+"/reset"), url.Values{"grace": {grace}})
			v, ok := parseDOM(t, body(rec)).first("[data-testid=token-value]")
			if !ok {
				t.Fatalf("reset %s: no token shown (%d)", grace, rec.Code)
			}
			plains = append(plains, v.text())
			current[act.id] = v.text()
		}

		// What `keyward token create` runs: no creator, the CLI actor.
		cli := models.Actor{Type: "system", Label: "keyward CLI"}
		for _, typ := range []string{"activity", "service"} {
			tt := d.typ(typ)
			in := models.TokenInput{Type: typ, Name: "cli " + typ, Scopes: tt.Scopes[:1], AcceptTerms: tt.Terms != ""}
			tok, plain, err := srv.Store.CreateToken(t.Context(), srv.Policy, d.ws, nil, cli, in)
			if err != nil {
				t.Fatalf("CLI create %s: %v", typ, err)
			}
			plains = append(plains, plain)
			current[tok.PublicID] = plain
		}
		// Walk the pages a person would visit afterwards, and revoke one.
		for id := range current {
			for _, p := range []string{"", "/usage", "/activity"} {
				d.c.get(d.url("/tokens/" + id + p))
			}
		}
		d.c.get(d.url("/tokens/" + prd.id + "/revoke"))
		d.c.post(d.url("/tokens/"+prd.id+"/revoke"), nil)
		d.c.get(d.url("/tokens?status=revoked"))
		d.c.get(d.url("/audit"))
		d.c.get(d.url("/audit.csv"))
		if len(plains) != 6 {
			t.Fatalf("collected %d plaintexts", len(plains))
		}

		var haystacks []struct{ where, text string }
		add := func(where, text string) { haystacks = append(haystacks, struct{ where, text string }{where, text}) }

		db := srv.Store.DB()
		var tables []string
		if srv.Store.Dialect() == models.DialectSQLite {
			if err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{srv.Store.DSN(), srv.Store.DSN() + "-wal", srv.Store.DSN() + "-journal"} {
				data, err := os.ReadFile(path)
				if os.IsNotExist(err) {
					continue
				} else if err != nil {
					t.Fatal(err)
				}
				add(path, string(data))
			}
			db.Raw("SELECT name FROM sqlite_master WHERE type = 'table'").Scan(&tables)
		} else {
			db.Raw("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&tables)
		}
		for _, want := range []string{"tokens", "audit_events", "sessions"} {
			if !slices.Contains(tables, want) {
				t.Fatalf("table %s not found among %v", want, tables)
			}
		}
		for _, table := range tables {
			var rows []map[string]any
			if err := db.Table(table).Find(&rows).Error; err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			add("table "+table, fmt.Sprint(rows))
		}
		add("logs", srv.Logs.String())
		headers.mu.Lock()
		add("Set-Cookie and Location headers", strings.Join(headers.values, "\n"))
		headers.mu.Unlock()

		// The search can find what is there: each working hash is stored.
		var all strings.Builder
		for _, h := range haystacks {
			all.WriteString(h.text)
		}
		for id, p := range current {
			if !strings.Contains(all.String(), models.HashToken(p)) {
				t.Errorf("sanity: the hash of %s is not found", id)
			}
		}
		if !strings.Contains(srv.Logs.String(), "/tokens") || len(headers.values) == 0 {
			t.Error("sanity: no logs or headers were captured")
		}

		for _, p := range plains {
			secret := p[strings.LastIndex(p, "_")+1:]
			for _, h := range haystacks {
				if strings.Contains(h.text, secret) {
					t.Errorf("%s holds the secret of %s", h.where, p[:strings.LastIndex(p, "_")])
				}
			}
		}
	})
}
