package models_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

// TestUsageNothingLostOnStop: every verification made before a graceful stop
// is in the database after it, counted by endpoint and outcome.
func TestUsageNothingLostOnStop(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			f.usage.Run(ctx, 5*time.Millisecond) // flushes race the verifications
			close(done)
		}()
		tok, plain := f.token("personal", nil)
		const workers, each = 8, 100
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					req := models.VerifyRequest{Endpoint: "GET /notes", IP: verifyIP(fmt.Sprintf("192.0.2.%d", w+1))}
					if i%4 == 0 {
						req.Scope, req.Endpoint = "write", "POST /notes"
					}
					f.verify(plain, req)
				}
			})
		}
		wg.Wait()
		cancel()
		<-done
		if err := f.usage.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := f.usage.Pending(); n != 0 {
			t.Fatalf("%d calls still pending after Stop", n)
		}
		total, err := s.UsageTotal(context.Background(), tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if total != workers*each {
			t.Fatalf("usage total = %d, want %d", total, workers*each)
		}
		rows, err := s.UsageByToken(context.Background(), tok.ID, f.now().Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range rows {
			got[r.Endpoint+" "+r.Outcome] += r.Count
			if r.Day != f.now().Format(time.DateOnly) {
				t.Errorf("day %s, want %s", r.Day, f.now().Format(time.DateOnly))
			}
		}
		want := map[string]int64{"GET /notes ok": workers * each * 3 / 4, "POST /notes insufficient_permissions": workers * each / 4}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("counters = %v, want %v", got, want)
		}
		row, err := s.TokenByPublicID(context.Background(), f.ws.ID, tok.PublicID)
		if err != nil {
			t.Fatal(err)
		}
		if row.LastUsedAt == nil || !row.LastUsedAt.Equal(f.now()) {
			t.Errorf("last used at %v, want %v", row.LastUsedAt, f.now())
		}
		if len(row.RecentIPs) != models.RecentIPLimit || !slices.Contains(row.RecentIPs, row.LastUsedIP) {
			t.Errorf("recent IPs %v (last %s), want %d of them including the last", row.RecentIPs, row.LastUsedIP, models.RecentIPLimit)
		}
	})
}

func TestUsageRecentIPs(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		tok, plain := f.token("personal", nil)
		use := func(addrs ...string) {
			t.Helper()
			for _, addr := range addrs {
				f.expect(plain, models.VerifyRequest{IP: verifyIP(addr)}, models.CodeOK)
			}
			f.expect(plain, models.VerifyRequest{IP: verifyIP("198.51.100.1"), Scope: "write"}, models.CodeInsufficientPermissions)
			if err := f.usage.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		check := func(want []string, at time.Time) {
			t.Helper()
			row, err := s.TokenByPublicID(context.Background(), f.ws.ID, tok.PublicID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(row.RecentIPs, want) || row.LastUsedIP != want[0] || row.LastUsedAt == nil || !row.LastUsedAt.Equal(at) {
				t.Errorf("recent %v, last %q at %v; want %v at %v (a refused call is not a use)", row.RecentIPs, row.LastUsedIP, row.LastUsedAt, want, at)
			}
		}
		use("192.0.2.1", "192.0.2.2", "192.0.2.1", "2001:db8::1", "192.0.2.3", "192.0.2.4", "::ffff:192.0.2.5", "192.0.2.6")
		check([]string{"192.0.2.6", "192.0.2.5", "192.0.2.4", "192.0.2.3", "2001:db8::1"}, f.now())
		// A later flush merges with what is stored.
		f.advance(time.Minute)
		use("192.0.2.3", "203.0.113.7")
		check([]string{"203.0.113.7", "192.0.2.3", "192.0.2.6", "192.0.2.5", "192.0.2.4"}, f.now())
	})
}

// TestUsageConcurrentFlushes: two instances flushing uses of the same tokens
// at once neither fail nor overwrite each other's recent addresses.
func TestUsageConcurrentFlushes(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		rows := bulkTokens(t, s, f, 300)
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		a, b := models.NewUsageRecorder(s, nil), models.NewUsageRecorder(s, nil)
		for round := range 5 {
			ipA, ipB := verifyIP(fmt.Sprintf("192.0.2.%d", 2*round+1)), verifyIP(fmt.Sprintf("192.0.2.%d", 2*round+2))
			// Opposite orders, so the two flushes meet on the same rows.
			for i := range ids {
				// Different endpoints: counters of their own, so only the
				// tokens' rows are shared.
				a.Record(ids[i], "GET /a", models.CodeOK, ipA, f.now(), true)
				b.Record(ids[len(ids)-1-i], "GET /b", models.CodeOK, ipB, f.now(), true)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, r := range []*models.UsageRecorder{a, b} {
				wg.Go(func() { errs[i] = r.Flush(context.Background()) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			var toks []models.Token
			if err := s.DB().Where("workspace_id = ?", f.ws.ID).Find(&toks).Error; err != nil {
				t.Fatal(err)
			}
			for _, tok := range toks {
				if !slices.Contains(tok.RecentIPs, ipA.String()) || !slices.Contains(tok.RecentIPs, ipB.String()) {
					t.Fatalf("round %d: token %s remembers %v, want both %s and %s", round, tok.PublicID, tok.RecentIPs, ipA, ipB)
				}
			}
		}
		total, err := s.UsageTotal(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(2 * 5 * len(ids)); total != want {
			t.Fatalf("usage total %d, want %d", total, want)
		}
	})
}

// TestUsageKeptWhenFlushFails: counts that cannot be written wait for the
// next flush instead of being dropped.
func TestUsageKeptWhenFlushFails(t *testing.T) {
	s := models.OpenTestSQLite(t)
	f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
	_, plain := f.token("personal", nil)
	for range 7 {
		f.expect(plain, models.VerifyRequest{IP: verifyIP("192.0.2.1")}, models.CodeOK)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.usage.Flush(context.Background()); err == nil {
		t.Fatal("flush to a closed store succeeded")
	}
	if n := f.usage.Pending(); n != 7 {
		t.Fatalf("pending = %d after a failed flush, want 7", n)
	}
}

// TestVerifyWritesNothing: the verify path records usage in memory only.
func TestVerifyWritesNothing(t *testing.T) {
	s := models.OpenTestSQLite(t)
	f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
	_, plain := f.token("personal", nil)
	writes := 0
	var mu sync.Mutex
	count := func(*gormDB) { mu.Lock(); writes++; mu.Unlock() }
	registerWriteCounter(t, s, count)
	for range 20 {
		f.expect(plain, models.VerifyRequest{IP: verifyIP("192.0.2.1")}, models.CodeOK)
	}
	if writes != 0 {
		t.Fatalf("verification wrote to the database %d times", writes)
	}
}

// TestUsageFlushInChunks: a flush over more tokens than one transaction
// takes writes them all.
func TestUsageFlushInChunks(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		now := f.now()
		rows := bulkTokens(t, s, f, 1100)
		for _, r := range rows {
			f.usage.Record(r.ID, "GET /x", models.CodeOK, verifyIP("192.0.2.1"), now, true)
		}
		if n := f.usage.Pending(); n != int64(len(rows)) {
			t.Fatalf("pending %d", n)
		}
		if err := f.usage.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		total, err := s.UsageTotal(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if total != int64(len(rows)) || f.usage.Pending() != 0 {
			t.Fatalf("total %d pending %d, want %d and 0", total, f.usage.Pending(), len(rows))
		}
	})
}

// TestUsageDamagedRecentIPs: a list of recent addresses that does not decode
// is replaced by the next flush instead of failing every flush after it.
func TestUsageDamagedRecentIPs(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newVerifyFixture(t, s, nil, models.VerifierOptions{})
		tok, plain := f.token("personal", nil)
		if err := s.DB().Exec("UPDATE tokens SET recent_ips = 'not json' WHERE id = ?", tok.ID).Error; err != nil {
			t.Fatal(err)
		}
		f.expect(plain, models.VerifyRequest{IP: verifyIP("192.0.2.9")}, models.CodeOK)
		if err := f.usage.Flush(context.Background()); err != nil {
			t.Fatalf("flush: %v", err)
		}
		var recent string
		if err := s.DB().Raw("SELECT recent_ips FROM tokens WHERE id = ?", tok.ID).Scan(&recent).Error; err != nil {
			t.Fatal(err)
		}
		if recent != `["192.0.2.9"]` {
			t.Fatalf("recent_ips = %q", recent)
		}
	})
}

// bulkTokens inserts n bare tokens into the fixture's workspace directly,
// past the policy's caps, for tests about many tokens at once.
func bulkTokens(t *testing.T, s *models.Store, f *verifyFixture, n int) []models.Token {
	t.Helper()
	now := f.now()
	rows := make([]models.Token, n)
	for i := range rows {
		id, _ := models.NewTokenID()
		rows[i] = models.Token{PublicID: id, WorkspaceID: f.ws.ID, Type: "personal", Prefix: "pat", Name: "bulk",
			SecretHash: "x", Last4: "xxxx", Scopes: []string{}, ExposedAttributes: []string{}, RecentIPs: []string{},
			CreatedAt: now, UpdatedAt: now}
	}
	if err := s.DB().CreateInBatches(&rows, 200).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}
