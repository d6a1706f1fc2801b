// Package handlers serves Keyward's dashboard and HTTP API with Echo.
package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Options are what the server is built from.
type Options struct {
	Store    *models.Store
	Policy   *models.Policy
	Config   *models.Config
	Sessions *models.SessionStore
	Logger   *slog.Logger
	// Registry receives the server's metrics; nil makes a private one.
	Registry *prometheus.Registry
	// Verifier checks the tokens presented to the API; nil builds one over
	// Store with an in-memory rate limiter, recording into Usage.
	Verifier *models.Verifier
	// Usage batches the usage counts of Verifier: Start flushes it every few
	// seconds and Stop writes what is left. Nil makes one when Verifier is
	// nil too.
	Usage *models.UsageRecorder
	// Listener, when set, hears token changes made by other instances; Start
	// runs it.
	Listener *models.TokenListener
}

// Handler holds what every handler needs.
type Handler struct {
	store    *models.Store
	policy   *models.Policy
	cfg      *models.Config
	sessions *models.SessionStore
	log      *slog.Logger
	registry *prometheus.Registry
	metrics  *metrics
	verifier *models.Verifier
	usage    *models.UsageRecorder
	listener *models.TokenListener
	// verifyCounts holds keyward_verify_total per outcome code, looked up
	// once rather than by label on every request.
	verifyCounts map[string]prometheus.Counter
}

// New builds the Echo instance with every route and middleware.
func New(o Options) (*echo.Echo, *Handler) {
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Verifier == nil {
		if o.Usage == nil {
			o.Usage = models.NewUsageRecorder(o.Store, o.Logger)
		}
		o.Verifier = models.NewVerifier(o.Store, o.Policy, models.VerifierOptions{Usage: o.Usage, Logger: o.Logger})
	}
	h := &Handler{
		store: o.Store, policy: o.Policy, cfg: o.Config, sessions: o.Sessions,
		log: o.Logger, registry: o.Registry, metrics: newMetrics(o.Registry),
		verifier: o.Verifier, usage: o.Usage, listener: o.Listener,
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = h.handleError
	e.IPExtractor = ipExtractor(o.Config.TrustedProxies)
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.Server.IdleTimeout = 120 * time.Second
	e.Server.ConnContext = withTokenMemo
	e.TLSServer.ConnContext = withTokenMemo
	h.routes(e)
	return e, h
}

// withTokenMemo gives each client connection a token memo: a service calling
// over a kept-alive connection with one token has it compared with the token
// it presented before, not parsed and hashed on every call (models.TokenMemo).
func withTokenMemo(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, tokenMemoKey{}, new(models.TokenMemo))
}

type tokenMemoKey struct{}

// ipExtractor takes the client IP from the connection, and from
// X-Forwarded-For only when the request came through a trusted proxy.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		_, n, err := net.ParseCIDR(p.String())
		if err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
