// Command seed fills a Keyward database for the load benchmark
// (scripts/bench.sh) and serves the benchmark's baseline.
//
//	seed -database postgres://… -tokens 100000 -out DIR
//	    creates a workspace "Bench" with an admin, one service token holding
//	    tokens:verify (DIR/service.token) and N personal tokens holding read
//	    (DIR/tokens.txt, one plaintext per line; DIR/ids.txt, their public ids).
//	    Tokens are inserted in batches, not through the token form's path:
//	    100k audit events would only slow the seeding down.
//
//	seed -database postgres://… -serve-baseline :8081 [-pprof :6060]
//	    serves Keyward's own routes and middleware plus two baselines that
//	    take the same request as POST /api/v1/verify (same headers, same JSON
//	    body): POST /api/bench/bare reads the body and answers {"status":"ok"},
//	    the cost of the request itself; POST /api/bench/lookup answers with a
//	    plain indexed GORM lookup of the token's row, what verification would
//	    cost with no cache and no checks. Both are under /api/, so they get
//	    the middleware (and the response headers) of the API routes.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/keyward/keyward/handlers"
	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	dbURL := fs.String("database", os.Getenv("KEYWARD_DATABASE_URL"), "database URL")
	n := fs.Int("tokens", 100_000, "personal tokens to create")
	out := fs.String("out", ".", "directory for service.token, tokens.txt and ids.txt")
	serve := fs.String("serve-baseline", "", "serve the baseline on this address instead of seeding")
	pprofAddr := fs.String("pprof", "", "with -serve-baseline: serve net/http/pprof on this address, to profile Keyward's routes under load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("-database is required")
	}
	store, err := models.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer store.Close()
	if *serve != "" {
		if *pprofAddr != "" {
			go func() { _ = http.ListenAndServe(*pprofAddr, nil) }() // net/http/pprof registers on the default mux
		}
		return serveBaseline(ctx, store, *serve)
	}
	return seed(ctx, store, *n, *out)
}

func seed(ctx context.Context, store *models.Store, n int, out string) error {
	p := models.DefaultPolicy()
	_, ws, err := store.CreateAdmin(ctx, models.NewUser{Email: "bench@example.com", Name: "Bench", Password: "bench-password-123"}, "Bench", p.DefaultPlan)
	if err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	_, svc, err := store.CreateToken(ctx, p, ws, nil, models.SystemActor, models.TokenInput{
		Type: "service", Name: "bench service", Scopes: []string{"tokens:verify"}, Never: true,
	})
	if err != nil {
		return fmt.Errorf("create service token: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "service.token"), []byte(svc+"\n"), 0o600); err != nil {
		return err
	}
	tokensFile, err := os.OpenFile(filepath.Join(out, "tokens.txt"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer tokensFile.Close()
	idsFile, err := os.Create(filepath.Join(out, "ids.txt"))
	if err != nil {
		return err
	}
	defer idsFile.Close()
	tw, iw := bufio.NewWriter(tokensFile), bufio.NewWriter(idsFile)

	const batch = 1000
	now := time.Now().UTC()
	expires := now.Add(30 * 24 * time.Hour)
	start := time.Now()
	rows := make([]models.Token, 0, batch)
	for i := 0; i < n; i++ {
		id, err := models.NewTokenID()
		if err != nil {
			return err
		}
		plain, err := models.NewTokenPlaintext("pat", id)
		if err != nil {
			return err
		}
		rows = append(rows, models.Token{
			PublicID: id, WorkspaceID: ws.ID, Type: "personal", Prefix: "pat", Name: fmt.Sprintf("bench %d", i),
			CreatedByLabel: "seed", SecretHash: models.HashToken(plain), Last4: models.TokenLast4(plain),
			Scopes: []string{"read"}, ExposedAttributes: []string{}, RecentIPs: []string{},
			ExpiresAt: &expires, CreatedAt: now, UpdatedAt: now,
		})
		fmt.Fprintln(tw, plain)
		fmt.Fprintln(iw, id)
		if len(rows) == batch || i == n-1 {
			if err := store.DB().WithContext(ctx).Create(&rows).Error; err != nil {
				return fmt.Errorf("insert tokens: %w", err)
			}
			rows = rows[:0]
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := iw.Flush(); err != nil {
		return err
	}
	if store.Dialect() == models.DialectPostgres {
		if err := store.DB().WithContext(ctx).Exec("ANALYZE tokens").Error; err != nil {
			return err
		}
	}
	fmt.Printf("seeded %d tokens in workspace %q in %s\n", n, ws.Slug, time.Since(start).Round(time.Millisecond))
	return nil
}

// serveBaseline runs Keyward's handlers with one extra route, so the baseline
// pays for the same router and middleware as the routes it is compared with.
func serveBaseline(ctx context.Context, store *models.Store, addr string) error {
	cfg, err := models.LoadConfig(func(string) string { return "" })
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	secret, err := store.SessionSecret(ctx)
	if err != nil {
		return err
	}
	e, _ := handlers.New(handlers.Options{
		Store: store, Policy: models.DefaultPolicy(), Config: cfg, Logger: log,
		Sessions: store.NewSessionStore(secret, false, cfg.SessionIdle, cfg.SessionAbsolute),
	})
	e.POST("/api/bench/bare", func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "bad body"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.POST("/api/bench/lookup", func(c echo.Context) error {
		var in struct {
			Token string `json:"token"`
			Scope string `json:"scope"`
		}
		if err := json.NewDecoder(c.Request().Body).Decode(&in); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "bad body"})
		}
		parts := strings.Split(in.Token, "_")
		if len(parts) != 3 {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "bad token"})
		}
		var t models.Token
		if err := store.DB().WithContext(c.Request().Context()).Where("public_id = ?", parts[1]).First(&t).Error; err != nil {
			return c.JSON(http.StatusNotFound, map[string]string{"error": "not found"})
		}
		return c.JSON(http.StatusOK, map[string]any{"id": t.PublicID, "name": t.Name, "type": t.Type, "scopes": t.Scopes})
	})
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(shutdown)
	}()
	if err := e.Start(addr); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
