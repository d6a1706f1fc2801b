package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiResetToken answers POST /api/v1/tokens/:id/reset: a new secret for the
// same token, returned in this one answer. With {"grace": "1h"} the old
// secret keeps working that long (at most 24h); without, it stops at once.
func (h *Handler) apiResetToken(c echo.Context) error {
	var body struct {
		Grace string `json:"grace"`
	}
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
	}
	var grace time.Duration
	if g := strings.TrimSpace(body.Grace); g != "" && g != "0" {
		d, err := models.ParseDuration(g)
		if err != nil {
			return validationFailed(models.FieldErrors{"grace": "Give a grace period such as 1h, or 0 for none."})
		}
		grace = d
	}
	tok, err := h.apiTokenByID(c)
	if err != nil {
		return err
	}
	ws, err := h.apiWorkspace(c)
	if err != nil {
		return err
	}
	updated, plaintext, err := h.store.ResetToken(c.Request().Context(), ws, tok.PublicID, apiActor(c), grace)
	if err != nil {
		return apiStoreError(err)
	}
	out := h.apiTokenJSON(updated)
	out.Token = plaintext
	return c.JSON(http.StatusOK, out)
}
