package handlers

import (
	"errors"
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

func (h *Handler) updateToken(c echo.Context) error {
	v := currentViewer(c)
	tok, err := h.viewerToken(c)
	if err != nil {
		return err
	}
	in, _, err := tokenInput(c)
	if err != nil {
		return err
	}
	_, err = h.store.UpdateToken(c.Request().Context(), h.policy, v.Workspace, tok.PublicID, actor(c), in)
	var fe models.FieldErrors
	switch {
	case errors.As(err, &fe):
		p, perr := h.tokenPage(c, tok, "details")
		if perr != nil {
			return perr
		}
		p.Input, p.Errors = in, fe
		return render(c, http.StatusUnprocessableEntity, views.Token(p))
	case errors.Is(err, models.ErrTokenRevoked):
		return h.redirectFlash(c, "/tokens/"+tok.PublicID, "This token is revoked and can no longer be edited.", true)
	case err != nil:
		return err
	}
	return h.redirectFlash(c, "/tokens/"+tok.PublicID, "Saved.", false)
}
