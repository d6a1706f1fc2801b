package handlers

import (
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiUpdateToken answers PATCH /api/v1/tokens/:id: the fields present change,
// the others keep their values. Type and expiry are fixed at creation.
func (h *Handler) apiUpdateToken(c echo.Context) error {
	var body apiTokenInput
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	fixed := models.FieldErrors{}
	if body.Type != nil {
		fixed["type"] = "A token's type cannot be changed; create a new token instead."
	}
	if body.ExpiresIn != nil {
		fixed["expires"] = "A token's expiry cannot be changed; create a new token instead."
	}
	if body.AcceptTerms != nil {
		fixed["terms"] = "Terms are agreed to when a token is created."
	}
	if len(fixed) > 0 {
		return validationFailed(fixed)
	}
	tok, err := h.apiTokenByID(c)
	if err != nil {
		return err
	}
	if tok.RevokedAt != nil {
		return errAPIRevoked
	}
	in := models.TokenInput{
		Name: tok.Name, Description: tok.Description, Scopes: tok.Scopes, IPAllowlist: tok.IPAllowlist,
		ExposedAttributes: tok.ExposedAttributes, LinkingAttribute: tok.LinkingAttribute,
		RateDaily: tok.RateDaily, RatePerMinute: tok.RatePerMinute,
	}
	body.applyTo(&in)
	ws, err := h.apiWorkspace(c)
	if err != nil {
		return err
	}
	updated, err := h.store.UpdateToken(c.Request().Context(), h.policy, ws, tok.PublicID, apiActor(c), in)
	if err != nil {
		return apiStoreError(err)
	}
	return c.JSON(http.StatusOK, h.apiTokenJSON(updated))
}
