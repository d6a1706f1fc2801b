package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
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
		if s.dialect == DialectPostgres {
			return recordUsagePostgres(ctx, tx.Statement.ConnPool, rows, ids, seen)
		}
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
		var current []lastUse
		if len(ids) > 0 {
			cur, err := tx.Raw("SELECT id, recent_ips, last_used_at FROM tokens WHERE id IN ? ORDER BY id", ids).Rows()
			if err != nil {
				return fmt.Errorf("store: unable to load last use: %w", err)
			}
			if current, err = readLastUses(cur, seen); err != nil {
				return err
			}
		}
		for _, u := range current {
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
	})
}

// readLastUses merges a flush's facts into the stored last use of each token
// that rows (id, recent_ips, last_used_at) returns, and closes rows. A damaged
// list of recent addresses is replaced rather than failing every flush.
func readLastUses(rows *sql.Rows, seen map[int64]TokenSeen) ([]lastUse, error) {
	defer func() { _ = rows.Close() }()
	var uses []lastUse
	for rows.Next() {
		var id int64
		var recent string
		var last sql.NullTime
		if err := rows.Scan(&id, &recent, &last); err != nil {
			return nil, fmt.Errorf("store: unable to load last use: %w", err)
		}
		var old []string
		_ = json.Unmarshal([]byte(recent), &old)
		uses = append(uses, newLastUse(id, old, nullTime(last), seen[id]))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to load last use: %w", err)
	}
	return uses, nil
}

// recordUsagePostgres writes a flush in three statements whatever its size.
// The values travel as arrays that PostgreSQL unnests, rather than as one
// placeholder per value: a statement with thousands of placeholders costs
// more to build, send, parse and plan than the rows cost to write, and
// verifying many distinct tokens makes large flushes. conn is the
// transaction; pgx encodes Go slices as PostgreSQL arrays.
//
// The read locks the tokens' rows in id order, so two instances flushing the
// same tokens neither deadlock nor overwrite each other's recent addresses.
// The lock is FOR NO KEY UPDATE, which the counters' foreign-key checks (a
// key-share lock on the same rows) do not conflict with; FOR UPDATE would.
// Being raw, these statements bypass GORM's callbacks and logger.
func recordUsagePostgres(ctx context.Context, conn gorm.ConnPool, rows []UsageCounter, ids []int64, seen map[int64]TokenSeen) error {
	if len(rows) > 0 {
		tokenIDs, days, endpoints, outcomes, counts := make([]int64, len(rows)), make([]string, len(rows)),
			make([]string, len(rows)), make([]string, len(rows)), make([]int64, len(rows))
		for i, r := range rows {
			tokenIDs[i], days[i], endpoints[i], outcomes[i], counts[i] = r.TokenID, r.Day, r.Endpoint, r.Outcome, r.Count
		}
		_, err := conn.ExecContext(ctx, `INSERT INTO usage_counters (token_id, day, endpoint, outcome, count)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])
			ON CONFLICT (token_id, day, endpoint, outcome) DO UPDATE SET count = usage_counters.count + excluded.count`,
			tokenIDs, days, endpoints, outcomes, counts)
		if err != nil {
			return fmt.Errorf("store: unable to record usage: %w", err)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// A token deleted meanwhile is not found, and so skipped.
	cur, err := conn.QueryContext(ctx, `SELECT id, recent_ips, last_used_at FROM tokens
		WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`, ids)
	if err != nil {
		return fmt.Errorf("store: unable to load last use: %w", err)
	}
	uses, err := readLastUses(cur, seen)
	if err != nil {
		return err
	}
	if len(uses) == 0 {
		return nil
	}
	n := len(uses)
	tokenIDs, ips, ats, lastIPs, advances := make([]int64, n), make([]string, n), make([]time.Time, n), make([]string, n), make([]bool, n)
	for i, u := range uses {
		tokenIDs[i], ips[i], ats[i], lastIPs[i], advances[i] = u.id, u.ips, u.at, u.ip, u.advance
	}
	_, err = conn.ExecContext(ctx, `UPDATE tokens AS t SET recent_ips = v.ips,
		last_used_at = CASE WHEN v.advance THEN v.at ELSE t.last_used_at END,
		last_used_ip = CASE WHEN v.advance AND v.ip <> '' THEN v.ip ELSE t.last_used_ip END
		FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::boolean[]) AS v(id, ips, at, ip, advance)
		WHERE t.id = v.id`, tokenIDs, ips, ats, lastIPs, advances)
	if err != nil {
		return fmt.Errorf("store: unable to record last use: %w", err)
	}
	return nil
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
	ips     string // the merged recent addresses, JSON
	at      time.Time
	ip      string
	advance bool // the flush saw a later use than the one stored
}

// newLastUse merges a flush's facts about a token into what is stored.
func newLastUse(id int64, recent []string, lastUsed *time.Time, sn TokenSeen) lastUse {
	u := lastUse{id: id, ips: mustJSON(mergeRecentIPs(recent, sn.IPs)), at: sn.At.UTC()}
	if lastUsed == nil || sn.At.After(*lastUsed) {
		u.advance = true
		if len(sn.IPs) > 0 {
			u.ip = sn.IPs[len(sn.IPs)-1]
		}
	}
	return u
}
