package handlers

import (
	"net/http"
	"strings"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiTokenInput is the body of create and of PATCH; in a PATCH, a field left
// out keeps its value.
type apiTokenInput struct {
	Type             *string   `json:"type"`
	Name             *string   `json:"name"`
	Description      *string   `json:"description"`
	Scopes           *[]string `json:"scopes"`
	ExpiresIn        *string   `json:"expires_in"`
	IPAllowlist      *[]string `json:"ip_allowlist"`
	Attributes       *[]string `json:"attributes"`
	LinkingAttribute *string   `json:"linking_attribute"`
	AcceptTerms      *bool     `json:"accept_terms"`
	RateDaily        *int      `json:"rate_daily"`
	RatePerMinute    *int      `json:"rate_per_minute"`
}

// applyTo copies the fields that are present onto in.
func (a *apiTokenInput) applyTo(in *models.TokenInput) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Type, a.Type)
	set(&in.Name, a.Name)
	set(&in.Description, a.Description)
	set(&in.LinkingAttribute, a.LinkingAttribute)
	if a.Scopes != nil {
		in.Scopes = *a.Scopes
	}
	if a.IPAllowlist != nil {
		in.IPAllowlist = strings.Join(*a.IPAllowlist, "\n")
	}
	if a.Attributes != nil {
		in.ExposedAttributes = *a.Attributes
	}
	if a.AcceptTerms != nil {
		in.AcceptTerms = *a.AcceptTerms
	}
	if a.RateDaily != nil {
		in.RateDaily = *a.RateDaily
	}
	if a.RatePerMinute != nil {
		in.RatePerMinute = *a.RatePerMinute
	}
}

// apiCreateToken answers POST /api/v1/tokens. The plaintext is in this one
// answer and nowhere else.
func (h *Handler) apiCreateToken(c echo.Context) error {
	var body apiTokenInput
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	var in models.TokenInput
	body.applyTo(&in)
	if body.ExpiresIn != nil {
		switch v := strings.TrimSpace(*body.ExpiresIn); v {
		case "", "default":
		case "never":
			in.Never = true
		default:
			d, err := models.ParseDuration(v)
			if err != nil || d <= 0 {
				return validationFailed(models.FieldErrors{"expires": "Give a lifetime such as 30d, 12h or 1y, or never."})
			}
			in.ExpiresIn = d
		}
	}
	ws, err := h.apiWorkspace(c)
	if err != nil {
		return err
	}
	tok, plaintext, err := h.store.CreateToken(c.Request().Context(), h.policy, ws, nil, apiActor(c), in)
	if err != nil {
		return apiStoreError(err)
	}
	out := h.apiTokenJSON(tok)
	out.Token = plaintext
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/tokens/"+tok.PublicID)
	return c.JSON(http.StatusCreated, out)
}
