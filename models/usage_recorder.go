package models

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
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
type UsageRecorder struct {
	store *Store
	log   *slog.Logger

	mu     sync.Mutex
	counts map[UsageKey]int64
	seen   map[int64]seenState
	dayNum int64
	day    string

	flushMu sync.Mutex
}

// NewUsageRecorder returns a recorder that writes to s; log may be nil.
func NewUsageRecorder(s *Store, log *slog.Logger) *UsageRecorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &UsageRecorder{store: s, log: log, counts: map[UsageKey]int64{}, seen: map[int64]seenState{}}
}

// seenState is TokenSeen before it is written: addresses stay netip.Addr so
// that the verify path does not format them.
type seenState struct {
	at  time.Time
	ips []netip.Addr // distinct, most recent last, at most RecentIPLimit
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
	r.mu.Lock()
	defer r.mu.Unlock()
	k := UsageKey{TokenID: tokenID, Day: r.dayOf(at), Endpoint: endpoint, Outcome: outcome}
	r.counts[k]++
	if !used {
		return
	}
	sn := r.seen[tokenID]
	if at.After(sn.at) {
		sn.at = at
	}
	if ip = ip.Unmap(); ip.IsValid() && (len(sn.ips) == 0 || sn.ips[len(sn.ips)-1] != ip) {
		sn.ips = appendRecentIP(sn.ips, ip)
	}
	r.seen[tokenID] = sn
}

// dayOf formats at's UTC day, reusing the last string while the day is the
// same, since nearly every call falls on today. The caller holds r.mu.
func (r *UsageRecorder) dayOf(at time.Time) string {
	n := at.Unix()
	if n < 0 {
		return at.UTC().Format(time.DateOnly)
	}
	n /= 86400
	if n != r.dayNum || r.day == "" {
		r.dayNum, r.day = n, at.UTC().Format(time.DateOnly)
	}
	return r.day
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

// Pending returns the number of calls counted but not yet written.
func (r *UsageRecorder) Pending() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, c := range r.counts {
		n += c
	}
	return n
}

// Flush writes everything counted so far. On failure the counts are put back
// to be written by the next flush, and the store's error is returned.
func (r *UsageRecorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	counts, seen := r.counts, r.seen
	if len(counts) == 0 && len(seen) == 0 {
		r.mu.Unlock()
		return nil
	}
	r.counts, r.seen = make(map[UsageKey]int64, len(counts)), make(map[int64]seenState, len(seen))
	r.mu.Unlock()
	facts := make(map[int64]TokenSeen, len(seen))
	for id, sn := range seen {
		ips := make([]string, len(sn.ips))
		for i, ip := range sn.ips {
			ips[i] = ip.String()
		}
		facts[id] = TokenSeen{At: sn.at, IPs: ips}
	}
	err := r.store.RecordUsage(ctx, counts, facts)
	if err == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range counts {
		r.counts[k] += n
	}
	for id, old := range seen {
		cur, ok := r.seen[id]
		if !ok {
			r.seen[id] = old
			continue
		}
		// The newer facts win; the older addresses go first.
		ips := old.ips
		for _, ip := range cur.ips {
			ips = appendRecentIP(ips, ip)
		}
		cur.ips = ips
		if old.at.After(cur.at) {
			cur.at = old.at
		}
		r.seen[id] = cur
	}
	return err
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
