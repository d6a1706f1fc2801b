package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

func (h *Handler) accountPage(c echo.Context, status int, errs models.FieldErrors) error {
	ch, err := h.chrome(c, "Account", "account")
	if err != nil {
		return err
	}
	n, err := h.store.SessionCount(c.Request().Context(), ch.User.ID)
	if err != nil {
		return err
	}
	return render(c, status, views.Account(views.AccountPage{Chrome: ch, Errors: errs, Sessions: n}))
}

func (h *Handler) showAccount(c echo.Context) error {
	return h.accountPage(c, http.StatusOK, nil)
}

func (h *Handler) changePassword(c echo.Context) error {
	v := currentViewer(c)
	ctx := c.Request().Context()
	err := h.store.ChangePassword(ctx, v.User.ID, c.FormValue("current"), c.FormValue("password"), v.Session.raw.ID)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		return h.accountPage(c, http.StatusUnprocessableEntity, fe)
	}
	if err != nil {
		return err
	}
	if err := h.store.Audit(ctx, 0, actor(c), models.ActionPasswordChange, models.Target{Type: "user", ID: fmt.Sprint(v.User.ID), Label: v.User.Email}, nil); err != nil {
		return err
	}
	if err := h.flash(c, "Password changed. Your other sessions are signed out.", false); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account")
}
