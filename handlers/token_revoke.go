package handlers

import (
	"errors"
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

func (h *Handler) confirmRevoke(c echo.Context) error {
	tok, err := h.viewerToken(c)
	if err != nil {
		return err
	}
	if tok.RevokedAt != nil {
		return h.redirectFlash(c, "/tokens/"+tok.PublicID, "This token is already revoked.", true)
	}
	return h.confirmPage(c, tok, "revoke", http.StatusOK, nil)
}

func (h *Handler) revokeToken(c echo.Context) error {
	v := currentViewer(c)
	tok, err := h.viewerToken(c)
	if err != nil {
		return err
	}
	_, err = h.store.RevokeToken(c.Request().Context(), v.Workspace.ID, tok.PublicID, actor(c), models.RevokeManual)
	switch {
	case errors.Is(err, models.ErrTokenRevoked):
		return h.redirectFlash(c, "/tokens/"+tok.PublicID, "This token was already revoked.", true)
	case err != nil:
		return err
	}
	return h.redirectFlash(c, "/tokens/"+tok.PublicID, "“"+tok.Name+"” is revoked. It no longer works anywhere.", false)
}
