package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// This file serves the module's tests: every package's tests open real
// databases through it, so it lives outside _test.go files.

// EachTestStore opens a fresh SQLite file and, when KEYWARD_TEST_POSTGRES_URL
// is set, a fresh PostgreSQL schema, and runs fn as a subtest on each.
func EachTestStore(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, OpenTestSQLite(t)) })
	if os.Getenv("KEYWARD_TEST_POSTGRES_URL") != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, OpenTestPostgres(t)) })
	}
}

// OpenTestSQLite opens a migrated store on a new SQLite file in t.TempDir.
func OpenTestSQLite(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "keyward.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	s.PasswordCost = 4
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// OpenTestPostgres opens a migrated store in a new schema of the database
// named by KEYWARD_TEST_POSTGRES_URL, dropped when the test ends.
func OpenTestPostgres(t testing.TB) *Store {
	t.Helper()
	base := os.Getenv("KEYWARD_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("KEYWARD_TEST_POSTGRES_URL is not set")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := Open(context.Background(), u.String())
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	s.PasswordCost = 4
	t.Cleanup(func() {
		_ = s.Close()
		_ = admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error
		if db, err := admin.DB(); err == nil {
			_ = db.Close()
		}
	})
	return s
}
