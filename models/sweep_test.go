package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

func TestSweepExpired(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		day := 24 * time.Hour
		f := newTokenFixture(t, s, "personal-tokens.yaml")
		mk := func(name string, life time.Duration) *models.Token {
			in := f.input("personal")
			in.Name, in.ExpiresIn = name, life
			tok, _ := f.create(in)
			return tok
		}
		short := mk("short", day)
		long := mk("long", 30*day)
		gone := mk("revoked first", day)
		if _, err := s.RevokeToken(ctx, f.ws.ID, gone.PublicID, f.actor, models.RevokeManual); err != nil {
			t.Fatal(err)
		}
		var changed []string
		s.OnTokenChange(func(id string) { changed = append(changed, id) })

		if n, err := s.SweepExpired(ctx); err != nil || n != 0 {
			t.Fatalf("sweep before expiry: %d, %v", n, err)
		}
		f.advance(day) // expires_at == now: expired
		if got := f.load(short.PublicID).Status(f.now); got != models.StatusExpired {
			t.Fatalf("status at expiry = %q", got)
		}
		n, err := s.SweepExpired(ctx)
		if err != nil || n != 1 {
			t.Fatalf("SweepExpired = %d, %v; want 1", n, err)
		}
		got := f.load(short.PublicID)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(f.now) || got.RevokedReason != models.RevokeExpired || got.RevokedByLabel != models.SystemActor.Label {
			t.Errorf("swept token: revoked %v reason %q by %q", got.RevokedAt, got.RevokedReason, got.RevokedByLabel)
		}
		if f.load(long.PublicID).RevokedAt != nil {
			t.Error("the sweep revoked a token that has not expired")
		}
		if g := f.load(gone.PublicID); g.RevokedReason != models.RevokeManual {
			t.Errorf("the sweep rewrote a manual revocation: %q", g.RevokedReason)
		}
		evs := f.events(models.ActionTokenExpired, "")
		if len(evs) != 1 || evs[0].TargetID != short.PublicID || evs[0].ActorType != "system" || evs[0].ActorLabel != models.SystemActor.Label {
			t.Errorf("token.expired events = %+v", evs)
		}
		if !slices.Equal(changed, []string{short.PublicID}) {
			t.Errorf("change hooks ran for %v", changed)
		}
		if n, err := s.SweepExpired(ctx); err != nil || n != 0 {
			t.Errorf("second sweep = %d, %v; want 0", n, err)
		}
		if evs := f.events(models.ActionTokenExpired, ""); len(evs) != 1 {
			t.Errorf("second sweep wrote events: %d", len(evs))
		}
	})
}

func TestSweptTokensFreeTheCap(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		day := 24 * time.Hour
		f := newTokenFixture(t, s, "personal-tokens.yaml") // 10 per user
		in := f.input("personal")
		in.ExpiresIn = day
		for range 10 {
			f.create(in)
		}
		if _, _, err := s.CreateToken(ctx, f.p, f.ws, f.admin, f.actor, in); tokFieldErrors(t, err)["cap"] == "" {
			t.Fatalf("11th token: %v, want the cap", err)
		}
		f.advance(day + time.Minute)
		// Expired tokens stop counting at once, before the sweep runs...
		if n, _ := s.ActiveTokenCount(ctx, f.ws.ID, f.admin.ID); n != 0 {
			t.Errorf("ActiveTokenCount after expiry = %d, want 0", n)
		}
		f.create(in)
		// ...and after it.
		if n, err := s.SweepExpired(ctx); err != nil || n != 10 {
			t.Fatalf("SweepExpired = %d, %v; want 10", n, err)
		}
		for range 9 {
			f.create(in)
		}
		if _, _, err := s.CreateToken(ctx, f.p, f.ws, f.admin, f.actor, in); tokFieldErrors(t, err)["cap"] == "" {
			t.Fatalf("token over the cap after the sweep: %v", err)
		}
		revoked, total, _ := s.TokensByWorkspace(ctx, models.TokenQuery{WorkspaceID: f.ws.ID, Status: models.StatusRevoked, PerPage: 50})
		if total != 10 {
			t.Errorf("%d revoked tokens listed, want the 10 swept", total)
		}
		for _, tok := range revoked {
			if tok.RevokedReason != models.RevokeExpired {
				t.Errorf("%s reason %q", tok.PublicID, tok.RevokedReason)
			}
		}
	})
}

func TestSweepEndsResetGrace(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newTokenFixture(t, s, "personal-tokens.yaml")
		tok, _ := f.create(f.input("personal"))
		if _, _, err := s.ResetToken(ctx, f.ws, tok.PublicID, f.actor, time.Hour); err != nil {
			t.Fatal(err)
		}
		f.advance(30 * time.Minute)
		if _, err := s.SweepExpired(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.load(tok.PublicID); got.PreviousHash == "" || !got.GraceActive(f.now) {
			t.Fatal("the sweep ended a grace period that is still running")
		}
		f.advance(time.Hour)
		if _, err := s.SweepExpired(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.load(tok.PublicID); got.PreviousHash != "" || got.PreviousValidUntil != nil {
			t.Errorf("grace over but old hash kept: %q until %v", got.PreviousHash, got.PreviousValidUntil)
		}
		if got := f.load(tok.PublicID); got.RevokedAt != nil {
			t.Error("ending the grace period revoked the token")
		}
	})
}
