package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiToken is a token as the management API shows it. The plaintext appears
// only in the answers to create and reset.
type apiToken struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	Description       string     `json:"description"`
	Type              string     `json:"type"`
	Masked            string     `json:"masked"`
	Status            string     `json:"status"`
	Scopes            []string   `json:"scopes"`
	IPAllowlist       []string   `json:"ip_allowlist"`
	Attributes        []string   `json:"attributes"`
	LinkingAttribute  string     `json:"linking_attribute"`
	RateDaily         int        `json:"rate_daily"`
	RatePerMinute     int        `json:"rate_per_minute"`
	ExpiresAt         *time.Time `json:"expires_at"`
	CreatedAt         time.Time  `json:"created_at"`
	CreatedBy         string     `json:"created_by"`
	LastUsedAt        *time.Time `json:"last_used_at"`
	LastUsedIP        string     `json:"last_used_ip"`
	RecentIPs         []string   `json:"recent_ips"`
	RevokedAt         *time.Time `json:"revoked_at"`
	RevokedReason     string     `json:"revoked_reason,omitempty"`
	OldSecretValidTil *time.Time `json:"old_secret_valid_until,omitempty"`
	Token             string     `json:"token,omitempty"`
}

func (h *Handler) apiTokenJSON(t *models.Token) apiToken {
	now := h.store.Now()
	out := apiToken{
		ID: t.PublicID, Name: t.Name, Description: t.Description, Type: t.Type, Masked: t.Masked(),
		Status: t.Status(now), Scopes: orNone(t.Scopes), IPAllowlist: orNone(t.Allowlist().Strings()),
		Attributes: orNone(t.ExposedAttributes), LinkingAttribute: t.LinkingAttribute,
		RateDaily: t.RateDaily, RatePerMinute: t.RatePerMinute, ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt,
		CreatedBy: t.CreatedByLabel, LastUsedAt: t.LastUsedAt, LastUsedIP: t.LastUsedIP, RecentIPs: orNone(t.RecentIPs),
		RevokedAt: t.RevokedAt, RevokedReason: t.RevokedReason,
	}
	if t.GraceActive(now) {
		out.OldSecretValidTil = t.PreviousValidUntil
	}
	return out
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// apiWorkspace loads the caller's workspace: the management API never leaves it.
func (h *Handler) apiWorkspace(c echo.Context) (*models.Workspace, error) {
	return h.store.WorkspaceByID(c.Request().Context(), apiCaller(c).Token.Workspace.ID)
}

// apiTokenByID loads a token of the caller's workspace; any other id is 404.
func (h *Handler) apiTokenByID(c echo.Context) (*models.Token, error) {
	id := c.Param("id")
	if !models.ValidTokenID(id) {
		return nil, errAPINotFound
	}
	t, err := h.store.TokenByPublicID(c.Request().Context(), apiCaller(c).Token.Workspace.ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, errAPINotFound
	}
	return t, err
}

var errAPINotFound = newAPIError(http.StatusNotFound, "not_found", "No token with this id exists in your workspace.")

var errAPIRevoked = newAPIError(http.StatusConflict, "already_revoked", "This token is revoked; a revoked token cannot be changed, reset or revoked again.")

// validationFailed is the 422 for input the store refused, with one message
// per field under "fields", keyed by the JSON field names.
// apiStoreError maps the token store's errors to the API's: validation
// problems to 422, a revoked token to 409, a missing one to 404; anything else
// passes through to the error handler.
func apiStoreError(err error) error {
	var fe models.FieldErrors
	switch {
	case errors.As(err, &fe):
		return validationFailed(fe)
	case errors.Is(err, models.ErrTokenRevoked):
		return errAPIRevoked
	case errors.Is(err, models.ErrNotFound):
		return errAPINotFound
	}
	return err
}

func validationFailed(fe models.FieldErrors) *apiError {
	fields := make(map[string]string, len(fe))
	var first string
	for k, v := range fe {
		k = apiFieldName(k)
		fields[k] = v
		if first == "" || k < first {
			first = k
		}
	}
	msg := "The request was not applied: " + fields[first]
	if len(fields) > 1 {
		msg += " (and " + strconv.Itoa(len(fields)-1) + " more; see fields)"
	}
	e := newAPIError(http.StatusUnprocessableEntity, "validation_failed", msg)
	e.Extra = map[string]any{"fields": fields}
	return e
}

// apiFieldName maps the store's field keys (named after the dashboard form)
// to the API's JSON field names.
func apiFieldName(k string) string {
	switch k {
	case "expires":
		return "expires_in"
	case "terms":
		return "accept_terms"
	}
	return k
}

func (h *Handler) apiListTokens(c echo.Context) error {
	q := models.TokenQuery{
		WorkspaceID: apiCaller(c).Token.Workspace.ID, Status: c.QueryParam("status"), Type: c.QueryParam("type"),
		Search: strings.TrimSpace(c.QueryParam("q")), Page: 1, PerPage: 25,
	}
	switch q.Status {
	case "", models.StatusActive, models.StatusExpiring, models.StatusExpired, models.StatusRevoked:
	default:
		return invalidRequest("status", "status must be active, expiring, expired or revoked.")
	}
	if v := c.QueryParam("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return invalidRequest("page", "page must be a whole number from 1.")
		}
		q.Page = n
	}
	if v := c.QueryParam("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return invalidRequest("per_page", "per_page must be a whole number from 1 to 100.")
		}
		q.PerPage = n
	}
	tokens, total, err := h.store.TokensByWorkspace(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := make([]apiToken, len(tokens))
	for i := range tokens {
		out[i] = h.apiTokenJSON(&tokens[i])
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": out, "total": total, "page": q.Page, "per_page": q.PerPage})
}

func (h *Handler) apiShowToken(c echo.Context) error {
	t, err := h.apiTokenByID(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.apiTokenJSON(t))
}
