package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

func (h *Handler) showLogin(c echo.Context) error {
	if v := currentViewer(c); v != nil && v.User != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	n, err := h.store.UserCount(c.Request().Context())
	if err != nil {
		return err
	}
	if n == 0 {
		return c.Redirect(http.StatusSeeOther, "/setup")
	}
	p := views.LoginPage{CSRF: csrfToken(c), Next: c.QueryParam("next")}
	if c.QueryParam("signed_out") != "" {
		p.Notice = "You are signed out."
	}
	return render(c, http.StatusOK, views.Login(p))
}

func (h *Handler) login(c echo.Context) error {
	ctx := c.Request().Context()
	email := models.NormalizeEmail(c.FormValue("email"))
	p := views.LoginPage{CSRF: csrfToken(c), Email: email, Next: c.FormValue("next")}
	ip := c.RealIP()
	failed := models.Actor{Type: "user", Label: email, IP: ip, UserAgent: c.Request().UserAgent()}
	target := models.Target{Type: "user", Label: email}

	throttled, until, err := h.store.LoginThrottled(ctx, email, ip)
	if err != nil {
		return err
	}
	if throttled {
		if err := h.store.Audit(ctx, 0, failed, models.ActionLoginThrottled, target, nil); err != nil {
			return err
		}
		p.Error = fmt.Sprintf("Too many failed sign-ins for this account or network. Try again after %s.", until.UTC().Format("15:04 UTC"))
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(until.Sub(h.store.Now()).Seconds())+1))
		return render(c, http.StatusTooManyRequests, views.Login(p))
	}
	u, err := h.store.Authenticate(ctx, email, c.FormValue("password"))
	if errors.Is(err, models.ErrBadCredentials) {
		if err := h.store.Audit(ctx, 0, failed, models.ActionLoginFailed, target, nil); err != nil {
			return err
		}
		p.Error = "Wrong email or password."
		return render(c, http.StatusUnauthorized, views.Login(p))
	}
	if err != nil {
		return err
	}
	if err := h.startSession(c, u.ID); err != nil {
		return err
	}
	ok := models.UserActor(u, ip, c.Request().UserAgent())
	if err := h.store.Audit(ctx, 0, ok, models.ActionLoginSucceeded, models.Target{Type: "user", ID: fmt.Sprint(u.ID), Label: u.Email}, nil); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, safeNext(p.Next))
}

func (h *Handler) logout(c echo.Context) error {
	v := currentViewer(c)
	if v.User != nil {
		if err := h.store.Audit(c.Request().Context(), 0, actor(c), models.ActionLogout, models.Target{Type: "user", ID: fmt.Sprint(v.User.ID), Label: v.User.Email}, nil); err != nil {
			return err
		}
	}
	if err := h.endSession(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

func (h *Handler) logoutEverywhere(c echo.Context) error {
	v := currentViewer(c)
	ctx := c.Request().Context()
	n, err := h.store.DeleteSessionsByUser(ctx, v.User.ID)
	if err != nil {
		return err
	}
	if err := h.store.Audit(ctx, 0, actor(c), models.ActionLogoutAll, models.Target{Type: "user", ID: fmt.Sprint(v.User.ID), Label: v.User.Email}, map[string]any{"sessions": n}); err != nil {
		return err
	}
	if err := h.endSession(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}
