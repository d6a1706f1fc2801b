package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// viewer is who is making a dashboard request, and in which workspace.
type viewer struct {
	User      *models.User
	Session   webSession
	Workspace *models.Workspace
	Role      models.Role
}

func currentViewer(c echo.Context) *viewer {
	v, _ := c.Get("viewer").(*viewer)
	return v
}

// securityHeaders sets the headers every response carries. Pages get the
// full set. API, health and metrics answers (JSON or plain text) get only what
// applies to a response no browser renders as a page: no framing and no type
// sniffing. Browsers too old to know CSP frame-ancestors could still frame
// them, which shows only text.
// Keeping their headers few also keeps the hottest routes cheap, since Go
// copies the header map of every response.
//
// The maps are written directly with canonical names and shared values: this
// runs on every request, and nothing appends to these values.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd["X-Content-Type-Options"] = hdrNoSniff
		if p := c.Request().URL.Path; strings.HasPrefix(p, "/api/") || opsPath(p) {
			hd["Content-Security-Policy"] = hdrAPICSP
			return next(c)
		}
		hd["Content-Security-Policy"] = hdrPageCSP
		hd["Referrer-Policy"] = hdrSameOrigin
		hd["X-Frame-Options"] = hdrDeny
		hd["Cross-Origin-Opener-Policy"] = hdrSameOrigin
		hd["Permissions-Policy"] = hdrPermissions
		return next(c)
	}
}

// opsPath reports whether p is one of the operations routes: health,
// readiness and metrics.
func opsPath(p string) bool { return p == "/healthz" || p == "/readyz" || p == "/metrics" }

var (
	hdrNoSniff     = []string{"nosniff"}
	hdrAPICSP      = []string{"default-src 'none'; frame-ancestors 'none'"}
	hdrPageCSP     = []string{"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"}
	hdrSameOrigin  = []string{"same-origin"}
	hdrDeny        = []string{"DENY"}
	hdrPermissions = []string{"camera=(), microphone=(), geolocation=()"}
)

func (h *Handler) csrf() echo.MiddlewareFunc {
	// #nosec G101 -- names of the form field and cookie that carry the CSRF token, not a credential
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		CookieName:     "keyward_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   h.cfg.SecureCookies,
		CookieSameSite: http.SameSiteLaxMode,
		ContextKey:     "csrf",
		Skipper: func(c echo.Context) bool {
			p := c.Request().URL.Path
			return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/static/") || opsPath(p)
		},
	})
}

// loadViewer reads the session and, when it names a user, loads them.
func (h *Handler) loadViewer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s, err := h.session(c)
		if err != nil {
			return err
		}
		v := &viewer{Session: s}
		if id := s.UserID(); id != 0 {
			u, err := h.store.UserByID(c.Request().Context(), id)
			switch {
			case errors.Is(err, models.ErrNotFound):
			case err != nil:
				return err
			default:
				v.User = u
			}
		}
		c.Set("viewer", v)
		return next(c)
	}
}

// requireUser sends anonymous visitors to the sign-in page, remembering where
// they were going.
func (h *Handler) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		v := currentViewer(c)
		if v == nil || v.User == nil {
			if c.Request().Method == http.MethodGet {
				return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
			}
			return echo.NewHTTPError(http.StatusUnauthorized, "Your session has ended. Sign in again.")
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// inWorkspace resolves /w/:slug to a workspace the viewer belongs to. A
// workspace the viewer is not in is reported as not found, so slugs do not leak.
func (h *Handler) inWorkspace(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		v := currentViewer(c)
		ctx := c.Request().Context()
		w, err := h.store.WorkspaceBySlug(ctx, c.Param("slug"))
		if errors.Is(err, models.ErrNotFound) {
			return errNotFound
		} else if err != nil {
			return err
		}
		m, err := h.store.Membership(ctx, w.ID, v.User.ID)
		if errors.Is(err, models.ErrNotFound) {
			return errNotFound
		} else if err != nil {
			return err
		}
		v.Workspace, v.Role = w, m.Role
		return next(c)
	}
}

// requireRole admits only the listed roles of the current workspace.
func requireRole(roles ...models.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// Echo sends unknown paths under a group through the group's
			// middleware (route "/w/:slug/*"): those are not found for every role.
			if strings.HasSuffix(c.Path(), "/*") {
				return errNotFound
			}
			v := currentViewer(c)
			for _, r := range roles {
				if v.Role == r {
					return next(c)
				}
			}
			return errForbidden
		}
	}
}

// chrome builds the layout data for a signed-in page, consuming the flash.
func (h *Handler) chrome(c echo.Context, title, section string) (views.Chrome, error) {
	v := currentViewer(c)
	ms, err := h.store.MembershipsByUser(c.Request().Context(), v.User.ID)
	if err != nil {
		return views.Chrome{}, err
	}
	ch := views.Chrome{
		Title: title, User: v.User, Workspaces: ms, Workspace: v.Workspace, Role: v.Role,
		CSRF: csrfToken(c), Section: section,
	}
	if msg, isErr := v.Session.popFlash(); msg != "" {
		ch.Flash, ch.FlashError = msg, isErr
		if err := h.saveSession(c, v.Session); err != nil {
			return views.Chrome{}, err
		}
	}
	return ch, nil
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get("csrf").(string)
	return t
}

// actor describes the signed-in user for the audit log.
func actor(c echo.Context) models.Actor {
	v := currentViewer(c)
	return models.UserActor(v.User, c.RealIP(), c.Request().UserAgent())
}

// safeNext keeps post-sign-in redirects on this site. Browsers drop tabs and
// newlines from URLs and read "\" as "/", so "/\t/evil.example" would leave it.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\t\r\n") {
		return "/"
	}
	return next
}
