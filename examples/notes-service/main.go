// Command notes-service is a small notes API guarded by Keyward tokens. It
// shows both ways of using the guard package:
//
//   - over HTTP, asking a Keyward server (the usual deployment):
//     KEYWARD_URL=http://localhost:8080 KEYWARD_SERVICE_TOKEN=svc_… go run ./examples/notes-service
//   - in process, reading Keyward's database directly (one binary, no hop):
//     KEYWARD_DATABASE_URL=sqlite://keyward.db go run ./examples/notes-service
//
// It listens on NOTES_ADDR (default :8090). Tokens must hold read to list
// notes, notes:create to add one and notes:delete to delete one; a service
// token is refused as the wrong key type, since its type accepts only the
// "keyward" audience.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/keyward/keyward/guard"
	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "notes-service:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	verifier, cleanup, err := newVerifier(ctx, getenv, log)
	if err != nil {
		return err
	}
	defer cleanup()

	e := newServer(verifier, log)
	addr := getenv("NOTES_ADDR")
	if addr == "" {
		addr = ":8090"
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Shutdown(shutdown)
	}()
	log.Info("notes service listening", "addr", addr)
	if err := e.Start(addr); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newVerifier picks the guard's mode from the environment.
func newVerifier(ctx context.Context, getenv func(string) string, log *slog.Logger) (guard.Verifier, func(), error) {
	if url := getenv("KEYWARD_URL"); url != "" {
		token := getenv("KEYWARD_SERVICE_TOKEN")
		if token == "" {
			return nil, nil, errors.New("KEYWARD_SERVICE_TOKEN is required with KEYWARD_URL (a service token holding tokens:verify)")
		}
		return guard.NewClient(url, token, guard.ClientOptions{Logger: log}), func() {}, nil
	}
	dbURL := getenv("KEYWARD_DATABASE_URL")
	if dbURL == "" {
		return nil, nil, errors.New("set KEYWARD_URL and KEYWARD_SERVICE_TOKEN, or KEYWARD_DATABASE_URL for in-process verification")
	}
	policy, err := models.LoadPolicy(getenv("KEYWARD_POLICY"))
	if err != nil {
		return nil, nil, err
	}
	store, err := models.Open(ctx, dbURL)
	if err != nil {
		return nil, nil, err
	}
	// In process, this service counts usage and hears revocations itself.
	usage := models.NewUsageRecorder(store, log)
	v := models.NewVerifier(store, policy, models.VerifierOptions{Usage: usage, Logger: log})
	bg, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { usage.Run(bg, models.UsageFlushInterval) })
	if store.Dialect() == models.DialectPostgres {
		l := models.NewTokenListener(store.DSN(), v.Invalidate, v.InvalidateAll, log)
		wg.Go(func() { _ = l.Run(bg) })
	}
	return v, func() {
		cancel()
		wg.Wait()
		_ = usage.Stop(context.Background())
		_ = store.Close()
	}, nil
}

// note is one note; the store is a map, since the point is the guard.
type note struct {
	ID        int       `json:"id"`
	Text      string    `json:"text"`
	Workspace string    `json:"workspace"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

type notes struct {
	mu   sync.Mutex
	next int
	all  map[int]note
}

func newServer(v guard.Verifier, log *slog.Logger) *echo.Echo {
	g := guard.New(v, guard.Options{Audience: "notes", Logger: log})
	n := &notes{all: map[int]note{}}
	e := echo.New()
	e.HideBanner = true
	e.GET("/notes", n.list, g.Require("read"))
	e.POST("/notes", n.create, g.Require("notes:create"))
	e.DELETE("/notes/:id", n.remove, g.Require("notes:delete"))
	return e
}

// Each workspace sees only its own notes: the token says which it is.
func (n *notes) list(c echo.Context) error {
	ws := guard.Token(c).Workspace.Slug
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []note{}
	for _, nt := range n.all {
		if nt.Workspace == ws {
			out = append(out, nt)
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (n *notes) create(c echo.Context) error {
	var in struct {
		Text string `json:"text"`
	}
	if err := c.Bind(&in); err != nil || in.Text == "" {
		return c.JSON(http.StatusBadRequest, guard.ErrorResponse{Error: guard.ErrorDetail{Code: "invalid_request", Message: `Send {"text": "…"}.`}})
	}
	tok := guard.Token(c)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.next++
	nt := note{ID: n.next, Text: in.Text, Workspace: tok.Workspace.Slug, Author: tok.Name, CreatedAt: time.Now().UTC()}
	n.all[nt.ID] = nt
	return c.JSON(http.StatusCreated, nt)
}

func (n *notes) remove(c echo.Context) error {
	id, _ := strconv.Atoi(c.Param("id"))
	n.mu.Lock()
	defer n.mu.Unlock()
	nt, ok := n.all[id]
	if !ok || nt.Workspace != guard.Token(c).Workspace.Slug {
		return c.JSON(http.StatusNotFound, guard.ErrorResponse{Error: guard.ErrorDetail{Code: "not_found", Message: "No such note."}})
	}
	delete(n.all, id)
	return c.NoContent(http.StatusNoContent)
}
