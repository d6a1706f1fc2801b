package models

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// UsageCounter counts one token's calls on one UTC day to one endpoint with
// one outcome ("ok" or an error code).
type UsageCounter struct {
	TokenID  int64  `gorm:"primaryKey;autoIncrement:false"`
	Day      string `gorm:"primaryKey"`
	Endpoint string `gorm:"primaryKey"`
	Outcome  string `gorm:"primaryKey"`
	Count    int64
}

// UsageKey identifies one counter.
type UsageKey struct {
	TokenID  int64
	Day      string
	Endpoint string
	Outcome  string
}

// TokenSeen is the latest use of a token within a flush.
type TokenSeen struct {
	At  time.Time
	IPs []string // most recent last, distinct
}

// RecentIPLimit is how many distinct source IPs a token remembers.
const RecentIPLimit = 5

// RecordUsage adds counts and last-used facts in one transaction. It is
// called by the usage recorder's periodic flush, never on the verify path.
func (s *Store) RecordUsage(ctx context.Context, counts map[UsageKey]int64, seen map[int64]TokenSeen) error {
	if len(counts) == 0 && len(seen) == 0 {
		return nil
	}
	rows := make([]UsageCounter, 0, len(counts))
	for k, n := range counts {
		rows = append(rows, UsageCounter{TokenID: k.TokenID, Day: k.Day, Endpoint: k.Endpoint, Outcome: k.Outcome, Count: n})
	}
	// A stable order keeps concurrent flushes from two instances from
	// deadlocking on the same rows.
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.TokenID != b.TokenID {
			return a.TokenID < b.TokenID
		}
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		if a.Endpoint != b.Endpoint {
			return a.Endpoint < b.Endpoint
		}
		return a.Outcome < b.Outcome
	})
	ids := make([]int64, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if len(rows) > 0 {
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "token_id"}, {Name: "day"}, {Name: "endpoint"}, {Name: "outcome"}},
				DoUpdates: clause.Assignments(map[string]any{"count": gorm.Expr("usage_counters.count + excluded.count")}),
			}).CreateInBatches(rows, 200).Error
			if err != nil {
				return fmt.Errorf("store: unable to record usage: %w", err)
			}
		}
		// One read for the whole batch; a token deleted meanwhile is skipped.
		var current []Token
		if len(ids) > 0 {
			if err := tx.Select("id", "recent_ips", "last_used_at").Where("id IN ?", ids).Order("id").Find(&current).Error; err != nil {
				return fmt.Errorf("store: unable to load last use: %w", err)
			}
		}
		return s.writeLastUse(tx, current, seen)
	})
}

// mergeRecentIPs keeps the RecentIPLimit most recent distinct addresses, newest first.
func mergeRecentIPs(old, newest []string) []string {
	out := make([]string, 0, RecentIPLimit)
	for i := len(newest) - 1; i >= 0; i-- {
		if !slices.Contains(out, newest[i]) {
			out = append(out, newest[i])
		}
	}
	for _, ip := range old {
		if len(out) >= RecentIPLimit {
			break
		}
		if !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out[:min(len(out), RecentIPLimit)]
}

// UsageByToken returns the token's counters from since (a UTC day, inclusive).
func (s *Store) UsageByToken(ctx context.Context, tokenID int64, since time.Time) ([]UsageCounter, error) {
	var out []UsageCounter
	err := s.db.WithContext(ctx).Where("token_id = ? AND day >= ?", tokenID, since.UTC().Format(time.DateOnly)).
		Order("day, endpoint, outcome").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: unable to load usage: %w", err)
	}
	return out, nil
}

// UsageTotal sums every counter of a token (used by tests and the load script).
func (s *Store) UsageTotal(ctx context.Context, tokenID int64) (int64, error) {
	var n int64
	q := s.db.WithContext(ctx).Model(&UsageCounter{})
	if tokenID != 0 {
		q = q.Where("token_id = ?", tokenID)
	}
	if err := q.Select("COALESCE(SUM(count), 0)").Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("store: unable to sum usage: %w", err)
	}
	return n, nil
}

// lastUse is the new last-use state of one token.
type lastUse struct {
	id      int64
	ips     string
	at      time.Time
	ip      string
	advance bool // the flush saw a later use than the one stored
}

// writeLastUse stores the merged last-use facts. On PostgreSQL one UPDATE …
// FROM (VALUES …) per 500 tokens replaces a statement per token, which
// dominated the cost of verifying many distinct tokens.
func (s *Store) writeLastUse(tx *gorm.DB, current []Token, seen map[int64]TokenSeen) error {
	rows := make([]lastUse, 0, len(current))
	for _, t := range current {
		sn := seen[t.ID]
		u := lastUse{id: t.ID, ips: mustJSON(mergeRecentIPs(t.RecentIPs, sn.IPs)), at: sn.At.UTC()}
		if t.LastUsedAt == nil || sn.At.After(*t.LastUsedAt) {
			u.advance = true
			if len(sn.IPs) > 0 {
				u.ip = sn.IPs[len(sn.IPs)-1]
			}
		}
		rows = append(rows, u)
	}
	if s.dialect != DialectPostgres {
		for _, u := range rows {
			upd := map[string]any{"recent_ips": u.ips}
			if u.advance {
				upd["last_used_at"] = u.at
				if u.ip != "" {
					upd["last_used_ip"] = u.ip
				}
			}
			if err := tx.Model(&Token{}).Where("id = ?", u.id).Updates(upd).Error; err != nil {
				return fmt.Errorf("store: unable to record last use: %w", err)
			}
		}
		return nil
	}
	for start := 0; start < len(rows); start += 500 {
		chunk := rows[start:min(start+500, len(rows))]
		values := make([]string, 0, len(chunk))
		args := make([]any, 0, 5*len(chunk))
		for _, u := range chunk {
			values = append(values, "(?::bigint, ?::text, ?::timestamptz, ?::text, ?::boolean)")
			args = append(args, u.id, u.ips, u.at, u.ip, u.advance)
		}
		err := tx.Exec(`UPDATE tokens AS t SET recent_ips = v.ips,
			last_used_at = CASE WHEN v.advance THEN v.at ELSE t.last_used_at END,
			last_used_ip = CASE WHEN v.advance AND v.ip <> '' THEN v.ip ELSE t.last_used_ip END
			FROM (VALUES `+strings.Join(values, ", ")+`) AS v(id, ips, at, ip, advance) WHERE t.id = v.id`, args...).Error
		if err != nil {
			return fmt.Errorf("store: unable to record last use: %w", err)
		}
	}
	return nil
}
