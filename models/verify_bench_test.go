package models_test

import (
	"context"
	"os"
	"testing"

	"github.com/keyward/keyward/models"
)

// The verify benchmarks run on SQLite, and on PostgreSQL too when
// KEYWARD_TEST_POSTGRES_URL is set. scripts/bench.sh measures the same paths
// through HTTP; these isolate the verifier's own cost.
//
//	go test -run '^$' -bench Verify -benchmem ./models/

func eachBenchStore(b *testing.B, fn func(b *testing.B, s *models.Store)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, models.OpenTestSQLite(b)) })
	if os.Getenv("KEYWARD_TEST_POSTGRES_URL") != "" {
		b.Run("postgres", func(b *testing.B) { fn(b, models.OpenTestPostgres(b)) })
	}
}

func BenchmarkVerify(b *testing.B) {
	eachBenchStore(b, func(b *testing.B, s *models.Store) {
		ctx := context.Background()
		req := models.VerifyRequest{Scope: "read", Endpoint: "GET /notes", IP: verifyIP("192.0.2.1")}

		// valid verifies a cached token over and over; with memo, each
		// goroutine is a connection that remembers it (models.TokenMemo).
		valid := func(b *testing.B, edit func(*models.TokenInput), memo bool) {
			f := newVerifyFixture(b, s, nil, models.VerifierOptions{})
			_, plain := f.token("personal", edit)
			f.expect(plain, req, models.CodeOK)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := req
				if memo {
					r.Memo = new(models.TokenMemo)
				}
				for pb.Next() {
					if res := f.v.Verify(ctx, plain, r); !res.Valid {
						b.Fatal(res.Code)
					}
				}
			})
		}
		b.Run("hit", func(b *testing.B) { valid(b, nil, false) })
		b.Run("hit-remembered", func(b *testing.B) { valid(b, nil, true) })
		// Counted against the token's own quota in memory, too large to run out.
		b.Run("hit-limited", func(b *testing.B) {
			valid(b, func(in *models.TokenInput) { in.RateDaily, in.RatePerMinute = 1<<40, 1<<30 }, false)
		})
		b.Run("miss", func(b *testing.B) {
			f := newVerifyFixture(b, s, nil, models.VerifierOptions{CacheTTL: -1})
			_, plain := f.token("personal", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if res := f.v.Verify(ctx, plain, req); !res.Valid {
						b.Fatal(res.Code)
					}
				}
			})
		})
		b.Run("malformed", func(b *testing.B) {
			f := newVerifyFixture(b, s, nil, models.VerifierOptions{})
			_, plain := f.token("personal", nil)
			bad := plain[:len(plain)-1] + "!"
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if res := f.v.Verify(ctx, bad, req); res.Code != models.CodeInvalidKey {
						b.Fatal(res.Code)
					}
				}
			})
		})
		b.Run("gorm-lookup-baseline", func(b *testing.B) {
			f := newVerifyFixture(b, s, nil, models.VerifierOptions{})
			tok, _ := f.token("personal", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var t models.Token
					if err := s.DB().WithContext(ctx).Where("public_id = ?", tok.PublicID).First(&t).Error; err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	})
}

func BenchmarkParseToken(b *testing.B) {
	plain, _ := models.NewTokenPlaintext("pat", "abc12def")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := models.ParseToken(plain); err != nil {
			b.Fatal(err)
		}
	}
}
