package models_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		header, token string
		ok            bool
	}{
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer    ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Token pat_x", "", false},
		{"Bearerpat_x", "", false},
		{"Bearer pat_x", "pat_x", true},
		{"bearer pat_x", "pat_x", true},
		{"BEARER   pat_x  ", "pat_x", true},
	}
	for _, tc := range tests {
		got, ok := models.ParseAuthorization(tc.header)
		if got != tc.token || ok != tc.ok {
			t.Errorf("ParseAuthorization(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.token, tc.ok)
		}
	}
}

// TestVerifyMalformedTouchesNoDatabase proves the format and checksum are
// checked before anything else: no query runs for any of these.
func TestVerifyMalformedTouchesNoDatabase(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		_, plain := f.token("personal", nil)
		last := plain[len(plain)-1]
		typo := plain[:len(plain)-1] + string("ab"[0+boolInt(last == 'a')])
		inputs := map[string]string{
			"garbage":           "not-a-token",
			"unicode":           "pat_ÄÖÜäöüßé_" + strings.Repeat("é", 16),
			"unicode-sameLen":   strings.Replace(plain, plain[4:5], "é", 1)[:len(plain)],
			"10 kB":             strings.Repeat("A", 10<<10),
			"bad checksum":      typo,
			"surrounding space": " " + plain,
			"truncated":         plain[:len(plain)-1],
			"upper prefix":      strings.ToUpper(plain[:3]) + plain[3:],
		}
		before := f.queries.Load()
		for name, in := range inputs {
			res := f.expect(in, models.VerifyRequest{}, models.CodeInvalidKey)
			if res.Token != nil || res.RateLimit != nil {
				t.Errorf("%s: a malformed token got token info or a rate limit", name)
			}
		}
		f.expect("", models.VerifyRequest{}, models.CodeMissingAuth)
		if n := f.queries.Load() - before; n != 0 {
			t.Fatalf("malformed tokens ran %d queries, want 0", n)
		}
		if res := f.verify(typo, models.VerifyRequest{}); !strings.Contains(res.Message, "checksum") {
			t.Errorf("bad checksum message = %q, want it to mention the checksum", res.Message)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestVerifyOutcomes(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		tok, plain := f.token("personal", func(in *models.TokenInput) { in.Scopes = []string{"read", "notes:create"} })

		t.Run("valid", func(t *testing.T) {
			res := f.expect(plain, models.VerifyRequest{Scope: "read", Audience: "notes", Endpoint: "GET /notes"}, models.CodeOK)
			info := res.Token
			if info == nil || info.ID != tok.PublicID || info.Name != tok.Name || info.Type != "personal" {
				t.Fatalf("token info = %+v", info)
			}
			if info.Workspace.ID != f.ws.ID || info.Workspace.Slug != f.ws.Slug {
				t.Errorf("workspace = %+v, want %d %s", info.Workspace, f.ws.ID, f.ws.Slug)
			}
			if info.ExpiresAt == nil || !info.ExpiresAt.Equal(*tok.ExpiresAt) {
				t.Errorf("expires_at = %v, want %v", info.ExpiresAt, tok.ExpiresAt)
			}
			if res.RateLimit == nil || res.TokenID != tok.ID {
				t.Errorf("rate limit %v, token id %d", res.RateLimit, res.TokenID)
			}
		})
		t.Run("unknown id", func(t *testing.T) {
			id, _ := models.NewTokenID()
			other, _ := models.NewTokenPlaintext("pat", id)
			f.expect(other, models.VerifyRequest{}, models.CodeInvalidKey)
		})
		t.Run("wrong secret", func(t *testing.T) {
			other, _ := models.NewTokenPlaintext("pat", tok.PublicID)
			res := f.expect(other, models.VerifyRequest{}, models.CodeInvalidKey)
			if res.Token != nil {
				t.Error("a wrong secret revealed the token")
			}
		})
		t.Run("wrong prefix", func(t *testing.T) {
			other, _ := models.NewTokenPlaintext("svc", tok.PublicID)
			f.expect(other, models.VerifyRequest{}, models.CodeInvalidKey)
		})
		t.Run("insufficient permissions", func(t *testing.T) {
			res := f.expect(plain, models.VerifyRequest{Scope: "write"}, models.CodeInsufficientPermissions)
			if res.Message != "Missing required permission: write" || res.MissingScope != "write" {
				t.Errorf("message %q, missing %q", res.Message, res.MissingScope)
			}
			if res.Token == nil || res.RateLimit == nil {
				t.Error("a refusal after the secret matched should carry token and rate limit")
			}
		})
		t.Run("unknown scope", func(t *testing.T) {
			res := f.expect(plain, models.VerifyRequest{Scope: "nobody:declared"}, models.CodeInsufficientPermissions)
			if !strings.Contains(res.Message, "nobody:declared") {
				t.Errorf("message %q does not name the scope", res.Message)
			}
		})
		t.Run("method scope", func(t *testing.T) {
			p := f.p
			p.MethodScopes = map[string]string{"GET": "read", "POST": "write"}
			defer func() { p.MethodScopes = map[string]string{} }()
			f.expect(plain, models.VerifyRequest{Method: "GET"}, models.CodeOK)
			f.expect(plain, models.VerifyRequest{Method: "post"}, models.CodeInsufficientPermissions)
			f.expect(plain, models.VerifyRequest{Method: "POST", Scope: "notes:create"}, models.CodeOK)
		})
		t.Run("revoked", func(t *testing.T) {
			_, p := f.token("personal", nil)
			f.expect(p, models.VerifyRequest{}, models.CodeOK)
			id := strings.Split(p, "_")[1]
			if _, err := s.RevokeToken(context.Background(), f.ws.ID, id, f.actor, models.RevokeManual); err != nil {
				t.Fatal(err)
			}
			f.expect(p, models.VerifyRequest{}, models.CodeRevokedKey)
		})
		t.Run("expired", func(t *testing.T) {
			et, p := f.token("personal", func(in *models.TokenInput) { in.ExpiresIn = 24 * time.Hour })
			f.expect(p, models.VerifyRequest{}, models.CodeOK)
			f.advance(24*time.Hour - time.Second)
			f.expect(p, models.VerifyRequest{}, models.CodeOK)
			f.advance(time.Second)
			res := f.expect(p, models.VerifyRequest{}, models.CodeExpiredKey)
			if res.ExpiredAt == nil || !res.ExpiredAt.Equal(*et.ExpiresAt) {
				t.Errorf("expired_at = %v, want %v", res.ExpiredAt, et.ExpiresAt)
			}
			if !strings.Contains(res.Message, et.ExpiresAt.UTC().Format(time.RFC3339)) {
				t.Errorf("message %q does not name the expiry", res.Message)
			}
		})
		t.Run("ip allowlist", func(t *testing.T) {
			_, p := f.token("personal", func(in *models.TokenInput) { in.IPAllowlist = "203.0.113.0/24\n2001:db8::/32" })
			for addr, want := range map[string]string{
				"203.0.113.9":        models.CodeOK,
				"::ffff:203.0.113.9": models.CodeOK,
				"2001:db8::1":        models.CodeOK,
				"198.51.100.1":       models.CodeIPNotAllowed,
				"2001:db9::1":        models.CodeIPNotAllowed,
			} {
				res := f.verify(p, models.VerifyRequest{IP: verifyIP(addr)})
				if res.Code != want {
					t.Errorf("from %s: %s (%s), want %s", addr, res.Code, res.Message, want)
				}
			}
			res := f.expect(p, models.VerifyRequest{}, models.CodeIPNotAllowed)
			if !strings.Contains(res.Message, "unknown address") {
				t.Errorf("message %q", res.Message)
			}
			f.expect(plain, models.VerifyRequest{}, models.CodeOK) // no list: any address
		})
		t.Run("audience", func(t *testing.T) {
			_, svc := f.token("service", nil)
			f.expect(svc, models.VerifyRequest{Audience: models.KeywardAudience, Scope: "tokens:verify"}, models.CodeOK)
			res := f.expect(svc, models.VerifyRequest{Audience: "notes"}, models.CodeWrongKeyType)
			if !strings.Contains(res.Message, "Service token") {
				t.Errorf("message %q does not name the type", res.Message)
			}
			f.expect(plain, models.VerifyRequest{Audience: models.KeywardAudience}, models.CodeOK)
		})
		t.Run("type no longer in policy", func(t *testing.T) {
			_, p := f.token("personal", nil)
			other := models.DefaultPolicy()
			other.Types = other.Types[1:]
			v := models.NewVerifier(s, other, models.VerifierOptions{})
			if res := v.Verify(context.Background(), p, models.VerifyRequest{}); res.Code != models.CodeWrongKeyType {
				t.Errorf("code %s, want wrong_key_type", res.Code)
			}
		})
	})
}

func TestVerifyScopeImplications(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		_, admin := f.token("personal", func(in *models.TokenInput) { in.Scopes = []string{"admin"} })
		_, notes := f.token("personal", func(in *models.TokenInput) { in.Scopes = []string{"notes:*"} })
		tests := []struct {
			token, scope, want string
		}{
			{admin, "read", models.CodeOK},
			{admin, "notes:create", models.CodeOK},
			{admin, "notes:archive", models.CodeOK},
			{admin, "members:manage", models.CodeOK},
			{admin, "tokens:manage", models.CodeInsufficientPermissions},
			{notes, "notes:delete", models.CodeOK},
			{notes, "notes:added-later", models.CodeOK},
			{notes, "read", models.CodeInsufficientPermissions},
		}
		for _, tc := range tests {
			if res := f.verify(tc.token, models.VerifyRequest{Scope: tc.scope}); res.Code != tc.want {
				t.Errorf("scope %s: %s, want %s", tc.scope, res.Code, tc.want)
			}
		}
	})
}

func TestVerifyCache(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{CacheTTL: 5 * time.Second})
		tok, plain := f.token("personal", nil)

		t.Run("hit runs no query", func(t *testing.T) {
			f.expect(plain, models.VerifyRequest{}, models.CodeOK)
			before := f.queries.Load()
			for range 10 {
				f.expect(plain, models.VerifyRequest{}, models.CodeOK)
			}
			if n := f.queries.Load() - before; n != 0 {
				t.Fatalf("cached verifications ran %d queries", n)
			}
		})
		t.Run("unknown ids are cached too", func(t *testing.T) {
			id, _ := models.NewTokenID()
			unknown, _ := models.NewTokenPlaintext("pat", id)
			f.expect(unknown, models.VerifyRequest{}, models.CodeInvalidKey)
			before := f.queries.Load()
			f.expect(unknown, models.VerifyRequest{}, models.CodeInvalidKey)
			if n := f.queries.Load() - before; n != 0 {
				t.Fatalf("a known-unknown id ran %d queries", n)
			}
		})
		t.Run("entries go stale after the TTL", func(t *testing.T) {
			f.expect(plain, models.VerifyRequest{}, models.CodeOK)
			f.advance(5 * time.Second)
			before := f.queries.Load()
			f.expect(plain, models.VerifyRequest{}, models.CodeOK)
			if n := f.queries.Load() - before; n == 0 {
				t.Fatal("a stale entry was used without reading the token again")
			}
		})
		t.Run("an edit through the store drops the entry", func(t *testing.T) {
			f.expect(plain, models.VerifyRequest{Scope: "read"}, models.CodeOK)
			_, err := s.UpdateToken(context.Background(), f.p, f.ws, tok.PublicID, f.actor, models.TokenInput{Name: tok.Name, Scopes: []string{"write"}})
			if err != nil {
				t.Fatal(err)
			}
			f.expect(plain, models.VerifyRequest{Scope: "read"}, models.CodeInsufficientPermissions)
			f.expect(plain, models.VerifyRequest{Scope: "write"}, models.CodeOK)
		})
		t.Run("invalidate", func(t *testing.T) {
			f.expect(plain, models.VerifyRequest{}, models.CodeOK)
			f.v.Invalidate(tok.PublicID)
			before := f.queries.Load()
			f.expect(plain, models.VerifyRequest{}, models.CodeOK)
			if f.queries.Load() == before {
				t.Fatal("Invalidate kept the entry")
			}
		})
		t.Run("stats", func(t *testing.T) {
			st := f.v.CacheStats()
			if st.Hits == 0 || st.Misses == 0 || st.Entries == 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	})
}

func TestVerifyCacheIsBounded(t *testing.T) {
	s := models.OpenTestSQLite(t)
	f := newVerifyFixture(t, s, nil, models.VerifierOptions{CacheSize: 128})
	for range 1000 {
		id, _ := models.NewTokenID()
		p, _ := models.NewTokenPlaintext("pat", id)
		f.expect(p, models.VerifyRequest{}, models.CodeInvalidKey)
	}
	if n := f.v.CacheStats().Entries; n > 128 {
		t.Fatalf("cache holds %d entries, bound is 128", n)
	}
}

func TestVerifyCacheOff(t *testing.T) {
	s := models.OpenTestSQLite(t)
	f := newVerifyFixture(t, s, nil, models.VerifierOptions{CacheTTL: -1})
	_, plain := f.token("personal", nil)
	f.expect(plain, models.VerifyRequest{}, models.CodeOK)
	before := f.queries.Load()
	f.expect(plain, models.VerifyRequest{}, models.CodeOK)
	if f.queries.Load() == before {
		t.Fatal("with the cache off, a second verification ran no query")
	}
}

// TestVerifyConcurrentMissesShareOneQuery: a burst of requests for a token
// that is not cached reads it once.
func TestVerifyConcurrentMissesShareOneQuery(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		_, plain := f.token("personal", nil)
		before := f.queries.Load()
		var wg sync.WaitGroup
		errs := make(chan string, 50)
		for range 50 {
			wg.Go(func() {
				if res := f.verify(plain, models.VerifyRequest{}); res.Code != models.CodeOK {
					errs <- res.Code
				}
			})
		}
		wg.Wait()
		close(errs)
		for code := range errs {
			t.Errorf("concurrent verify: %s", code)
		}
		// One token query and one workspace query.
		if n := f.queries.Load() - before; n > 2 {
			t.Fatalf("50 concurrent misses ran %d queries, want at most 2", n)
		}
	})
}

func TestVerifyResetGrace(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		ctx := context.Background()

		tok, old := f.token("personal", nil)
		f.expect(old, models.VerifyRequest{}, models.CodeOK)
		_, fresh, err := s.ResetToken(ctx, f.ws, tok.PublicID, f.actor, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.expect(old, models.VerifyRequest{}, models.CodeOK)
		f.expect(fresh, models.VerifyRequest{}, models.CodeOK)
		f.advance(time.Hour)
		f.expect(old, models.VerifyRequest{}, models.CodeInvalidKey)
		f.expect(fresh, models.VerifyRequest{}, models.CodeOK)

		tok2, old2 := f.token("personal", nil)
		f.expect(old2, models.VerifyRequest{}, models.CodeOK)
		_, fresh2, err := s.ResetToken(ctx, f.ws, tok2.PublicID, f.actor, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.expect(old2, models.VerifyRequest{}, models.CodeInvalidKey)
		f.expect(fresh2, models.VerifyRequest{}, models.CodeOK)
	})
}

// TestVerifyGraceEndsWithoutInvalidation: the grace deadline is checked
// against the clock on every call, not only when the cache fills.
func TestVerifyGraceEndsWithoutInvalidation(t *testing.T) {
	s := models.OpenTestSQLite(t)
	f := newVerifyFixture(t, s, nil, models.VerifierOptions{CacheTTL: time.Hour})
	tok, old := f.token("personal", nil)
	if _, _, err := s.ResetToken(context.Background(), f.ws, tok.PublicID, f.actor, time.Minute); err != nil {
		t.Fatal(err)
	}
	f.expect(old, models.VerifyRequest{}, models.CodeOK)
	f.advance(time.Minute)
	f.expect(old, models.VerifyRequest{}, models.CodeInvalidKey)
}

func TestVerifyFailsClosedWhenStoreIsDown(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		_, plain := f.token("personal", nil)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		res := f.expect(plain, models.VerifyRequest{}, models.CodeUnavailable)
		if res.Status != 503 || res.Token != nil {
			t.Fatalf("result %+v", res)
		}
	})
}

func TestCodeStatus(t *testing.T) {
	for code, want := range map[string]int{
		models.CodeOK: 200, models.CodeMissingAuth: 401, models.CodeInvalidKey: 401, models.CodeRevokedKey: 401,
		models.CodeExpiredKey: 401, models.CodeIPNotAllowed: 403, models.CodeWrongKeyType: 403,
		models.CodeInsufficientPermissions: 403, models.CodeRateLimited: 429, models.CodeUnavailable: 503, "nope": 500,
	} {
		if got := models.CodeStatus(code); got != want {
			t.Errorf("CodeStatus(%s) = %d, want %d", code, got, want)
		}
	}
}

func ExampleParseAuthorization() {
	token, ok := models.ParseAuthorization("Bearer pat_abc12def_0123456789abcdefghijklmnopqrstuv")
	fmt.Println(token, ok)
	_, ok = models.ParseAuthorization("Basic dXNlcjpwYXNz")
	fmt.Println(ok)
	// Output:
	// pat_abc12def_0123456789abcdefghijklmnopqrstuv true
	// false
}

// TestVerifyCacheDropsStaleEntries: entries past their TTL do not pile up
// when many tokens pass through the cache once.
func TestVerifyCacheDropsStaleEntries(t *testing.T) {
	s := models.OpenTestSQLite(t)
	f := newVerifyFixture(t, s, nil, models.VerifierOptions{CacheTTL: time.Second})
	for range 5000 {
		id, _ := models.NewTokenID()
		p, _ := models.NewTokenPlaintext("pat", id)
		f.expect(p, models.VerifyRequest{}, models.CodeInvalidKey)
		f.advance(10 * time.Millisecond) // 100 new tokens a second
	}
	// About one TTL's worth (100) is fresh; each of the 64 shards sweeps
	// after at most 16 fills, so at most about 1,100 remain, not 5,000.
	if n := f.v.CacheStats().Entries; n > 1200 {
		t.Fatalf("cache holds %d entries after 5000 one-off tokens at 100/s with a 1s TTL", n)
	}
}

// TestVerifyEmptyListColumns: an empty scopes or attributes column (a row
// written by hand) reads as an empty list, as the rest of the store reads it,
// rather than making the token unverifiable.
func TestVerifyEmptyListColumns(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{CacheTTL: -1})
		tok, plain := f.token("personal", nil)
		if err := s.DB().Exec("UPDATE tokens SET scopes = '', exposed_attributes = '' WHERE id = ?", tok.ID).Error; err != nil {
			t.Fatal(err)
		}
		res := f.expect(plain, models.VerifyRequest{}, models.CodeOK)
		if len(res.Token.Scopes) != 0 || len(res.Token.Attributes) != 0 {
			t.Fatalf("token info %+v", res.Token)
		}
		f.expect(plain, models.VerifyRequest{Scope: "read"}, models.CodeInsufficientPermissions)
	})
}
