package models

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Verification outcome codes, the "code" of every API error and of the verify
// endpoint's answer (DESIGN §4).
const (
	CodeOK                      = "ok"
	CodeMissingAuth             = "missing_auth"
	CodeInvalidKey              = "invalid_key"
	CodeRevokedKey              = "revoked_key"
	CodeExpiredKey              = "expired_key"
	CodeIPNotAllowed            = "ip_not_allowed"
	CodeWrongKeyType            = "wrong_key_type"
	CodeInsufficientPermissions = "insufficient_permissions"
	CodeRateLimited             = "rate_limited"
	CodeUnavailable             = "unavailable"
)

// CodeStatus returns the HTTP status that goes with a verification code, and
// 500 for a code it does not know.
func CodeStatus(code string) int {
	switch code {
	case CodeOK:
		return http.StatusOK
	case CodeMissingAuth, CodeInvalidKey, CodeRevokedKey, CodeExpiredKey:
		return http.StatusUnauthorized
	case CodeIPNotAllowed, CodeWrongKeyType, CodeInsufficientPermissions:
		return http.StatusForbidden
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ParseAuthorization returns the token of an "Authorization: Bearer <token>"
// header value. ok is false when there is no token to check: an empty header,
// another scheme, or "Bearer" alone. The scheme is matched case-insensitively,
// as RFC 9110 asks. The token is not checked here; Verify does that.
func ParseAuthorization(header string) (token string, ok bool) {
	const scheme = "bearer "
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	token = strings.TrimSpace(header[len(scheme):])
	return token, token != ""
}

// VerifyRequest says what a presented token is being used for.
type VerifyRequest struct {
	// IP is the client's address; the zero Addr means unknown, which no IP
	// allowlist admits.
	IP netip.Addr
	// Scope is the permission the request needs; empty checks none, unless
	// Method is set and the policy names a scope for it.
	Scope string
	// Method is the HTTP method of the guarded request, used to pick the
	// policy's method scope when Scope is empty.
	Method string
	// Audience names the API the token is presented to; empty accepts every
	// key type.
	Audience string
	// Endpoint names the call in the usage statistics, such as "GET /notes".
	Endpoint string
	// Memo, when set, remembers the token once its secret matched, for the
	// next call that presents it through the same memo (see TokenMemo).
	Memo *TokenMemo
	// SkipRateLimit checks the token without counting the call against its
	// quota (the rate limit is still reported, from a reading at most
	// uncountedPeekTTL old): the verify endpoint uses it for the calling
	// service's own token, whose calls are already counted against the tokens
	// it verifies.
	SkipRateLimit bool
}

// WorkspaceRef names the workspace a token belongs to.
type WorkspaceRef struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
}

// TokenInfo is what a verified token may tell the API it was presented to. It
// is shared between results and must not be modified.
type TokenInfo struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	Type             string       `json:"type"`
	Scopes           []string     `json:"scopes"`
	Attributes       []string     `json:"attributes"`
	LinkingAttribute string       `json:"linking_attribute"`
	Workspace        WorkspaceRef `json:"workspace"`
	ExpiresAt        *time.Time   `json:"expires_at"`

	// raw is the JSON encoding, made once when the token is cached: every
	// verify answer carries it.
	raw []byte
}

// tokenInfoJSON has TokenInfo's fields without its MarshalJSON method.
type tokenInfoJSON TokenInfo

// MarshalJSON returns the encoding prepared when the token was cached, or
// encodes the fields.
func (t *TokenInfo) MarshalJSON() ([]byte, error) {
	if t.raw != nil {
		return t.raw, nil
	}
	return json.Marshal((*tokenInfoJSON)(t))
}

// VerifyResult is the answer about a presented token. Valid is true only with
// Code CodeOK. Token is set once the secret matched, even when a later check
// refused the request; RateLimit likewise, so refusals carry rate-limit headers.
// Token and RateLimit may be shared with other results and must not be
// modified.
type VerifyResult struct {
	Valid   bool
	Code    string
	Status  int
	Message string
	// ExpiredAt is set with CodeExpiredKey.
	ExpiredAt *time.Time
	// MissingScope is set with CodeInsufficientPermissions.
	MissingScope string
	// RetryAfter is set with CodeRateLimited: how long to wait, whole seconds.
	RetryAfter time.Duration
	Token      *TokenInfo
	// TokenID is the token's row id, for usage and audit; 0 when unknown.
	TokenID   int64
	RateLimit *RateLimit
}

func failed(code, msg string) VerifyResult {
	return VerifyResult{Code: code, Status: CodeStatus(code), Message: msg}
}

// Verification defaults.
const (
	// DefaultVerifyCacheTTL is how long a cached token is trusted before it is
	// read again. Revocation on this instance drops the entry at once, and on
	// others through LISTEN/NOTIFY, so the TTL only bounds how stale an entry
	// can get when a notification is lost.
	DefaultVerifyCacheTTL = 5 * time.Second
	// DefaultVerifyCacheSize bounds the number of cached token ids.
	DefaultVerifyCacheSize = 100_000
)

// VerifierOptions configure a Verifier. Zero values pick the defaults.
type VerifierOptions struct {
	// Limiter counts requests; nil means a new MemoryLimiter.
	Limiter RateLimiter
	// Usage receives one count per authenticated call; nil records nothing.
	Usage *UsageRecorder
	// CacheTTL is DefaultVerifyCacheTTL when zero; negative turns the cache off.
	CacheTTL time.Duration
	// CacheSize is DefaultVerifyCacheSize when zero.
	CacheSize int
	// Logger receives store failures; nil discards them.
	Logger *slog.Logger
}

// Verifier answers every question about a presented token (DESIGN §4). It
// keeps a bounded cache of tokens by public id and is safe for concurrent use.
type Verifier struct {
	store   *Store
	policy  *Policy
	limiter RateLimiter
	usage   *UsageRecorder
	ttl     time.Duration
	log     *slog.Logger

	shards     []verifyShard
	shardMax   int
	workspaces wsCache

	hits, misses, remembered atomic.Uint64
	lastErrLog               atomic.Int64
	unlimitedRL              atomic.Pointer[RateLimit]
}

// VerifyCacheStats counts cache lookups since the Verifier was made.
// Remembered counts the hits answered through a TokenMemo, which are counted
// in Hits too.
type VerifyCacheStats struct {
	Hits, Misses, Remembered uint64
	Entries                  int
}

const verifyShards = 64

// NewVerifier returns a Verifier reading tokens from s under policy p, and
// registers it with s so that a revoke, reset or edit through s drops the
// token's cache entry at once.
func NewVerifier(s *Store, p *Policy, o VerifierOptions) *Verifier {
	v := &Verifier{store: s, policy: p, limiter: o.Limiter, usage: o.Usage, ttl: o.CacheTTL, log: o.Logger}
	if v.limiter == nil {
		v.limiter = NewMemoryLimiter()
	}
	if v.ttl == 0 {
		v.ttl = DefaultVerifyCacheTTL
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	size := o.CacheSize
	if size <= 0 {
		size = DefaultVerifyCacheSize
	}
	v.shards = make([]verifyShard, verifyShards)
	for i := range v.shards {
		v.shards[i].m = map[string]*verifyEntry{}
		v.shards[i].inflight = map[string]*verifyFill{}
	}
	v.shardMax = max(size/verifyShards, 1)
	v.workspaces.m = map[int64]wsEntry{}
	s.OnTokenChange(v.Invalidate)
	return v
}

// Invalidate drops the cache entry of a token, so its next use reads the
// database. Revocation hooks and the LISTEN/NOTIFY listener call it.
func (v *Verifier) Invalidate(publicID string) {
	sh := v.shard(publicID)
	sh.mu.Lock()
	delete(sh.m, publicID)
	sh.gen++
	sh.mu.Unlock()
}

// InvalidateAll empties the cache, for when notifications may have been
// missed (the listener reconnected).
func (v *Verifier) InvalidateAll() {
	for i := range v.shards {
		sh := &v.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.gen++
		sh.mu.Unlock()
	}
	v.workspaces.mu.Lock()
	clear(v.workspaces.m)
	v.workspaces.mu.Unlock()
}

// CacheStats reports cache hits, misses and the number of entries.
func (v *Verifier) CacheStats() VerifyCacheStats {
	st := VerifyCacheStats{Hits: v.hits.Load(), Misses: v.misses.Load(), Remembered: v.remembered.Load()}
	for i := range v.shards {
		sh := &v.shards[i]
		sh.mu.RLock()
		st.Entries += len(sh.m)
		sh.mu.RUnlock()
	}
	return st
}

// Verify checks a presented token for a request, in the order of DESIGN §4:
// format and checksum (no database work for a malformed token), cache, database,
// constant-time hash comparison (the secret replaced by a reset still counts
// during its grace period), revoked, expired, IP allowlist, audience, scope,
// rate limit; then it records the call for the usage statistics. A token that
// req.Memo remembers goes straight to the checks after the secret. An empty
// token is CodeMissingAuth. A store failure is CodeUnavailable: it fails
// closed and is never valid.
func (v *Verifier) Verify(ctx context.Context, token string, req VerifyRequest) VerifyResult {
	if token == "" {
		return failed(CodeMissingAuth, "Missing or invalid Authorization header: send Authorization: Bearer <token>.")
	}
	now := v.store.now()
	e := v.recall(req.Memo, token, now)
	if e == nil {
		var refused VerifyResult
		if e, refused = v.find(ctx, token, now); e == nil {
			return refused
		}
		v.remember(req.Memo, token, e)
	}
	res := v.check(e, &req, now)
	res.Token, res.TokenID = e.info, e.tokenID
	if e.quota.Unlimited() {
		res.RateLimit = v.unlimited(now)
	} else {
		var err error
		if res, err = v.rateLimit(ctx, e, res, req.SkipRateLimit, now); err != nil {
			v.logStoreError(err, now)
			return failed(CodeUnavailable, "Keyward cannot reach its rate-limit store, so the API key could not be checked. Try again in a moment.")
		}
	}
	res.Valid = res.Code == CodeOK
	res.Status = CodeStatus(res.Code)
	if v.usage != nil {
		v.usage.Record(e.tokenID, req.Endpoint, res.Code, req.IP, now, res.Valid)
	}
	return res
}

// find checks a token's format and checksum, reads its entry and compares the
// secret. It returns the entry of a token whose secret matched, or nil and the
// refusal.
func (v *Verifier) find(ctx context.Context, token string, now time.Time) (*verifyEntry, VerifyResult) {
	parsed, err := ParseToken(token)
	switch {
	case errors.Is(err, ErrTokenChecksum):
		return nil, failed(CodeInvalidKey, "Invalid API key: its checksum does not match, so it was probably mistyped or cut short.")
	case err != nil:
		return nil, failed(CodeInvalidKey, "Invalid API key: it is not in the form prefix_id_secret.")
	}
	e, err := v.entry(ctx, parsed.ID, now)
	if err != nil {
		v.logStoreError(err, now)
		return nil, failed(CodeUnavailable, "Keyward cannot reach its database, so the API key could not be checked. Try again in a moment.")
	}
	if e.missing || !e.secretMatches(token, now) {
		return nil, failed(CodeInvalidKey, "Invalid API key.")
	}
	return e, VerifyResult{}
}

// A TokenMemo remembers the last token whose secret matched on one client
// connection. A resource server presents the same service token on every call
// over a kept-alive connection; with a memo, Verify compares it with the token
// remembered, in constant time, instead of parsing and hashing it again.
//
// The memo only ever points at the verify cache's own entry, and is used while
// that entry is still the cached one for the token's id and still fresh. A
// revoke, reset or edit drops the entry, on this instance at once and on
// others through LISTEN/NOTIFY, so it takes effect through the memo as it does
// through the cache. Every check after the secret (revoked, expired, IP,
// audience, scope, rate limit) runs on each call. A token still accepted
// through the grace period of a reset is not remembered.
//
// The zero TokenMemo is empty and ready; it is safe for concurrent use.
type TokenMemo struct {
	last atomic.Pointer[rememberedToken]
}

type rememberedToken struct {
	token string
	e     *verifyEntry
}

// recall returns the cached entry of token if the memo holds it and the cache
// still does.
func (v *Verifier) recall(m *TokenMemo, token string, now time.Time) *verifyEntry {
	if m == nil {
		return nil
	}
	r := m.last.Load()
	if r == nil || !equalConstantTime(r.token, token) || !v.fresh(r.e, now) {
		return nil
	}
	id := r.e.info.ID
	sh := v.shard(id)
	sh.mu.RLock()
	cached := sh.m[id] == r.e
	sh.mu.RUnlock()
	if !cached {
		return nil
	}
	v.hits.Add(1)
	v.remembered.Add(1)
	return r.e
}

// remember puts a token whose secret matched in the memo. An entry read past
// the cache (cache off, or a fill that lost to a revoke) is never recalled,
// since recall asks the cache. A token accepted in the grace period of a reset
// is not remembered: the grace period ends by the clock, not with the entry.
func (v *Verifier) remember(m *TokenMemo, token string, e *verifyEntry) {
	if m != nil && v.ttl >= 0 && e.prevUntil.IsZero() {
		m.last.Store(&rememberedToken{token: token, e: e})
	}
}

// equalConstantTime compares two strings in time that depends only on their
// lengths, which a token's format fixes. It is subtle.ConstantTimeCompare's
// loop on strings, which would otherwise be copied to byte slices (tokens are
// too long for the compiler to keep those copies on the stack).
func equalConstantTime(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := 0; i < len(a); i++ {
		d |= a[i] ^ b[i]
	}
	return d == 0
}

// rateLimit counts an accepted call against the token's quota, or only reads
// the quota for a refused or uncounted one.
func (v *Verifier) rateLimit(ctx context.Context, e *verifyEntry, res VerifyResult, skip bool, now time.Time) (VerifyResult, error) {
	var rl RateLimit
	var err error
	switch {
	case res.Code == CodeOK && !skip:
		var allowed bool
		rl, allowed, err = v.limiter.Take(ctx, e.quota, now)
		if err == nil && !allowed {
			res = VerifyResult{Code: CodeRateLimited, Token: e.info, TokenID: e.tokenID, Message: rateLimitedMessage(rl), RetryAfter: rl.RetryAfter(now)}
		}
	case res.Code == CodeOK:
		// An uncounted call only reports the quota. A service calls the
		// verify endpoint once per request it serves, and with Redis each
		// read is two round trips, so a recent reading is reused.
		if p := e.peeked.Load(); p != nil && now.Sub(p.at) >= 0 && now.Sub(p.at) < uncountedPeekTTL {
			res.RateLimit = &p.rl
			return res, nil
		}
		if rl, err = v.limiter.Peek(ctx, e.quota, now); err == nil {
			e.peeked.Store(&peekedRate{rl: rl, at: now})
		}
	default:
		rl, err = v.limiter.Peek(ctx, e.quota, now)
	}
	res.RateLimit = &rl
	return res, err
}

// uncountedPeekTTL is how long an uncounted call's reading of its quota is
// reused: the rate-limit headers of such calls may be this much out of date.
const uncountedPeekTTL = time.Second

// peekedRate is a quota as read for an uncounted call.
type peekedRate struct {
	rl RateLimit
	at time.Time
}

// check runs the checks after the secret matched and returns CodeOK or the
// first refusal.
func (v *Verifier) check(e *verifyEntry, req *VerifyRequest, now time.Time) VerifyResult {
	switch {
	case e.revokedAt != nil:
		return VerifyResult{Code: CodeRevokedKey, Message: "This API key has been revoked."}
	case e.expiresAt != nil && !now.Before(*e.expiresAt):
		at := *e.expiresAt
		return VerifyResult{Code: CodeExpiredKey, ExpiredAt: &at, Message: "This API key expired at " + at.UTC().Format(time.RFC3339) + "."}
	case !e.allow.Contains(req.IP):
		from := "an unknown address"
		if req.IP.IsValid() {
			from = req.IP.Unmap().String()
		}
		return VerifyResult{Code: CodeIPNotAllowed, Message: "This API key may not be used from " + from + "."}
	case e.ttype == nil:
		return VerifyResult{Code: CodeWrongKeyType, Message: fmt.Sprintf("Keys of type %q are no longer accepted.", e.info.Type)}
	case !e.ttype.AcceptsAudience(req.Audience):
		return VerifyResult{Code: CodeWrongKeyType, Message: fmt.Sprintf("This API does not accept %s keys.", e.ttype.Label)}
	}
	scope := req.Scope
	if scope == "" && req.Method != "" {
		scope = v.policy.MethodScope(req.Method)
	}
	// An invalid name could still match a wildcard ("notes::x" and "notes:*"),
	// so it is refused outright.
	if scope != "" && (!ValidScopeName(scope) || !v.policy.Scopes.Allows(e.info.Scopes, scope)) {
		return VerifyResult{Code: CodeInsufficientPermissions, MissingScope: scope, Message: "Missing required permission: " + scope}
	}
	return VerifyResult{Code: CodeOK}
}

// unlimited returns the rate limit of an unlimited quota, the same for the
// whole UTC day, so most verifications share one value instead of each
// allocating its own.
func (v *Verifier) unlimited(now time.Time) *RateLimit {
	if rl := v.unlimitedRL.Load(); rl != nil && now.Before(rl.Reset) && !now.Before(rl.Reset.Add(-24*time.Hour)) {
		return rl
	}
	rl := unlimitedRate(now)
	v.unlimitedRL.Store(&rl)
	return &rl
}

func rateLimitedMessage(rl RateLimit) string {
	per := "per " + rl.Window
	return fmt.Sprintf("Rate limit exceeded: %d requests %s. Resets at %s.", rl.Limit, per, rl.Reset.UTC().Format(time.RFC3339))
}

func (v *Verifier) logStoreError(err error, now time.Time) {
	if errors.Is(err, context.Canceled) {
		return // the caller went away; the store is fine
	}
	// One line per ten seconds is enough to see an outage without flooding
	// the log with one line per refused request.
	last := v.lastErrLog.Load()
	if now.Unix()-last < 10 || !v.lastErrLog.CompareAndSwap(last, now.Unix()) {
		return
	}
	v.log.Error("verify: store failed; refusing tokens", "err", err)
}

// verifyEntry is one cached token, prepared so that checking a request does
// not parse or allocate: hashes decoded, allowlist parsed, type and quota
// resolved. A missing entry remembers an unknown id.
type verifyEntry struct {
	filled    time.Time
	missing   bool
	tokenID   int64
	hash      [sha256.Size]byte
	prevHash  [sha256.Size]byte
	prevUntil time.Time // zero: no previous secret
	revokedAt *time.Time
	expiresAt *time.Time
	allow     IPAllowlist
	ttype     *TokenType
	quota     RateQuota
	info      *TokenInfo
	// peeked is the quota's latest reading for an uncounted call.
	peeked atomic.Pointer[peekedRate]
}

// secretMatches compares the token's SHA-256 with the stored one in constant
// time, and with the secret a reset replaced while its grace period lasts.
func (e *verifyEntry) secretMatches(token string, now time.Time) bool {
	var buf [MaxTokenLength]byte
	sum := sha256.Sum256(buf[:copy(buf[:], token)])
	ok := subtle.ConstantTimeCompare(sum[:], e.hash[:]) == 1
	if !e.prevUntil.IsZero() && now.Before(e.prevUntil) {
		ok = subtle.ConstantTimeCompare(sum[:], e.prevHash[:]) == 1 || ok
	}
	return ok
}

type verifyShard struct {
	mu       sync.RWMutex
	m        map[string]*verifyEntry
	inflight map[string]*verifyFill
	// gen changes on every invalidation, so a fill that read the database
	// before a revoke does not put the old row back after it.
	gen uint64
	// sinceSweep counts fills since stale entries were last dropped.
	sinceSweep int
}

type verifyFill struct {
	done chan struct{}
	e    *verifyEntry
	err  error
}

func (v *Verifier) shard(id string) *verifyShard {
	// FNV-1a; ids are random, so any mixing will do.
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return &v.shards[h%verifyShards]
}

func (v *Verifier) fresh(e *verifyEntry, now time.Time) bool {
	return e != nil && now.Sub(e.filled) < v.ttl
}

// entry returns the cached entry for id or reads it, making concurrent misses
// of one id share a single query.
func (v *Verifier) entry(ctx context.Context, id string, now time.Time) (*verifyEntry, error) {
	if v.ttl < 0 {
		v.misses.Add(1)
		return v.fetch(ctx, id, now)
	}
	sh := v.shard(id)
	sh.mu.RLock()
	e := sh.m[id]
	sh.mu.RUnlock()
	if v.fresh(e, now) {
		v.hits.Add(1)
		return e, nil
	}
	v.misses.Add(1)
	sh.mu.Lock()
	if e := sh.m[id]; v.fresh(e, now) {
		sh.mu.Unlock()
		return e, nil
	}
	if f := sh.inflight[id]; f != nil {
		sh.mu.Unlock()
		select {
		case <-f.done:
			return f.e, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &verifyFill{done: make(chan struct{})}
	sh.inflight[id] = f
	gen := sh.gen
	sh.mu.Unlock()

	// The query must not die with the first caller's request: others wait on it.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	f.e, f.err = v.fetch(fctx, id, now)
	cancel()

	sh.mu.Lock()
	delete(sh.inflight, id)
	if f.err == nil && sh.gen == gen {
		// Stale entries would be read again anyway; dropping them now and then
		// keeps the heap, and so the garbage collector's work, in proportion
		// to the tokens in use rather than to every token ever seen.
		if sh.sinceSweep++; sh.sinceSweep >= max(len(sh.m)/2, 16) || len(sh.m) >= v.shardMax {
			sh.sinceSweep = 0
			for k, e := range sh.m {
				if !v.fresh(e, now) {
					delete(sh.m, k)
				}
			}
		}
		if len(sh.m) >= v.shardMax {
			evict(sh.m, v.shardMax)
		}
		sh.m[id] = f.e
	}
	sh.mu.Unlock()
	close(f.done)
	return f.e, f.err
}

// evict frees an eighth of a full shard. Go's map iteration starts at a random
// place, which makes this random eviction: no bookkeeping on the hit path.
func evict(m map[string]*verifyEntry, max int) {
	n := max/8 + 1
	for k := range m {
		delete(m, k)
		if n--; n == 0 {
			return
		}
	}
}

// fetch reads a token and its workspace and prepares the cache entry.
func (v *Verifier) fetch(ctx context.Context, id string, now time.Time) (*verifyEntry, error) {
	t, err := v.store.TokenForVerify(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return &verifyEntry{filled: now, missing: true}, nil
	}
	if err != nil {
		return nil, err
	}
	ws, err := v.workspace(ctx, t.WorkspaceID, now)
	if err != nil {
		return nil, err
	}
	tt, _ := v.policy.Type(t.Type)
	e := &verifyEntry{
		filled: now, tokenID: t.ID, revokedAt: t.RevokedAt, expiresAt: t.ExpiresAt,
		allow: t.Allowlist(), ttype: tt, quota: v.quota(t, ws, tt),
		info: &TokenInfo{
			ID: t.PublicID, Name: t.Name, Type: t.Type, Scopes: orEmpty(t.Scopes),
			Attributes: orEmpty(t.ExposedAttributes), LinkingAttribute: t.LinkingAttribute,
			Workspace: WorkspaceRef{ID: ws.id, Slug: ws.slug}, ExpiresAt: t.ExpiresAt,
		},
	}
	if raw, err := json.Marshal((*tokenInfoJSON)(e.info)); err == nil {
		e.info.raw = raw
	}
	// A hash that does not decode stays all zeros, which no token hashes to.
	_, _ = hex.Decode(e.hash[:], []byte(t.SecretHash))
	if t.PreviousHash != "" && t.PreviousValidUntil != nil {
		if _, err := hex.Decode(e.prevHash[:], []byte(t.PreviousHash)); err == nil {
			e.prevUntil = *t.PreviousValidUntil
		}
	}
	return e, nil
}

// quota resolves which counters a token's calls go to, field by field: the
// token's own override, else the type's override (counted per workspace and
// type), else the workspace's plan (counted per workspace).
func (v *Verifier) quota(t *Token, ws wsEntry, tt *TokenType) RateQuota {
	lim := v.policy.RateLimit(ws.plan, tt)
	wk := "w:" + strconv.FormatInt(ws.id, 10)
	q := RateQuota{DayKey: wk, Daily: lim.Daily, MinuteKey: wk, PerMinute: lim.PerMinute}
	if tt != nil && tt.RateLimit.Daily > 0 {
		q.DayKey = wk + ":" + tt.Name
	}
	if tt != nil && tt.RateLimit.PerMinute > 0 {
		q.MinuteKey = wk + ":" + tt.Name
	}
	if t.RateDaily > 0 {
		q.DayKey, q.Daily = "t:"+t.PublicID, t.RateDaily
	}
	if t.RatePerMinute > 0 {
		q.MinuteKey, q.PerMinute = "t:"+t.PublicID, t.RatePerMinute
	}
	return q
}

// wsCache keeps the little the verifier needs of each workspace.
type wsCache struct {
	mu sync.RWMutex
	m  map[int64]wsEntry
}

type wsEntry struct {
	id     int64
	slug   string
	plan   string
	filled time.Time
}

const maxCachedWorkspaces = 10_000

// workspace returns the workspace's slug and plan. They are cached even when
// the token cache is off: they change rarely and do not affect whether a
// token is accepted, only how it is counted.
func (v *Verifier) workspace(ctx context.Context, id int64, now time.Time) (wsEntry, error) {
	ttl := v.ttl
	if ttl <= 0 {
		ttl = DefaultVerifyCacheTTL
	}
	v.workspaces.mu.RLock()
	w, ok := v.workspaces.m[id]
	v.workspaces.mu.RUnlock()
	if ok && now.Sub(w.filled) < ttl {
		return w, nil
	}
	ws, err := v.store.WorkspaceByID(ctx, id)
	if err != nil {
		return wsEntry{}, err
	}
	w = wsEntry{id: ws.ID, slug: ws.Slug, plan: ws.Plan, filled: now}
	v.workspaces.mu.Lock()
	if len(v.workspaces.m) >= maxCachedWorkspaces {
		clear(v.workspaces.m)
	}
	v.workspaces.m[id] = w
	v.workspaces.mu.Unlock()
	return w, nil
}

// verifyQuery reads the token columns verification needs; the rest of the row
// (description, usage facts) is not needed to answer.
const verifyQuery = `SELECT id, public_id, workspace_id, type, prefix, name, secret_hash, scopes,
	ip_allowlist, exposed_attributes, linking_attribute, rate_daily, rate_per_minute,
	expires_at, previous_hash, previous_valid_until, revoked_at
	FROM tokens WHERE public_id = ?`

// TokenForVerify loads the token with a public id, whatever its workspace: the
// token itself proves which workspace it belongs to. It returns ErrNotFound
// for an unknown id.
//
// Every cache miss runs it, so it scans the row by hand: GORM's reflective
// scan into a model cost as much as the query's round trip.
func (s *Store) TokenForVerify(ctx context.Context, publicID string) (*Token, error) {
	var t Token
	var scopes, attrs string
	var expires, prevUntil, revoked sql.NullTime
	err := s.db.WithContext(ctx).Raw(verifyQuery, publicID).Row().Scan(
		&t.ID, &t.PublicID, &t.WorkspaceID, &t.Type, &t.Prefix, &t.Name, &t.SecretHash, &scopes,
		&t.IPAllowlist, &attrs, &t.LinkingAttribute, &t.RateDaily, &t.RatePerMinute,
		&expires, &t.PreviousHash, &prevUntil, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: unable to load token for verification: %w", err)
	}
	// An empty column is an empty list, as GORM's serializer reads it.
	if err := unmarshalList(scopes, &t.Scopes); err != nil {
		return nil, fmt.Errorf("store: token %s has unreadable scopes: %w", publicID, err)
	}
	if err := unmarshalList(attrs, &t.ExposedAttributes); err != nil {
		return nil, fmt.Errorf("store: token %s has unreadable attributes: %w", publicID, err)
	}
	t.ExpiresAt, t.PreviousValidUntil, t.RevokedAt = nullTime(expires), nullTime(prevUntil), nullTime(revoked)
	return &t, nil
}

// unmarshalList decodes a JSON list column; an empty one is no list.
func unmarshalList(col string, out *[]string) error {
	if col == "" {
		*out = nil
		return nil
	}
	return json.Unmarshal([]byte(col), out)
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}
