package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

func (h *Handler) confirmPage(c echo.Context, tok *models.Token, action string, status int, errs map[string]string) error {
	ch, err := h.chrome(c, "Confirm", "tokens")
	if err != nil {
		return err
	}
	return render(c, status, views.Confirm(views.ConfirmPage{Chrome: ch, Token: *tok, Action: action, Errors: errs, FormID: newFormID()}))
}

func (h *Handler) confirmReset(c echo.Context) error {
	tok, err := h.viewerToken(c)
	if err != nil {
		return err
	}
	if tok.RevokedAt != nil {
		return h.redirectFlash(c, "/tokens/"+tok.PublicID, "A revoked token cannot be reset.", true)
	}
	return h.confirmPage(c, tok, "reset", http.StatusOK, nil)
}

func (h *Handler) resetToken(c echo.Context) error {
	v := currentViewer(c)
	tok, err := h.viewerToken(c)
	if err != nil {
		return err
	}
	formID := c.FormValue("form_id")
	if path, done := h.formDone(c, formID); done {
		return h.repeatedForm(c, path, "This reset was already made and its new secret shown once. Reset again if you did not copy it.")
	}
	var grace time.Duration
	if g := c.FormValue("grace"); g != "" && g != "0" {
		if grace, err = time.ParseDuration(g); err != nil {
			return h.confirmPage(c, tok, "reset", http.StatusUnprocessableEntity, map[string]string{"grace": "Choose one of the offered grace periods."})
		}
	}
	updated, plaintext, err := h.store.ResetToken(c.Request().Context(), v.Workspace, tok.PublicID, actor(c), grace)
	var fe models.FieldErrors
	switch {
	case errors.As(err, &fe):
		return h.confirmPage(c, tok, "reset", http.StatusUnprocessableEntity, fe)
	case errors.Is(err, models.ErrTokenRevoked):
		return h.redirectFlash(c, "/tokens/"+tok.PublicID, "A revoked token cannot be reset.", true)
	case err != nil:
		return err
	}
	if err := h.markFormDone(c, formID, "/w/"+v.Workspace.Slug+"/tokens/"+tok.PublicID); err != nil {
		return err
	}
	return h.revealToken(c, updated, plaintext, "reset")
}
