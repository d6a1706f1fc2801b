package handlers

import (
	"net/http"

	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

// home sends people where they can act: setup, sign-in, or their first workspace.
func (h *Handler) home(c echo.Context) error {
	ctx := c.Request().Context()
	v := currentViewer(c)
	if v.User == nil {
		n, err := h.store.UserCount(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return c.Redirect(http.StatusSeeOther, "/setup")
		}
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	ms, err := h.store.MembershipsByUser(ctx, v.User.ID)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		return c.Redirect(http.StatusSeeOther, "/w/"+ms[0].Workspace.Slug+"/tokens")
	}
	ch, err := h.chrome(c, "Keyward", "")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, views.Home(views.HomePage{Chrome: ch}))
}
