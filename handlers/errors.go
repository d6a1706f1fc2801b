package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

// apiError is the JSON error body of the API: {"error":{"code","message"}}.
type apiError struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Extra   map[string]any `json:"-"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newAPIError(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

// errForbidden and errNotFound are returned by dashboard handlers.
var (
	errForbidden = echo.NewHTTPError(http.StatusForbidden, "You don't have permission to see this page.")
	errNotFound  = echo.NewHTTPError(http.StatusNotFound, "There is nothing at this address.")
)

// handleError turns any handler error into a JSON body for /api/ and an HTML
// page elsewhere. Only unexpected errors are logged, without request data.
func (h *Handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, msg := http.StatusInternalServerError, "internal_error", "Something went wrong on our side. Try again in a moment."
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		status, code, msg = ae.Status, ae.Code, ae.Message
	case errors.As(err, &he):
		status = he.Code
		code = strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
		msg = http.StatusText(status)
		if s, ok := he.Message.(string); ok && s != "" {
			msg = s
		}
		// Echo says "invalid csrf token" (403), "missing csrf token …" (400) or
		// "cross-site request blocked by CSRF" (403): all get one clear message.
		if (status == http.StatusForbidden || status == http.StatusBadRequest) && strings.Contains(strings.ToLower(msg), "csrf") {
			status, code, msg = http.StatusForbidden, "csrf_failed", "This form has expired or did not come from Keyward. Reload the page and try again."
		}
	case errors.Is(err, models.ErrNotFound):
		status, code, msg = http.StatusNotFound, "not_found", "There is nothing at this address."
	case errors.Is(err, models.ErrUnavailable):
		status, code, msg = http.StatusServiceUnavailable, "unavailable", "Keyward cannot reach its database right now. Try again in a moment."
	}
	if status >= 500 {
		h.log.Error("request failed", "err", err, "path", c.Path(), "method", c.Request().Method,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		if status == http.StatusInternalServerError && isDBDown(err) {
			status, code, msg = http.StatusServiceUnavailable, "unavailable", "Keyward cannot reach its database right now. Try again in a moment."
		}
	}
	if isAPI(c) {
		body := map[string]any{"code": code, "message": msg}
		if ae != nil {
			for k, v := range ae.Extra {
				body[k] = v
			}
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, map[string]any{"error": body})
		return
	}
	page := views.ErrorPage{Status: status, Message: msg}
	switch status {
	case http.StatusForbidden:
		page.Title = "Not allowed"
	case http.StatusNotFound:
		page.Title = "Not found"
	case http.StatusUnauthorized:
		page.Title = "Sign in needed"
		page.SignIn = true
	case http.StatusServiceUnavailable:
		page.Title = "Temporarily unavailable"
	case http.StatusTooManyRequests:
		page.Title = "Too many requests"
	default:
		if status >= 500 {
			page.Title = "Something went wrong"
		} else {
			page.Title = http.StatusText(status)
		}
	}
	if v := currentViewer(c); v != nil && v.User != nil && status != http.StatusServiceUnavailable {
		// No database reads here: the error may be the database's.
		ch := views.Chrome{Title: page.Title, User: v.User, Workspace: v.Workspace, Role: v.Role, CSRF: csrfToken(c)}
		_ = render(c, status, views.ErrorSignedIn(ch, page))
		return
	}
	_ = render(c, status, views.Error(page))
}

func isAPI(c echo.Context) bool {
	return strings.HasPrefix(c.Request().URL.Path, "/api/")
}

// isDBDown recognises connection failures so the dashboard says the database
// is unreachable rather than showing a generic error.
func isDBDown(err error) bool {
	s := err.Error()
	for _, frag := range []string{"connection refused", "failed to connect", "server closed the connection", "broken pipe", "connection reset", "database is closed", "the database system is shutting down", "terminating connection", "unexpected EOF"} {
		if strings.Contains(s, frag) {
			return true
		}
	}
	return false
}
