package models

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Revocation reaches other instances through PostgreSQL LISTEN/NOTIFY: after
// a revoke, reset or edit commits, the instance that made it sends the token's
// public id on TokenChannel, and every instance's TokenListener drops that id
// from its verify cache. SQLite runs a single instance and needs none of this.

// TokenChannel is the PostgreSQL notification channel for token changes; the
// payload is the token's public id.
const TokenChannel = "keyward_tokens"

// NotifyTokenChange tells every listening instance that a token changed. It
// is a no-op on SQLite.
func (s *Store) NotifyTokenChange(ctx context.Context, publicID string) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	if err := s.db.WithContext(ctx).Exec("SELECT pg_notify(?, ?)", TokenChannel, publicID).Error; err != nil {
		return fmt.Errorf("store: unable to notify token change: %w", err)
	}
	return nil
}

// NotifyTokenChanges makes every token change committed through s announce
// itself with NotifyTokenChange. Failures are logged: other instances then
// catch up when their cache entry expires. It does nothing on SQLite.
func (s *Store) NotifyTokenChanges(log *slog.Logger) {
	if s.dialect != DialectPostgres {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.OnTokenChange(func(publicID string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.NotifyTokenChange(ctx, publicID); err != nil {
			log.Error("token change not announced to other instances", "token", publicID, "err", err)
		}
	})
}

// TokenListener receives token-change notifications on a connection of its
// own and reconnects with backoff when it drops.
type TokenListener struct {
	dsn         string
	onChange    func(publicID string)
	onReconnect func()
	log         *slog.Logger

	readyOnce sync.Once
	ready     chan struct{}
	pid       atomic.Uint32
}

// Listener timing: the first retry comes quickly, later ones back off to
// listenMaxBackoff; an idle connection is pinged every listenPing so a
// silently dead one is noticed.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
	listenPing       = 30 * time.Second
)

// NewTokenListener returns a listener for the PostgreSQL database at dsn (see
// Store.DSN). onChange receives each changed token's public id; onReconnect,
// if not nil, runs after a lost connection is restored, since changes made
// meanwhile were not heard (the verifier empties its cache).
func NewTokenListener(dsn string, onChange func(publicID string), onReconnect func(), log *slog.Logger) *TokenListener {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &TokenListener{dsn: dsn, onChange: onChange, onReconnect: onReconnect, log: log, ready: make(chan struct{})}
}

// Ready is closed once the listener first listens.
func (l *TokenListener) Ready() <-chan struct{} { return l.ready }

// PID returns the PostgreSQL backend process id of the listening connection,
// or 0 while disconnected, for logs and for tests that cut the connection.
func (l *TokenListener) PID() uint32 { return l.pid.Load() }

// Run listens until ctx ends, reconnecting as needed. It returns ctx's error.
func (l *TokenListener) Run(ctx context.Context) error {
	backoff := listenMinBackoff
	connected := false
	for {
		conn, err := l.connect(ctx)
		if err == nil {
			if connected && l.onReconnect != nil {
				l.onReconnect()
			}
			if connected {
				l.log.Info("token listener reconnected")
			}
			connected = true
			backoff = listenMinBackoff
			l.pid.Store(conn.PgConn().PID())
			l.readyOnce.Do(func() { close(l.ready) })
			err = l.listen(ctx, conn)
			l.pid.Store(0)
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = conn.Close(closeCtx)
			cancel()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		l.log.Warn("token listener lost its connection; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, listenMaxBackoff)
	}
}

func (l *TokenListener) connect(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, l.dsn)
	if err != nil {
		return nil, fmt.Errorf("listen: unable to connect: %w", err)
	}
	if _, err := conn.Exec(cctx, "LISTEN "+pgx.Identifier{TokenChannel}.Sanitize()); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("listen: unable to LISTEN: %w", err)
	}
	return conn, nil
}

// listen hands notifications to onChange until the connection fails or ctx ends.
func (l *TokenListener) listen(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.onChange(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case wctx.Err() != nil:
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("listen: ping failed: %w", err)
			}
		default:
			return fmt.Errorf("listen: %w", err)
		}
	}
}
