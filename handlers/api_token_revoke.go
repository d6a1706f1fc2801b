package handlers

import (
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiRevokeToken answers DELETE /api/v1/tokens/:id. Revoking is a soft
// delete that cannot be undone: the token stays listed as revoked.
func (h *Handler) apiRevokeToken(c echo.Context) error {
	tok, err := h.apiTokenByID(c)
	if err != nil {
		return err
	}
	revoked, err := h.store.RevokeToken(c.Request().Context(), tok.WorkspaceID, tok.PublicID, apiActor(c), models.RevokeManual)
	if err != nil {
		return apiStoreError(err)
	}
	return c.JSON(http.StatusOK, h.apiTokenJSON(revoked))
}
