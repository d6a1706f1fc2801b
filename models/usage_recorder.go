package models

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// UsageFlushInterval is how often the usage recorder writes its counts.
const UsageFlushInterval = 2 * time.Second

// MaxEndpointLength bounds an endpoint name in the usage counters, since
// resource servers supply it.
const MaxEndpointLength = 100

// UsageRecorder collects verification counts in memory and writes them in
// batches, so the verify path never waits for the database. Counts that fail
// to write are kept for the next flush. It is safe for concurrent use.
//
// Every verified request records a call, often of the same few tokens, so the
// counters are atomics found under a read lock: concurrent requests share the
// lock instead of queueing for it. A flush takes the write lock only to swap
// the maps, which also guarantees no increment lands in a map already taken.
type UsageRecorder struct {
	store  *Store
	log    *slog.Logger
	shards [usageShards]usageShard
	day    atomic.Pointer[usageDay]
	// writing counts the calls a flush has taken but not yet written.
	writing atomic.Int64

	flushMu sync.Mutex
}

const usageShards = 16

type usageShard struct {
	mu     sync.RWMutex
	counts map[UsageKey]*atomic.Int64
	seen   map[int64]*seenCell
}

// seenCell is a token's last use before it is written. Addresses stay
// netip.Addr so the verify path does not format them.
type seenCell struct {
	at   atomic.Int64               // unix nanoseconds of the latest use
	last atomic.Pointer[netip.Addr] // the newest address, compared without locking
	mu   sync.Mutex
	ips  []netip.Addr // distinct, most recent last, at most RecentIPLimit; under mu
}

type usageDay struct {
	num  int64
	name string
}

// NewUsageRecorder returns a recorder that writes to s; log may be nil.
func NewUsageRecorder(s *Store, log *slog.Logger) *UsageRecorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &UsageRecorder{store: s, log: log}
	for i := range r.shards {
		r.shards[i].counts = map[UsageKey]*atomic.Int64{}
		r.shards[i].seen = map[int64]*seenCell{}
	}
	return r
}

// Record counts one call of a token at an endpoint with an outcome ("ok" or an
// error code). used marks a successful call, which also updates the token's
// last use and its recent source addresses; ip may be the zero Addr.
func (r *UsageRecorder) Record(tokenID int64, endpoint, outcome string, ip netip.Addr, at time.Time, used bool) {
	if len(endpoint) > MaxEndpointLength {
		endpoint = endpoint[:MaxEndpointLength]
	}
	if endpoint == "" {
		endpoint = "-"
	}
	k := UsageKey{TokenID: tokenID, Day: r.dayOf(at), Endpoint: endpoint, Outcome: outcome}
	sh := &r.shards[uint64(tokenID)%usageShards] // #nosec G115 -- ids are positive; only the spread across shards matters
	sh.mu.RLock()
	c := sh.counts[k]
	var cell *seenCell
	if used {
		cell = sh.seen[tokenID]
	}
	if c != nil && (!used || cell != nil) {
		// The work is done under the read lock, so a flush cannot swap the
		// maps between finding the counter and adding to it.
		c.Add(1)
		if used {
			cell.note(ip, at)
		}
		sh.mu.RUnlock()
		return
	}
	sh.mu.RUnlock()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c = sh.counts[k]; c == nil {
		c = new(atomic.Int64)
		sh.counts[k] = c
	}
	c.Add(1)
	if used {
		if cell = sh.seen[tokenID]; cell == nil {
			cell = new(seenCell)
			sh.seen[tokenID] = cell
		}
		cell.note(ip, at)
	}
}

// note records a use at at from ip.
func (c *seenCell) note(ip netip.Addr, at time.Time) {
	for n := at.UnixNano(); ; {
		old := c.at.Load()
		if n <= old || c.at.CompareAndSwap(old, n) {
			break
		}
	}
	if ip = ip.Unmap(); !ip.IsValid() {
		return
	}
	if last := c.last.Load(); last != nil && *last == ip {
		return // the common case: the same client again
	}
	newest := ip // only this copy escapes, and only when the address changed
	c.mu.Lock()
	c.ips = appendRecentIP(c.ips, newest)
	c.last.Store(&newest)
	c.mu.Unlock()
}

// dayOf formats at's UTC day, reusing the last string while the day is the
// same, since nearly every call falls on today.
func (r *UsageRecorder) dayOf(at time.Time) string {
	n := at.Unix()
	if n < 0 {
		return at.UTC().Format(time.DateOnly)
	}
	n /= 86400
	if d := r.day.Load(); d != nil && d.num == n {
		return d.name
	}
	d := &usageDay{num: n, name: at.UTC().Format(time.DateOnly)}
	r.day.Store(d)
	return d.name
}

// appendRecentIP moves ip to the end of the list of distinct addresses,
// keeping at most RecentIPLimit.
func appendRecentIP(ips []netip.Addr, ip netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, RecentIPLimit+1)
	for _, v := range ips {
		if v != ip {
			out = append(out, v)
		}
	}
	out = append(out, ip)
	if len(out) > RecentIPLimit {
		out = out[len(out)-RecentIPLimit:]
	}
	return out
}

// Pending returns the number of calls counted but not yet written, including
// those a flush is writing now.
func (r *UsageRecorder) Pending() int64 {
	n := r.writing.Load()
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for _, c := range sh.counts {
			n += c.Load()
		}
		sh.mu.RUnlock()
	}
	return n
}

// usageChunkTokens bounds the tokens one transaction writes, so that a flush
// after a burst over many tokens does not hold row locks for long.
const usageChunkTokens = 500

// seenFacts is a token's last use as a flush holds it.
type seenFacts struct {
	at  time.Time
	ips []netip.Addr
}

// Flush writes everything counted so far, a chunk of tokens per transaction.
// On failure the unwritten counts are put back for the next flush, and the
// store's error is returned.
func (r *UsageRecorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	counts := map[UsageKey]int64{}
	seen := map[int64]seenFacts{}
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		var oldCounts map[UsageKey]*atomic.Int64
		var oldSeen map[int64]*seenCell
		if len(sh.counts) > 0 || len(sh.seen) > 0 {
			oldCounts, oldSeen = sh.counts, sh.seen
			sh.counts, sh.seen = make(map[UsageKey]*atomic.Int64, len(oldCounts)), make(map[int64]*seenCell, len(oldSeen))
		}
		sh.mu.Unlock()
		// No Record can reach the old maps now: it holds the lock while adding.
		for k, c := range oldCounts {
			counts[k] = c.Load()
			r.writing.Add(c.Load())
		}
		for id, cell := range oldSeen {
			cell.mu.Lock()
			seen[id] = seenFacts{at: time.Unix(0, cell.at.Load()).UTC(), ips: cell.ips}
			cell.mu.Unlock()
		}
	}
	if len(counts) == 0 && len(seen) == 0 {
		return nil
	}

	byToken := make(map[int64][]UsageKey, len(seen))
	for k := range counts {
		byToken[k.TokenID] = append(byToken[k.TokenID], k)
	}
	for id := range seen {
		if _, ok := byToken[id]; !ok {
			byToken[id] = nil
		}
	}
	ids := slices.Sorted(maps.Keys(byToken))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), usageChunkTokens)]
		ids = ids[len(chunk):]
		c := make(map[UsageKey]int64)
		facts := make(map[int64]TokenSeen)
		var written int64
		for _, id := range chunk {
			for _, k := range byToken[id] {
				c[k] = counts[k]
				written += counts[k]
			}
			if sn, ok := seen[id]; ok {
				ips := make([]string, len(sn.ips))
				for i, ip := range sn.ips {
					ips[i] = ip.String()
				}
				facts[id] = TokenSeen{At: sn.at, IPs: ips}
			}
		}
		if err := r.store.RecordUsage(ctx, c, facts); err != nil {
			r.putBack(counts, seen, byToken, append(chunk, ids...))
			return err
		}
		r.writing.Add(-written)
	}
	return nil
}

// putBack returns the counts and facts of the unwritten tokens to the maps
// the next flush will write.
func (r *UsageRecorder) putBack(counts map[UsageKey]int64, seen map[int64]seenFacts, byToken map[int64][]UsageKey, ids []int64) {
	for _, id := range ids {
		sh := &r.shards[uint64(id)%usageShards] // #nosec G115 -- ids are positive; only the spread across shards matters
		sh.mu.Lock()
		for _, k := range byToken[id] {
			c := sh.counts[k]
			if c == nil {
				c = new(atomic.Int64)
				sh.counts[k] = c
			}
			c.Add(counts[k])
			r.writing.Add(-counts[k])
		}
		if old, ok := seen[id]; ok {
			cell := sh.seen[id]
			if cell == nil {
				cell = new(seenCell)
				sh.seen[id] = cell
			}
			// The newer facts win; the older addresses go first.
			cell.mu.Lock()
			ips := old.ips
			for _, ip := range cell.ips {
				ips = appendRecentIP(ips, ip)
			}
			cell.ips = ips
			if len(ips) > 0 {
				last := ips[len(ips)-1]
				cell.last.Store(&last)
			}
			cell.mu.Unlock()
			for n := old.at.UnixNano(); ; {
				cur := cell.at.Load()
				if n <= cur || cell.at.CompareAndSwap(cur, n) {
					break
				}
			}
		}
		sh.mu.Unlock()
	}
}

// Run flushes every interval until ctx ends, logging failures. It does not
// flush at the end: call Stop once requests have stopped, so counts made just
// before shutdown are written too.
func (r *UsageRecorder) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("usage flush failed; will retry", "err", err, "pending", r.Pending())
			}
		}
	}
}

// Stop writes whatever is left; call it after the server has stopped taking
// requests.
func (r *UsageRecorder) Stop(ctx context.Context) error {
	err := r.Flush(ctx)
	if err != nil {
		r.log.Error("final usage flush failed; counts lost", "err", err, "pending", r.Pending())
	}
	return err
}
