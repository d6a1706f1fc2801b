package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/models"
)

// app is what every subcommand opens: configuration, logger, store, policy.
type app struct {
	cfg    *models.Config
	log    *slog.Logger
	store  *models.Store
	policy *models.Policy
}

func open(ctx context.Context, getenv func(string) string, stderr io.Writer) (*app, error) {
	cfg, err := models.LoadConfig(getenv)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	policy, err := models.LoadPolicy(cfg.PolicyPath)
	if err != nil {
		return nil, err
	}
	store, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	// Every command that revokes, resets or edits a token (the CLI too) tells
	// running instances to drop it from their verify caches.
	store.NotifyTokenChanges(log)
	return &app{cfg: cfg, log: log, store: store, policy: policy}, nil
}

func migrate(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	a, err := open(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	v, err := a.store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	a.log.Info("database is up to date", "schema_version", v, "dialect", a.store.Dialect())
	return nil
}

func serve(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	a, err := open(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	secret := a.cfg.SessionSecret
	if len(secret) == 0 {
		if secret, err = a.store.SessionSecret(ctx); err != nil {
			return err
		}
	}
	if code, err := a.store.NewSetupCode(ctx); err != nil {
		return err
	} else if code != "" {
		a.log.Warn("no user exists yet: open /setup and enter this one-time setup code", "setup_code", code)
	}
	sessions := a.store.NewSessionStore(secret, a.cfg.SecureCookies, a.cfg.SessionIdle, a.cfg.SessionAbsolute)
	vo, closeVerify, err := verifierOptions(ctx, a, getenv)
	if err != nil {
		return err
	}
	defer closeVerify()
	verifier := models.NewVerifier(a.store, a.policy, vo)
	var listener *models.TokenListener
	if a.store.Dialect() == models.DialectPostgres {
		listener = models.NewTokenListener(a.store.DSN(), verifier.Invalidate, verifier.InvalidateAll, a.log)
	}
	e, h := handlers.New(handlers.Options{
		Store: a.store, Policy: a.policy, Config: a.cfg, Sessions: sessions, Logger: a.log,
		Verifier: verifier, Usage: vo.Usage, Listener: listener,
	})
	background := h.Start(ctx)

	errc := make(chan error, 1)
	go func() {
		a.log.Info("keyward listening", "addr", a.cfg.Addr, "database", string(a.store.Dialect()), "policy", a.policy.Source)
		if err := e.Start(a.cfg.Addr); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Shutdown(shutdown); err != nil {
		a.log.Error("shutdown", "err", err)
	}
	background.Stop(shutdown)
	return nil
}

// verifierOptions wires the verifier's rate limiter (Redis when
// KEYWARD_REDIS_URL is set), usage recorder and cache.
func verifierOptions(ctx context.Context, a *app, getenv func(string) string) (models.VerifierOptions, func(), error) {
	vo := models.VerifierOptions{Usage: models.NewUsageRecorder(a.store, a.log), Logger: a.log}
	closeFn := func() {}
	vo.CacheTTL = a.cfg.VerifyCacheTTL
	if a.cfg.RedisURL != "" {
		rl, err := models.NewRedisLimiter(a.cfg.RedisURL, "", a.log)
		if err != nil {
			return vo, closeFn, err
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := rl.Ping(pctx); err != nil {
			a.log.Warn("redis does not answer; rate limits are counted per instance until it does", "err", err)
		}
		cancel()
		vo.Limiter, closeFn = rl, func() { _ = rl.Close() }
	}
	return vo, closeFn, nil
}
