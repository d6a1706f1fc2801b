package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

var errSetupDone = echo.NewHTTPError(http.StatusGone, "Keyward is already set up. Sign in with your account.")

func (h *Handler) showSetup(c echo.Context) error {
	n, err := h.store.UserCount(c.Request().Context())
	if err != nil {
		return err
	}
	if n > 0 {
		return errSetupDone
	}
	return render(c, http.StatusOK, views.Setup(views.SetupPage{CSRF: csrfToken(c)}))
}

func (h *Handler) setup(c echo.Context) error {
	ctx := c.Request().Context()
	p := views.SetupPage{
		CSRF: csrfToken(c), Code: c.FormValue("code"), Email: c.FormValue("email"),
		Name: c.FormValue("name"), Workspace: c.FormValue("workspace"),
	}
	u, w, err := h.store.CompleteSetup(ctx, p.Code, models.NewUser{Email: p.Email, Name: p.Name, Password: c.FormValue("password")}, p.Workspace, h.policy.DefaultPlan)
	var fe models.FieldErrors
	switch {
	case errors.Is(err, models.ErrSetupDone):
		return errSetupDone
	case errors.As(err, &fe):
		p.Errors = fe
		if fe["code"] == "" {
			// Keep the code the person typed only when it was right.
		} else {
			p.Code = ""
		}
		return render(c, http.StatusUnprocessableEntity, views.Setup(p))
	case err != nil:
		return err
	}
	a := models.UserActor(u, c.RealIP(), c.Request().UserAgent())
	if err := h.store.Audit(ctx, w.ID, a, models.ActionSetup, models.Target{Type: "workspace", ID: fmt.Sprint(w.ID), Label: w.Name}, nil); err != nil {
		return err
	}
	h.log.Info("first-run setup completed", "user", u.Email, "workspace", w.Slug)
	if err := h.startSession(c, u.ID); err != nil {
		return err
	}
	if err := h.flash(c, "Welcome to Keyward. Your workspace is ready.", false); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/w/"+w.Slug+"/tokens")
}
