package models

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/keyward/keyward/migrations"
	"gorm.io/gorm"
)

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations for a dialect in order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := string(d)
	entries, err := fs.ReadDir(migrations.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: migration %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		body, err := fs.ReadFile(migrations.FS, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: unable to read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies every migration newer than the database's version, each in
// its own transaction. On PostgreSQL an advisory lock keeps instances that
// start together from applying the same file twice.
func (s *Store) Migrate(ctx context.Context) error {
	list, err := Migrations(s.dialect)
	if err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	lock := func(tx *gorm.DB) error {
		if s.dialect == DialectPostgres {
			return tx.Exec(`SELECT pg_advisory_xact_lock(774411)`).Error
		}
		return nil
	}
	// Under the lock too: concurrent CREATE TABLE IF NOT EXISTS on PostgreSQL
	// fails with a duplicate key in pg_type.
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := lock(tx); err != nil {
			return err
		}
		return tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`).Error
	})
	if err != nil {
		return fmt.Errorf("store: unable to create schema_migrations: %w", err)
	}
	for _, m := range list {
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := lock(tx); err != nil {
				return err
			}
			var n int64
			if err := tx.Raw(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitStatements(m.SQL) {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%w\n%s", err, stmt)
				}
			}
			return tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, s.now().Format("2006-01-02T15:04:05Z")).Error
		})
		if err != nil {
			return fmt.Errorf("store: unable to apply migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// SchemaVersion returns the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v).Error
	if err != nil {
		return 0, fmt.Errorf("store: unable to read schema version: %w", err)
	}
	return v, nil
}

// splitStatements cuts a migration into statements at semicolons that end a
// line, dropping comment-only lines; the files keep to that shape.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}
