package models_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/redis/go-redis/v9"
)

var rateNow = time.Date(2030, 5, 14, 23, 59, 0, 0, time.UTC)

// testRedisLimiter returns a limiter on the local Redis (or KEYWARD_TEST_REDIS_URL)
// under a key prefix of its own, or skips the test when Redis does not answer.
func testRedisLimiter(t *testing.T) *models.RedisLimiter {
	t.Helper()
	url := os.Getenv("KEYWARD_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "keyward:test:" + hex.EncodeToString(b) + ":"
	l, err := models.NewRedisLimiter(url, prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.Ping(ctx); err != nil {
		_ = l.Close()
		t.Skipf("redis unreachable: %v", err)
	}
	t.Cleanup(func() {
		opt, _ := redis.ParseURL(url)
		rdb := redis.NewClient(opt)
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		_ = rdb.Close()
		_ = l.Close()
	})
	return l
}

// eachLimiter runs fn on the in-memory limiter and, when Redis answers, on
// the Redis one.
func eachLimiter(t *testing.T, fn func(t *testing.T, l models.RateLimiter)) {
	t.Run("memory", func(t *testing.T) { fn(t, models.NewMemoryLimiter()) })
	t.Run("redis", func(t *testing.T) { fn(t, testRedisLimiter(t)) })
}

func take(t *testing.T, l models.RateLimiter, q models.RateQuota, now time.Time) (models.RateLimit, bool) {
	t.Helper()
	rl, ok, err := l.Take(context.Background(), q, now)
	if err != nil {
		t.Fatal(err)
	}
	return rl, ok
}

func peek(t *testing.T, l models.RateLimiter, q models.RateQuota, now time.Time) models.RateLimit {
	t.Helper()
	rl, err := l.Peek(context.Background(), q, now)
	if err != nil {
		t.Fatal(err)
	}
	return rl
}

func TestRateLimitDaily(t *testing.T) {
	eachLimiter(t, func(t *testing.T, l models.RateLimiter) {
		q := models.RateQuota{DayKey: "w:1", Daily: 3}
		for i := 1; i <= 3; i++ {
			rl, ok := take(t, l, q, rateNow)
			if !ok || rl.Limit != 3 || rl.Remaining != 3-i || rl.Window != models.WindowDay {
				t.Fatalf("call %d: ok=%v %+v", i, ok, rl)
			}
		}
		rl, ok := take(t, l, q, rateNow)
		midnight := time.Date(2030, 5, 15, 0, 0, 0, 0, time.UTC)
		if ok || rl.Remaining != 0 || !rl.Reset.Equal(midnight) {
			t.Fatalf("4th call: ok=%v %+v, want refused until %s", ok, rl, midnight)
		}
		if got := rl.RetryAfter(rateNow); got != time.Minute {
			t.Errorf("RetryAfter = %s, want 1m", got)
		}
		if p := peek(t, l, q, rateNow); p.Remaining != 0 {
			t.Errorf("peek after exhaustion: %+v", p)
		}
		// Another key is counted apart.
		if _, ok := take(t, l, models.RateQuota{DayKey: "w:2", Daily: 3}, rateNow); !ok {
			t.Error("another workspace was refused")
		}
		// A new UTC day starts a new count.
		if rl, ok := take(t, l, q, midnight); !ok || rl.Remaining != 2 {
			t.Errorf("after midnight: ok=%v %+v", ok, rl)
		}
	})
}

func TestRateLimitMinuteBurst(t *testing.T) {
	l := models.NewMemoryLimiter()
	q := models.RateQuota{MinuteKey: "w:1", PerMinute: 2}
	for i := 1; i <= 2; i++ {
		if rl, ok := take(t, l, q, rateNow); !ok || rl.Remaining != 2-i || rl.Window != models.WindowMinute {
			t.Fatalf("call %d: ok=%v %+v", i, ok, rl)
		}
	}
	rl, ok := take(t, l, q, rateNow)
	if ok || !rl.Reset.Equal(rateNow.Add(30*time.Second)) {
		t.Fatalf("3rd call: ok=%v %+v, want refused for 30s", ok, rl)
	}
	if p := peek(t, l, q, rateNow); p.Remaining != 0 || !p.Reset.Equal(rl.Reset) {
		t.Errorf("peek = %+v, want 0 remaining until %s", p, rl.Reset)
	}
	if _, ok := take(t, l, q, rateNow.Add(29*time.Second)); ok {
		t.Error("allowed before the bucket refilled one request")
	}
	if _, ok := take(t, l, q, rateNow.Add(30*time.Second)); !ok {
		t.Error("refused after the bucket refilled one request")
	}
	// The burst cannot be repeated right after a minute boundary: GCRA
	// refills smoothly.
	if rl, ok := take(t, l, q, rateNow.Add(60*time.Second)); !ok || rl.Remaining != 0 {
		t.Errorf("at +60s: ok=%v %+v, want one allowed and none left", ok, rl)
	}
}

func TestRateLimitMinuteBurstRedis(t *testing.T) {
	l := testRedisLimiter(t)
	q := models.RateQuota{MinuteKey: "w:1", PerMinute: 3}
	for i := 1; i <= 3; i++ {
		if rl, ok := take(t, l, q, time.Now()); !ok || rl.Remaining != 3-i {
			t.Fatalf("call %d: ok=%v %+v", i, ok, rl)
		}
	}
	now := time.Now()
	rl, ok := take(t, l, q, now)
	if ok || rl.Remaining != 0 || rl.Reset.Before(now) || rl.Reset.After(now.Add(21*time.Second)) {
		t.Fatalf("4th call: ok=%v %+v, want refused for at most 20s", ok, rl)
	}
	if p := peek(t, l, q, time.Now()); p.Remaining != 0 {
		t.Errorf("peek = %+v", p)
	}
}

// TestRateLimitRefusalConsumesNothing: a request refused by one counter leaves
// the other as it was.
func TestRateLimitRefusalConsumesNothing(t *testing.T) {
	eachLimiter(t, func(t *testing.T, l models.RateLimiter) {
		t.Run("minute refuses, day untouched", func(t *testing.T) {
			q := models.RateQuota{DayKey: "a", Daily: 10, MinuteKey: "a", PerMinute: 2}
			take(t, l, q, rateNow)
			take(t, l, q, rateNow)
			for range 5 {
				if rl, ok := take(t, l, q, rateNow); ok || rl.Window != models.WindowMinute {
					t.Fatalf("want a minute refusal, got ok=%v %+v", ok, rl)
				}
			}
			dayOnly := models.RateQuota{DayKey: "a", Daily: 10}
			if rl := peek(t, l, dayOnly, rateNow); rl.Remaining != 8 {
				t.Fatalf("day remaining = %d after 2 allowed and 5 refused, want 8", rl.Remaining)
			}
		})
		t.Run("day refuses, minute untouched", func(t *testing.T) {
			q := models.RateQuota{DayKey: "b", Daily: 2, MinuteKey: "b", PerMinute: 10}
			take(t, l, q, rateNow)
			take(t, l, q, rateNow)
			for range 5 {
				if rl, ok := take(t, l, q, rateNow); ok || rl.Window != models.WindowDay {
					t.Fatalf("want a day refusal, got ok=%v %+v", ok, rl)
				}
			}
			minuteOnly := models.RateQuota{MinuteKey: "b", PerMinute: 10}
			if rl := peek(t, l, minuteOnly, rateNow); rl.Remaining < 8 {
				t.Fatalf("minute remaining = %d after 2 allowed and 5 refused, want 8", rl.Remaining)
			}
		})
	})
}

func TestRateLimitUnlimited(t *testing.T) {
	eachLimiter(t, func(t *testing.T, l models.RateLimiter) {
		for range 100 {
			rl, ok := take(t, l, models.RateQuota{}, rateNow)
			if !ok || !rl.Unlimited() || !rl.Reset.Equal(models.NextMidnightUTC(rateNow)) {
				t.Fatalf("unlimited: ok=%v %+v", ok, rl)
			}
		}
	})
}

// TestRedisLimiterFallsBack: with Redis gone, limits are still enforced by
// the instance alone.
func TestRedisLimiterFallsBack(t *testing.T) {
	l, err := models.NewRedisLimiter("redis://127.0.0.1:1/0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	q := models.RateQuota{DayKey: "x", Daily: 1}
	if _, ok := take(t, l, q, rateNow); !ok {
		t.Fatal("first call refused")
	}
	if _, ok := take(t, l, q, rateNow); ok {
		t.Fatal("second call allowed: the fallback is not counting")
	}
}

func rateLimitPolicy(t *testing.T) *models.Policy {
	t.Helper()
	p := models.DefaultPolicy()
	p.Plans["standard"] = models.Plan{Name: "standard", Daily: 3, PerMinute: 100}
	for i := range p.Types {
		if p.Types[i].Name == "service" {
			p.Types[i].RateLimit = models.Plan{Daily: 5}
		}
	}
	return p
}

func TestVerifyRateLimits(t *testing.T) {
	eachLimiter(t, func(t *testing.T, l models.RateLimiter) {
		s := models.OpenTestSQLite(t)
		f := newVerifyFixture(t, s, rateLimitPolicy(t), models.VerifierOptions{Limiter: l})
		_, a := f.token("personal", nil)
		_, b := f.token("personal", nil)
		_, own := f.token("personal", func(in *models.TokenInput) { in.RateDaily = 1 })
		_, svc := f.token("service", nil)
		now := f.now()

		t.Run("plan quota is shared by the workspace", func(t *testing.T) {
			f.expect(a, models.VerifyRequest{}, models.CodeOK)
			f.expect(b, models.VerifyRequest{}, models.CodeOK)
			res := f.expect(a, models.VerifyRequest{}, models.CodeOK)
			if res.RateLimit.Limit != 3 || res.RateLimit.Remaining != 0 {
				t.Fatalf("rate limit %+v", res.RateLimit)
			}
			res = f.expect(b, models.VerifyRequest{}, models.CodeRateLimited)
			if res.Status != 429 || !strings.Contains(res.Message, "Resets at "+models.NextMidnightUTC(now).Format(time.RFC3339)) {
				t.Fatalf("refusal %d %q", res.Status, res.Message)
			}
			if res.Token == nil || res.RateLimit == nil || res.RateLimit.Remaining != 0 {
				t.Fatalf("refusal carries %+v %+v", res.Token, res.RateLimit)
			}
		})
		t.Run("refused checks do not count", func(t *testing.T) {
			res := f.expect(a, models.VerifyRequest{Scope: "write"}, models.CodeInsufficientPermissions)
			if res.RateLimit == nil || res.RateLimit.Remaining != 0 || res.RateLimit.Limit != 3 {
				t.Fatalf("refusal reports %+v", res.RateLimit)
			}
		})
		t.Run("token override has its own counter", func(t *testing.T) {
			res := f.expect(own, models.VerifyRequest{}, models.CodeOK)
			if res.RateLimit.Limit != 1 {
				t.Fatalf("limit %d, want the token's 1", res.RateLimit.Limit)
			}
			f.expect(own, models.VerifyRequest{}, models.CodeRateLimited)
		})
		t.Run("type override has its own counter", func(t *testing.T) {
			for range 5 {
				f.expect(svc, models.VerifyRequest{}, models.CodeOK)
			}
			f.expect(svc, models.VerifyRequest{}, models.CodeRateLimited)
		})
		t.Run("skip counts nothing but reports", func(t *testing.T) {
			res := f.expect(svc, models.VerifyRequest{SkipRateLimit: true}, models.CodeOK)
			if res.RateLimit.Remaining != 0 || res.RateLimit.Limit != 5 {
				t.Fatalf("rate limit %+v", res.RateLimit)
			}
		})
	})
}

// peekCounter counts the quota readings a verifier makes.
type peekCounter struct {
	models.RateLimiter
	peeks atomic.Int64
}

func (c *peekCounter) Peek(ctx context.Context, q models.RateQuota, now time.Time) (models.RateLimit, error) {
	c.peeks.Add(1)
	return c.RateLimiter.Peek(ctx, q, now)
}

// TestVerifyUncountedReadsQuotaOncePerSecond: a service's own token, checked
// on every verify call without being counted, reads its quota (two Redis round
// trips) at most once a second; the reading it reports is that old at most.
func TestVerifyUncountedReadsQuotaOncePerSecond(t *testing.T) {
	s := models.OpenTestSQLite(t)
	l := &peekCounter{RateLimiter: models.NewMemoryLimiter()}
	f := newVerifyFixture(t, s, rateLimitPolicy(t), models.VerifierOptions{Limiter: l, CacheTTL: time.Hour})
	_, svc := f.token("service", nil)
	uncounted := models.VerifyRequest{SkipRateLimit: true}
	for range 50 {
		if res := f.expect(svc, uncounted, models.CodeOK); res.RateLimit.Remaining != 5 {
			t.Fatalf("remaining %d, want 5", res.RateLimit.Remaining)
		}
	}
	if n := l.peeks.Load(); n != 1 {
		t.Fatalf("50 uncounted calls in one second read the quota %d times, want 1", n)
	}
	f.expect(svc, models.VerifyRequest{}, models.CodeOK) // counted
	f.advance(time.Second)
	if res := f.expect(svc, uncounted, models.CodeOK); res.RateLimit.Remaining != 4 || l.peeks.Load() != 2 {
		t.Fatalf("a second later: remaining %d after %d readings, want 4 after 2", res.RateLimit.Remaining, l.peeks.Load())
	}
	// Refusals read afresh.
	f.expect(svc, models.VerifyRequest{SkipRateLimit: true, Scope: "write"}, models.CodeInsufficientPermissions)
	if n := l.peeks.Load(); n != 3 {
		t.Fatalf("a refusal did not read the quota (%d readings)", n)
	}
}
