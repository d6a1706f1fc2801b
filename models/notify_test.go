package models_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

// instance is one Keyward process as far as verification goes: its own store
// (connection pool), verifier, and listener.
type instance struct {
	s *models.Store
	v *models.Verifier
}

func startInstance(t *testing.T, ctx context.Context, dsn string, p *models.Policy, now func() time.Time) instance {
	t.Helper()
	s, err := models.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.Now = now
	// A long TTL, so only the notification can explain a refusal.
	v := models.NewVerifier(s, p, models.VerifierOptions{CacheTTL: time.Hour})
	s.NotifyTokenChanges(slog.New(slog.DiscardHandler))
	l := models.NewTokenListener(s.DSN(), v.Invalidate, v.InvalidateAll, nil)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = l.Run(lctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-l.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not start")
	}
	return instance{s: s, v: v}
}

// within polls check for up to limit and reports whether it came true.
func within(limit time.Duration, check func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if check() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRevocationReachesOtherInstances runs two instances on one PostgreSQL
// database, warms both caches, then revokes and resets on A: A refuses at
// once and B within a second.
func TestRevocationReachesOtherInstances(t *testing.T) {
	base := models.OpenTestPostgres(t) // a fresh schema, dropped at the end
	ctx := context.Background()
	f := newVerifyFixture(t, base, nil, models.VerifierOptions{})
	a := startInstance(t, ctx, base.DSN(), f.p, f.now)
	b := startInstance(t, ctx, base.DSN(), f.p, f.now)
	verify := func(in instance, token string) string {
		return in.v.Verify(ctx, token, models.VerifyRequest{}).Code
	}

	tok, plain := f.token("personal", nil)
	tok2, plain2 := f.token("personal", nil)
	for _, in := range []instance{a, b} {
		for _, p := range []string{plain, plain2} {
			if code := verify(in, p); code != models.CodeOK {
				t.Fatalf("warm-up: %s", code)
			}
		}
	}

	t.Run("revoke", func(t *testing.T) {
		if _, err := a.s.RevokeToken(ctx, f.ws.ID, tok.PublicID, f.actor, models.RevokeManual); err != nil {
			t.Fatal(err)
		}
		if code := verify(a, plain); code != models.CodeRevokedKey {
			t.Fatalf("instance A right after revoking: %s", code)
		}
		if !within(time.Second, func() bool { return verify(b, plain) == models.CodeRevokedKey }) {
			t.Fatalf("instance B still says %s a second after the revoke", verify(b, plain))
		}
	})
	t.Run("reset", func(t *testing.T) {
		ws, err := a.s.WorkspaceByID(ctx, f.ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, fresh, err := a.s.ResetToken(ctx, ws, tok2.PublicID, f.actor, 0)
		if err != nil {
			t.Fatal(err)
		}
		if code := verify(a, plain2); code != models.CodeInvalidKey {
			t.Fatalf("instance A accepts the replaced secret: %s", code)
		}
		if !within(time.Second, func() bool { return verify(b, plain2) == models.CodeInvalidKey }) {
			t.Fatal("instance B still accepts the replaced secret a second after the reset")
		}
		if code := verify(b, fresh); code != models.CodeOK {
			t.Fatalf("instance B refuses the new secret: %s", code)
		}
	})
}

// TestTokenListenerReconnects: when its connection is killed, the listener
// comes back, empties the cache (it may have missed changes) and hears the
// next change.
func TestTokenListenerReconnects(t *testing.T) {
	s := models.OpenTestPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan string, 10)
	reconnected := make(chan struct{}, 10)
	l := models.NewTokenListener(s.DSN(), func(id string) { heard <- id }, func() { reconnected <- struct{}{} }, nil)
	done := make(chan struct{})
	go func() { _ = l.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	<-l.Ready()

	// Cut the listener's connection as a failover would.
	if err := s.DB().Exec("SELECT pg_terminate_backend(?)", l.PID()).Error; err != nil {
		t.Fatal(err)
	}
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not reconnect")
	}
	deadline := time.After(5 * time.Second)
	for {
		if err := s.NotifyTokenChange(ctx, "abcd1234"); err != nil {
			t.Fatal(err)
		}
		select {
		case id := <-heard:
			if !strings.EqualFold(id, "abcd1234") {
				continue
			}
			return
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("no notification heard after reconnecting")
		}
	}
}

func TestNotifyIsANoOpOnSQLite(t *testing.T) {
	s := models.OpenTestSQLite(t)
	if err := s.NotifyTokenChange(context.Background(), "abcd1234"); err != nil {
		t.Fatal(err)
	}
	s.NotifyTokenChanges(nil) // registers nothing, fails nothing
}
