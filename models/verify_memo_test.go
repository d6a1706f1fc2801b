package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

// TestVerifyMemo: a token remembered for a connection skips the secret's
// hashing only while its cache entry lasts; nothing it remembers outlives a
// change to the token, and every later check still runs.
func TestVerifyMemo(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{CacheTTL: time.Hour})
		ctx := context.Background()
		remembered := func() uint64 { return f.v.CacheStats().Remembered }

		t.Run("a token presented again is answered through the memo", func(t *testing.T) {
			_, plain := f.token("personal", nil)
			m := new(models.TokenMemo)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
			before := remembered()
			for range 5 {
				f.expect(plain, models.VerifyRequest{Memo: m, Scope: "read"}, models.CodeOK)
			}
			if n := remembered() - before; n != 5 {
				t.Fatalf("5 calls with the same token: %d answered through the memo", n)
			}
		})
		t.Run("another memo, or none, does not know the token", func(t *testing.T) {
			_, plain := f.token("personal", nil)
			f.expect(plain, models.VerifyRequest{Memo: new(models.TokenMemo)}, models.CodeOK)
			before := remembered()
			f.expect(plain, models.VerifyRequest{Memo: new(models.TokenMemo)}, models.CodeOK)
			f.expect(plain, models.VerifyRequest{}, models.CodeOK)
			if n := remembered() - before; n != 0 {
				t.Fatalf("%d calls answered through a memo that had not seen the token", n)
			}
		})
		t.Run("a wrong secret for the remembered id is refused", func(t *testing.T) {
			tok, plain := f.token("personal", nil)
			m := new(models.TokenMemo)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
			// The same id with another secret, with a valid checksum.
			forged, err := models.NewTokenPlaintext(tok.Prefix, tok.PublicID)
			if err != nil {
				t.Fatal(err)
			}
			f.expect(forged, models.VerifyRequest{Memo: m}, models.CodeInvalidKey)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
		})
		t.Run("the memo follows the token presented", func(t *testing.T) {
			ta, a := f.token("personal", nil)
			tb, b := f.token("personal", nil)
			m := new(models.TokenMemo)
			f.expect(a, models.VerifyRequest{Memo: m}, models.CodeOK)
			before := remembered()
			for range 3 {
				if res := f.expect(b, models.VerifyRequest{Memo: m}, models.CodeOK); res.Token.ID != tb.PublicID {
					t.Fatalf("token %s answered as %s", tb.PublicID, res.Token.ID)
				}
				if res := f.expect(a, models.VerifyRequest{Memo: m}, models.CodeOK); res.Token.ID != ta.PublicID {
					t.Fatalf("token %s answered as %s", ta.PublicID, res.Token.ID)
				}
			}
			if n := remembered() - before; n != 0 {
				t.Fatalf("alternating tokens: %d answered through the memo, want 0", n)
			}
			f.expect(a, models.VerifyRequest{Memo: m}, models.CodeOK)
			if n := remembered() - before; n != 1 {
				t.Fatalf("the last token presented again: %d answered through the memo, want 1", n)
			}
		})
		t.Run("revoke takes effect at once", func(t *testing.T) {
			tok, plain := f.token("personal", nil)
			m := new(models.TokenMemo)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
			if _, err := s.RevokeToken(ctx, f.ws.ID, tok.PublicID, f.actor, "test"); err != nil {
				t.Fatal(err)
			}
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeRevokedKey)
		})
		t.Run("an entry dropped by another instance's notice", func(t *testing.T) {
			tok, plain := f.token("personal", nil)
			m := new(models.TokenMemo)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
			revokeElsewhere(t, f, tok.PublicID)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK) // not announced yet: the cache holds
			f.v.Invalidate(tok.PublicID)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeRevokedKey)
		})
		t.Run("the memo holds the entry, not the id", func(t *testing.T) {
			tok, plain := f.token("personal", nil)
			m := new(models.TokenMemo)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
			revokeElsewhere(t, f, tok.PublicID)
			f.v.Invalidate(tok.PublicID)
			// Another connection reads the revoked row into the cache; the
			// memo's older entry for the same id must not pass for it.
			f.expect(plain, models.VerifyRequest{}, models.CodeRevokedKey)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeRevokedKey)
		})
		t.Run("after the cache is emptied the token is read again", func(t *testing.T) {
			_, plain := f.token("personal", nil)
			m := new(models.TokenMemo)
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
			f.v.InvalidateAll()
			before := f.queries.Load()
			f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
			if f.queries.Load() == before {
				t.Fatal("the memo outlived InvalidateAll")
			}
		})
		t.Run("a reset ends the memo, and the grace secret is not remembered", func(t *testing.T) {
			tok, old := f.token("personal", nil)
			m := new(models.TokenMemo)
			f.expect(old, models.VerifyRequest{Memo: m}, models.CodeOK)
			_, fresh, err := s.ResetToken(ctx, f.ws, tok.PublicID, f.actor, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			before := remembered()
			f.expect(old, models.VerifyRequest{Memo: m}, models.CodeOK) // in its grace period
			f.expect(old, models.VerifyRequest{Memo: m}, models.CodeOK)
			f.expect(fresh, models.VerifyRequest{Memo: m}, models.CodeOK)
			f.expect(fresh, models.VerifyRequest{Memo: m}, models.CodeOK)
			if n := remembered() - before; n != 0 {
				t.Fatalf("%d calls answered through the memo while a reset's grace period lasts", n)
			}
			f.advance(time.Minute) // the cache entry (one hour) outlives the grace period
			f.expect(old, models.VerifyRequest{Memo: m}, models.CodeInvalidKey)
			f.expect(fresh, models.VerifyRequest{Memo: m}, models.CodeOK)
		})
		t.Run("expiry, address and scope are checked on every call", func(t *testing.T) {
			_, plain := f.token("personal", func(in *models.TokenInput) {
				in.ExpiresIn = 24 * time.Hour
				in.IPAllowlist = "198.51.100.0/24"
			})
			m := new(models.TokenMemo)
			in := models.VerifyRequest{Memo: m, IP: verifyIP("198.51.100.7"), Scope: "read"}
			f.expect(plain, in, models.CodeOK)
			f.expect(plain, in, models.CodeOK)
			out := in
			out.IP = verifyIP("203.0.113.9")
			f.expect(plain, out, models.CodeIPNotAllowed)
			write := in
			write.Scope = "write"
			f.expect(plain, write, models.CodeInsufficientPermissions)
			// A minute before expiry the entry is read again and remembered;
			// a minute later it is still cached when the token expires.
			f.advance(24*time.Hour - time.Minute)
			f.expect(plain, in, models.CodeOK)
			f.advance(time.Minute)
			before := remembered()
			f.expect(plain, in, models.CodeExpiredKey)
			if remembered() == before {
				t.Fatal("the expired call was not answered through the memo, so this did not test it")
			}
		})
	})
}

// revokeElsewhere revokes a token behind the verifier's back, as another
// instance would before announcing it.
func revokeElsewhere(t *testing.T, f *verifyFixture, publicID string) {
	t.Helper()
	if err := f.s.DB().Model(&models.Token{}).Where("public_id = ?", publicID).Update("revoked_at", f.now()).Error; err != nil {
		t.Fatal(err)
	}
}

// TestVerifyMemoFollowsTheCache: the memo is used only while the cache holds
// the very entry it remembers, so an entry that went stale or was evicted is
// read again, and a token read with the cache off is never remembered.
func TestVerifyMemoFollowsTheCache(t *testing.T) {
	t.Run("stale", func(t *testing.T) {
		f := newVerifyFixture(t, models.OpenTestSQLite(t), nil, models.VerifierOptions{CacheTTL: 5 * time.Second})
		_, plain := f.token("personal", nil)
		m := new(models.TokenMemo)
		f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
		f.advance(5 * time.Second)
		before := f.queries.Load()
		f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
		if f.queries.Load() == before {
			t.Fatal("a stale entry was used through the memo")
		}
	})
	t.Run("evicted", func(t *testing.T) {
		// One entry per shard: any other id in the token's shard evicts it.
		f := newVerifyFixture(t, models.OpenTestSQLite(t), nil, models.VerifierOptions{CacheSize: 1})
		_, plain := f.token("personal", nil)
		m := new(models.TokenMemo)
		f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
		for range 1000 {
			id, _ := models.NewTokenID()
			unknown, _ := models.NewTokenPlaintext("pat", id)
			f.expect(unknown, models.VerifyRequest{}, models.CodeInvalidKey)
		}
		before := f.queries.Load()
		f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
		if f.queries.Load() == before {
			t.Fatal("an evicted entry was used through the memo")
		}
	})
	t.Run("cache off", func(t *testing.T) {
		f := newVerifyFixture(t, models.OpenTestSQLite(t), nil, models.VerifierOptions{CacheTTL: -1})
		_, plain := f.token("personal", nil)
		m := new(models.TokenMemo)
		f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
		before := f.queries.Load()
		f.expect(plain, models.VerifyRequest{Memo: m}, models.CodeOK)
		if f.queries.Load() == before || f.v.CacheStats().Remembered != 0 {
			t.Fatal("with the cache off, a call was answered through the memo")
		}
	})
}
