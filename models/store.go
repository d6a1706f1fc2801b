// Package models holds Keyward's domain: the GORM models, the Store that reads
// and writes them, and the rules that need no web framework (token format,
// scopes, IP allowlists, policy, verification).
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Errors returned by Store methods. Callers compare with errors.Is.
var (
	// ErrNotFound means the row does not exist or is outside the caller's workspace.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique value (email, slug, membership) is already taken.
	ErrConflict = errors.New("already exists")
)

// Dialect names the database engine behind a Store.
type Dialect string

// The supported database engines.
const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
)

// Store reads and writes every Keyward row. It is safe for concurrent use.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	dsn     string
	// Now is the clock; tests replace it to move time.
	Now func() time.Time
	// PasswordCost is the bcrypt cost for new password hashes.
	PasswordCost int
	hooks        []func(publicID string)
}

// PoolSize is the number of PostgreSQL connections a Store keeps open. Open and
// idle are equal so the pool never re-dials under load.
const PoolSize = 8

// ParseDatabaseURL splits a KEYWARD_DATABASE_URL into dialect and driver DSN.
// It accepts sqlite://relative/path.db, sqlite:///abs/path.db and postgres://….
func ParseDatabaseURL(raw string) (Dialect, string, error) {
	switch {
	case raw == "":
		return DialectSQLite, "keyward.db", nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", fmt.Errorf("not a valid postgres URL: %w", err)
		}
		return DialectPostgres, raw, nil
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if path == "" || strings.HasSuffix(path, "/") {
			return "", "", errors.New("sqlite URL needs a file name, e.g. sqlite://keyward.db")
		}
		return DialectSQLite, path, nil
	default:
		return "", "", errors.New("must start with sqlite:// or postgres://")
	}
}

// Open connects to the database named by a KEYWARD_DATABASE_URL value and
// applies pending migrations.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	dialect, dsn, err := ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: database URL %w", err)
	}
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction: true,
		TranslateError:         true,
	}
	var db *gorm.DB
	switch dialect {
	case DialectPostgres:
		db, err = gorm.Open(postgres.Open(dsn), cfg)
	default:
		db, err = gorm.Open(sqlite.Open(sqliteDSN(dsn)), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("store: unable to open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: unable to reach connection pool: %w", err)
	}
	configurePool(sqlDB, dialect)
	s := &Store{db: db, dialect: dialect, dsn: dsn, Now: func() time.Time { return time.Now().UTC() }, PasswordCost: 11}
	if err := s.Migrate(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return s, nil
}

func sqliteDSN(path string) string {
	// WAL lets readers run beside the single writer; busy_timeout waits out
	// brief locks instead of failing; foreign keys are off by default in SQLite.
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
}

func configurePool(db *sql.DB, dialect Dialect) {
	if dialect == DialectSQLite {
		// One connection serialises writers, so concurrent transactions wait
		// their turn rather than fail with SQLITE_BUSY on lock upgrade.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		return
	}
	db.SetMaxOpenConns(PoolSize)
	db.SetMaxIdleConns(PoolSize)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(time.Hour)
}

// Dialect reports the database engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// DSN returns the driver connection string (PostgreSQL LISTEN needs its own connection).
func (s *Store) DSN() string { return s.dsn }

// DB returns the GORM handle for code in this package's tests and benchmarks.
func (s *Store) DB() *gorm.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("store: unable to reach connection pool: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("store: database unreachable: %w", err)
	}
	return nil
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func (s *Store) now() time.Time { return s.Now().UTC() }

// notFound maps gorm's record-not-found to ErrNotFound and wraps others.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrConflict
	}
	return fmt.Errorf("store: unable to %s: %w", what, err)
}

// ErrUnavailable means the database cannot be reached; callers fail closed.
var ErrUnavailable = errors.New("database unavailable")
