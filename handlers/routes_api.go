package handlers

import (
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// apiRoutes are the token-authenticated JSON endpoints under /api/v1.
func (h *Handler) apiRoutes(e *echo.Echo) {
	// Without this the dashboard's sign-in redirect would answer unknown API paths.
	e.RouteNotFound("/api/*", func(echo.Context) error {
		return newAPIError(http.StatusNotFound, "not_found", "There is no API endpoint at this path.")
	})
	api := e.Group("/api/v1")
	// Any token may describe itself, whatever API its type is meant for.
	api.GET("/token", h.withToken(apiAuth{}, h.apiShowCaller))
	// The calling service's own calls are not counted: each one is already
	// counted against the token it verifies.
	api.POST("/verify", h.withToken(apiAuth{scope: "tokens:verify", audience: models.KeywardAudience, uncounted: true}, h.apiVerify))

	manage := api.Group("/tokens", h.requireToken(apiAuth{scope: "tokens:manage", audience: models.KeywardAudience}))
	manage.GET("", h.apiListTokens)
	manage.POST("", h.apiCreateToken)
	manage.GET("/:id", h.apiShowToken)
	manage.PATCH("/:id", h.apiUpdateToken)
	manage.DELETE("/:id", h.apiRevokeToken)
	manage.POST("/:id/reset", h.apiResetToken)

	h.verifyCounts = map[string]prometheus.Counter{}
	for _, code := range []string{
		models.CodeOK, models.CodeMissingAuth, models.CodeInvalidKey, models.CodeRevokedKey, models.CodeExpiredKey,
		models.CodeIPNotAllowed, models.CodeWrongKeyType, models.CodeInsufficientPermissions, models.CodeRateLimited,
		models.CodeUnavailable,
	} {
		h.verifyCounts[code] = h.metrics.verify.WithLabelValues(code)
	}

	h.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keyward_verify_cache_hits_total", Help: "Token verifications answered from the in-process cache.",
		}, func() float64 { return float64(h.verifier.CacheStats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keyward_verify_cache_misses_total", Help: "Token verifications that read the database.",
		}, func() float64 { return float64(h.verifier.CacheStats().Misses) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keyward_verify_memo_hits_total",
			Help: "Cache hits for a token the client's connection presented before, compared with it instead of hashed again.",
		}, func() float64 { return float64(h.verifier.CacheStats().Remembered) }),
	)
	if h.usage != nil {
		h.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keyward_usage_unwritten_calls", Help: "Verified calls counted in memory and not yet written to the database.",
		}, func() float64 { return float64(h.usage.Pending()) }))
	}
}
