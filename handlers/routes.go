package handlers

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/static"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// routes lists every route of the dashboard and API in one place.
func (h *Handler) routes(e *echo.Echo) {
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{
		Skipper: func(c echo.Context) bool { return c.Request().URL.Path == "/" },
	}))
	e.Use(middleware.RequestID())
	e.Use(h.requestLogger)
	e.Use(h.measure)
	e.Use(middleware.Recover())
	e.Use(securityHeaders)
	e.Use(middleware.BodyLimit("1M"))

	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/metrics", h.metricsHandler())
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", staticFiles())))

	web := e.Group("", h.csrf(), h.loadViewer)
	web.GET("/", h.home)
	web.GET("/login", h.showLogin)
	web.POST("/login", h.login)
	web.GET("/setup", h.showSetup)
	web.POST("/setup", h.setup)

	user := web.Group("", h.requireUser)
	user.POST("/logout", h.logout)
	user.POST("/logout/everywhere", h.logoutEverywhere)
	user.GET("/account", h.showAccount)
	user.POST("/account/password", h.changePassword)

	ws := user.Group("/w/:slug", h.inWorkspace)
	ws.GET("", h.workspaceHome)
	h.tokenRoutes(ws)

	admin := ws.Group("", requireRole(models.RoleAdmin))
	admin.GET("/members", h.showMembers)
	admin.POST("/members", h.addMember)
	admin.POST("/members/:user/role", h.changeMemberRole)
	admin.POST("/members/:user/remove", h.removeMember)

	h.apiRoutes(e)
}

func (h *Handler) workspaceHome(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/w/"+currentViewer(c).Workspace.Slug+"/tokens")
}

func staticFiles() http.Handler {
	fs := http.FileServerFS(static.FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fs.ServeHTTP(w, r)
	})
}

// requestLogger writes one structured line per request with its request id,
// at a level set by the status. Most answers are successes logged at debug,
// which is usually off, so the line is only built when it will be written.
func (h *Handler) requestLogger(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if p := r.URL.Path; opsPath(p) || strings.HasPrefix(p, "/static/") {
			return next(c)
		}
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		level := levelFor(status)
		if !h.log.Enabled(r.Context(), level) {
			return nil
		}
		h.log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
			slog.Duration("latency", time.Since(start)), slog.String("ip", c.RealIP()),
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
		return nil
	}
}

func levelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}
