package models

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Rate limits come in two counters per request: a daily quota that resets at
// midnight UTC and a per-minute burst enforced with GCRA (a token bucket that
// refills smoothly, so a burst cannot be repeated at every minute boundary).
// Each counter has a key saying whose requests it counts: the workspace, the
// workspace's tokens of one type, or a single token with its own override.

// Rate-limit windows, as RateLimit.Window reports them.
const (
	WindowDay    = "day"
	WindowMinute = "minute"
)

// RateQuota is what one request is counted against. A zero limit means no
// limit for that window, and its key is ignored.
type RateQuota struct {
	DayKey    string
	Daily     int
	MinuteKey string
	PerMinute int
}

// Unlimited reports whether neither window has a limit.
func (q RateQuota) Unlimited() bool { return q.Daily <= 0 && q.PerMinute <= 0 }

// RateLimit is the state of a quota after a request, as the X-RateLimit-*
// headers report it. It describes the daily window when there is a daily
// limit, otherwise the minute window; a refused request describes the window
// that refused it. Limit 0 means unlimited.
type RateLimit struct {
	Limit     int       `json:"limit"`
	Remaining int       `json:"remaining"`
	Reset     time.Time `json:"reset"`
	Window    string    `json:"window,omitempty"`
}

// Unlimited reports whether no limit applies.
func (r RateLimit) Unlimited() bool { return r.Limit <= 0 }

// RetryAfter is how long a refused caller should wait, at least one second.
func (r RateLimit) RetryAfter(now time.Time) time.Duration {
	d := r.Reset.Sub(now)
	if d < time.Second {
		return time.Second
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// RateLimiter counts requests against quotas. Take consumes one request from
// every counter of the quota, or from none when any of them is exhausted, so a
// request refused by the minute burst does not use up the day's quota.
// Implementations are safe for concurrent use.
type RateLimiter interface {
	// Take counts one request; allowed is false when a counter is exhausted,
	// and the returned RateLimit then describes that counter.
	Take(ctx context.Context, q RateQuota, now time.Time) (rl RateLimit, allowed bool, err error)
	// Peek reports the state without counting anything.
	Peek(ctx context.Context, q RateQuota, now time.Time) (RateLimit, error)
}

// NextMidnightUTC returns the start of the UTC day after now's. UTC days
// have no leap seconds in Unix time, so this is arithmetic, cheap enough for
// every verified request.
func NextMidnightUTC(now time.Time) time.Time {
	const day = 24 * 60 * 60
	sec := now.Unix()
	d := sec / day
	if sec%day < 0 {
		d-- // before 1970: division truncates towards zero
	}
	return time.Unix((d+1)*day, 0).UTC()
}

// unlimitedRate is what an unlimited quota reports.
func unlimitedRate(now time.Time) RateLimit {
	return RateLimit{Reset: NextMidnightUTC(now)}
}

// gcra holds the arithmetic of the minute burst: limit requests per minute,
// all of which may come at once. tat is the theoretical arrival time of the
// next request; the bucket is full when tat <= now.
type gcra struct {
	limit int
}

func (g gcra) interval() time.Duration { return time.Minute / time.Duration(g.limit) }

// take returns the new tat, the remaining requests and whether it is allowed.
func (g gcra) take(tat, now time.Time) (newTAT time.Time, rl RateLimit, ok bool) {
	t := g.interval()
	if tat.Before(now) {
		tat = now
	}
	newTAT = tat.Add(t)
	allowAt := newTAT.Add(-time.Duration(g.limit) * t)
	if now.Before(allowAt) {
		return tat, RateLimit{Limit: g.limit, Remaining: 0, Reset: allowAt, Window: WindowMinute}, false
	}
	remaining := int(now.Sub(allowAt) / t)
	return newTAT, RateLimit{Limit: g.limit, Remaining: remaining, Reset: newTAT, Window: WindowMinute}, true
}

// peek reports how many requests are available without taking one.
func (g gcra) peek(tat, now time.Time) RateLimit {
	if tat.Before(now) {
		tat = now
	}
	free := int(now.Sub(tat.Add(-time.Duration(g.limit)*g.interval())) / g.interval())
	rl := RateLimit{Limit: g.limit, Remaining: min(free, g.limit), Reset: tat, Window: WindowMinute}
	if rl.Remaining == 0 {
		rl.Reset = tat.Add(-time.Duration(g.limit-1) * g.interval())
	}
	return rl
}

// pick chooses which window the headers describe when both allowed the
// request: the daily quota when there is one.
func pick(day, minute *RateLimit, now time.Time) RateLimit {
	switch {
	case day != nil:
		return *day
	case minute != nil:
		return *minute
	}
	return unlimitedRate(now)
}

// MemoryLimiter keeps counters in this process: right for a single instance,
// and the fallback when Redis cannot be reached.
type MemoryLimiter struct {
	mu    sync.Mutex
	days  map[string]dayCount
	tats  map[string]time.Time
	ops   int
	today string
}

type dayCount struct {
	day string
	n   int
}

// NewMemoryLimiter returns an empty in-process limiter.
func NewMemoryLimiter() *MemoryLimiter {
	return &MemoryLimiter{days: map[string]dayCount{}, tats: map[string]time.Time{}}
}

// Take implements RateLimiter. It never returns an error.
func (m *MemoryLimiter) Take(_ context.Context, q RateQuota, now time.Time) (RateLimit, bool, error) {
	if q.Unlimited() {
		return unlimitedRate(now), true, nil
	}
	day := now.UTC().Format(time.DateOnly)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(now, day)
	var dayRL, minRL *RateLimit
	var dc dayCount
	if q.Daily > 0 {
		dc = m.days[q.DayKey]
		if dc.day != day {
			dc = dayCount{day: day}
		}
		if dc.n >= q.Daily {
			return RateLimit{Limit: q.Daily, Remaining: 0, Reset: NextMidnightUTC(now), Window: WindowDay}, false, nil
		}
	}
	var newTAT time.Time
	if q.PerMinute > 0 {
		var rl RateLimit
		var ok bool
		newTAT, rl, ok = gcra{q.PerMinute}.take(m.tats[q.MinuteKey], now)
		if !ok {
			return rl, false, nil
		}
		m.tats[q.MinuteKey] = newTAT
		minRL = &rl
	}
	if q.Daily > 0 {
		dc.n++
		m.days[q.DayKey] = dc
		dayRL = &RateLimit{Limit: q.Daily, Remaining: q.Daily - dc.n, Reset: NextMidnightUTC(now), Window: WindowDay}
	}
	return pick(dayRL, minRL, now), true, nil
}

// Peek implements RateLimiter. It never returns an error.
func (m *MemoryLimiter) Peek(_ context.Context, q RateQuota, now time.Time) (RateLimit, error) {
	if q.Unlimited() {
		return unlimitedRate(now), nil
	}
	day := now.UTC().Format(time.DateOnly)
	m.mu.Lock()
	defer m.mu.Unlock()
	var dayRL, minRL *RateLimit
	if q.PerMinute > 0 {
		rl := gcra{q.PerMinute}.peek(m.tats[q.MinuteKey], now)
		minRL = &rl
	}
	if q.Daily > 0 {
		used := 0
		if dc := m.days[q.DayKey]; dc.day == day {
			used = dc.n
		}
		dayRL = &RateLimit{Limit: q.Daily, Remaining: max(q.Daily-used, 0), Reset: NextMidnightUTC(now), Window: WindowDay}
		if dayRL.Remaining == 0 {
			return *dayRL, nil
		}
	}
	if minRL != nil && minRL.Remaining == 0 {
		return *minRL, nil
	}
	return pick(dayRL, minRL, now), nil
}

// prune drops counters of past days and full buckets now and then, so keys of
// idle tokens do not pile up. The caller holds m.mu.
func (m *MemoryLimiter) prune(now time.Time, day string) {
	m.ops++
	if m.ops%4096 != 0 && day == m.today {
		return
	}
	m.today = day
	for k, dc := range m.days {
		if dc.day != day {
			delete(m.days, k)
		}
	}
	for k, tat := range m.tats {
		if !tat.After(now) {
			delete(m.tats, k)
		}
	}
}

// RedisLimiter shares counters between instances through Redis: the minute
// burst with redis_rate's GCRA script, the daily quota as an INCR counter per
// key and day that expires after midnight UTC. When Redis fails it falls back
// to a per-instance MemoryLimiter rather than refusing every request, leaves
// Redis alone for redisRetryAfter so requests do not each wait for a timeout,
// and logs the failure at most once a minute.
type RedisLimiter struct {
	rdb      *redis.Client
	gcra     *redis_rate.Limiter
	prefix   string
	fallback *MemoryLimiter
	log      *slog.Logger

	mu        sync.Mutex
	lastWarn  time.Time
	downUntil atomic.Int64 // unix nanoseconds; Redis is skipped until then
}

// redisRetryAfter is how long the limiter counts locally after Redis failed.
const redisRetryAfter = 5 * time.Second

// down reports whether Redis failed recently; it reads the wall clock because
// it is about the network, not about the quotas' time.
func (r *RedisLimiter) down() bool { return time.Now().UnixNano() < r.downUntil.Load() }

// NewRedisLimiter connects to the redis:// or rediss:// URL. prefix starts every
// key (default "keyward:rl:"). It returns an error only for a URL it cannot
// parse; reachability is checked by Ping.
func NewRedisLimiter(url, prefix string, log *slog.Logger) (*RedisLimiter, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: unable to parse redis URL: %w", err)
	}
	// The limiter sits on the verify path: fail fast and fall back rather than
	// retry while requests wait.
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 500*time.Millisecond, 250*time.Millisecond, 250*time.Millisecond
	opt.MaxRetries = -1
	rdb := redis.NewClient(opt)
	if prefix == "" {
		prefix = "keyward:rl:"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisLimiter{rdb: rdb, gcra: redis_rate.NewLimiter(rdb), prefix: prefix, fallback: NewMemoryLimiter(), log: log}, nil
}

// Ping checks that Redis answers.
func (r *RedisLimiter) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis unreachable: %w", err)
	}
	return nil
}

// Close releases the Redis connections.
func (r *RedisLimiter) Close() error { return r.rdb.Close() }

func (r *RedisLimiter) dayKey(key string, now time.Time) string {
	return r.prefix + "d:" + key + ":" + now.UTC().Format(time.DateOnly)
}

func (r *RedisLimiter) minuteKey(key string) string { return r.prefix + "m:" + key }

func (r *RedisLimiter) degraded(ctx context.Context, err error, now time.Time) {
	if ctx.Err() != nil {
		return // the caller gave up; Redis may be fine
	}
	r.downUntil.Store(time.Now().Add(redisRetryAfter).UnixNano())
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.lastWarn) >= time.Minute {
		r.lastWarn = now
		r.log.Warn("rate limiter: redis failed; counting in this instance only", "err", err)
	}
}

// Take implements RateLimiter. The day counter is incremented first and given
// back if the minute burst refuses, so a refused request leaves both counters
// as they were; two round trips, and none for an unlimited quota.
func (r *RedisLimiter) Take(ctx context.Context, q RateQuota, now time.Time) (RateLimit, bool, error) {
	if q.Unlimited() {
		return unlimitedRate(now), true, nil
	}
	if r.down() {
		return r.fallback.Take(ctx, q, now)
	}
	rl, ok, err := r.take(ctx, q, now)
	if err != nil {
		r.degraded(ctx, err, now)
		return r.fallback.Take(ctx, q, now)
	}
	return rl, ok, nil
}

func (r *RedisLimiter) take(ctx context.Context, q RateQuota, now time.Time) (RateLimit, bool, error) {
	var dayRL, minRL *RateLimit
	dk := r.dayKey(q.DayKey, now)
	giveBack := func() {
		if q.Daily > 0 {
			// Best effort: a failure here leaves the count one too high.
			r.rdb.Decr(context.WithoutCancel(ctx), dk)
		}
	}
	if q.Daily > 0 {
		reset := NextMidnightUTC(now)
		pipe := r.rdb.TxPipeline()
		incr := pipe.Incr(ctx, dk)
		pipe.ExpireAt(ctx, dk, reset.Add(time.Hour))
		if _, err := pipe.Exec(ctx); err != nil {
			return RateLimit{}, false, err
		}
		n := int(incr.Val())
		if n > q.Daily {
			giveBack()
			return RateLimit{Limit: q.Daily, Remaining: 0, Reset: reset, Window: WindowDay}, false, nil
		}
		dayRL = &RateLimit{Limit: q.Daily, Remaining: q.Daily - n, Reset: reset, Window: WindowDay}
	}
	if q.PerMinute > 0 {
		res, err := r.gcra.Allow(ctx, r.minuteKey(q.MinuteKey), redis_rate.PerMinute(q.PerMinute))
		if err != nil {
			giveBack()
			return RateLimit{}, false, err
		}
		if res.Allowed == 0 {
			giveBack()
			return RateLimit{Limit: q.PerMinute, Remaining: 0, Reset: now.Add(res.RetryAfter), Window: WindowMinute}, false, nil
		}
		minRL = &RateLimit{Limit: q.PerMinute, Remaining: res.Remaining, Reset: now.Add(res.ResetAfter), Window: WindowMinute}
	}
	return pick(dayRL, minRL, now), true, nil
}

// Peek implements RateLimiter.
func (r *RedisLimiter) Peek(ctx context.Context, q RateQuota, now time.Time) (RateLimit, error) {
	if q.Unlimited() {
		return unlimitedRate(now), nil
	}
	if r.down() {
		return r.fallback.Peek(ctx, q, now)
	}
	rl, err := r.peek(ctx, q, now)
	if err != nil {
		r.degraded(ctx, err, now)
		return r.fallback.Peek(ctx, q, now)
	}
	return rl, nil
}

func (r *RedisLimiter) peek(ctx context.Context, q RateQuota, now time.Time) (RateLimit, error) {
	var dayRL, minRL *RateLimit
	if q.Daily > 0 {
		v, err := r.rdb.Get(ctx, r.dayKey(q.DayKey, now)).Result()
		if err != nil && err != redis.Nil {
			return RateLimit{}, err
		}
		used, _ := strconv.Atoi(v)
		dayRL = &RateLimit{Limit: q.Daily, Remaining: max(q.Daily-used, 0), Reset: NextMidnightUTC(now), Window: WindowDay}
		if dayRL.Remaining == 0 {
			return *dayRL, nil
		}
	}
	if q.PerMinute > 0 {
		// A cost of zero reads the bucket without taking from it.
		res, err := r.gcra.AllowN(ctx, r.minuteKey(q.MinuteKey), redis_rate.PerMinute(q.PerMinute), 0)
		if err != nil {
			return RateLimit{}, err
		}
		minRL = &RateLimit{Limit: q.PerMinute, Remaining: min(res.Remaining, q.PerMinute), Reset: now.Add(res.ResetAfter), Window: WindowMinute}
		if minRL.Remaining == 0 {
			// Empty: report when the next request fits rather than when it is full.
			interval := time.Minute / time.Duration(q.PerMinute)
			minRL.Reset = minRL.Reset.Add(-time.Duration(q.PerMinute-1) * interval)
			return *minRL, nil
		}
	}
	return pick(dayRL, minRL, now), nil
}
