package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

func (h *Handler) membersPage(c echo.Context, status int, p views.MembersPage) error {
	ch, err := h.chrome(c, "Members", "members")
	if err != nil {
		return err
	}
	ms, err := h.store.MembersByWorkspace(c.Request().Context(), ch.Workspace.ID)
	if err != nil {
		return err
	}
	p.Chrome, p.Members = ch, ms
	return render(c, status, views.Members(p))
}

func (h *Handler) showMembers(c echo.Context) error {
	return h.membersPage(c, http.StatusOK, views.MembersPage{FormID: newFormID()})
}

func (h *Handler) addMember(c echo.Context) error {
	v := currentViewer(c)
	ctx := c.Request().Context()
	p := views.MembersPage{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role"), FormID: c.FormValue("form_id")}
	if path, done := h.formDone(c, p.FormID); done {
		return h.repeatedForm(c, path, "This person was already added and their initial password shown once.")
	}
	password, err := models.GeneratePassword()
	if err != nil {
		return err
	}
	m, created, err := h.store.AddMember(ctx, v.Workspace.ID, models.NewUser{Email: p.Email, Name: p.Name, Password: password}, models.Role(p.Role))
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		p.Errors = fe
		return h.membersPage(c, http.StatusUnprocessableEntity, p)
	}
	if err != nil {
		return err
	}
	err = h.store.Audit(ctx, v.Workspace.ID, actor(c), models.ActionMemberAdded,
		models.Target{Type: "user", ID: fmt.Sprint(m.UserID), Label: m.User.Email}, map[string]any{"role": m.Role, "new_account": created})
	if err != nil {
		return err
	}
	if !created {
		if err := h.flash(c, m.User.Email+" joined the workspace as "+string(m.Role)+".", false); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/w/"+v.Workspace.Slug+"/members")
	}
	// The generated password is shown once, in this response only.
	if err := h.markFormDone(c, p.FormID, "/w/"+v.Workspace.Slug+"/members"); err != nil {
		return err
	}
	noStore(c)
	return h.membersPage(c, http.StatusOK, views.MembersPage{NewPassword: password, NewEmail: m.User.Email, FormID: newFormID()})
}

func (h *Handler) memberFromPath(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("user"), 10, 64)
	if err != nil {
		return 0, errNotFound
	}
	return id, nil
}

func (h *Handler) changeMemberRole(c echo.Context) error {
	v := currentViewer(c)
	ctx := c.Request().Context()
	userID, err := h.memberFromPath(c)
	if err != nil {
		return err
	}
	role := models.Role(c.FormValue("role"))
	err = h.store.ChangeRole(ctx, v.Workspace.ID, userID, role)
	var fe models.FieldErrors
	switch {
	case errors.Is(err, models.ErrNotFound):
		return errNotFound
	case errors.Is(err, models.ErrLastAdmin):
		return h.redirectFlash(c, "/members", "The workspace needs at least one admin: make someone else admin first.", true)
	case errors.As(err, &fe):
		return h.redirectFlash(c, "/members", fe["role"], true)
	case err != nil:
		return err
	}
	u, err := h.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := h.store.Audit(ctx, v.Workspace.ID, actor(c), models.ActionMemberRole, models.Target{Type: "user", ID: fmt.Sprint(userID), Label: u.Email}, map[string]any{"role": role}); err != nil {
		return err
	}
	if userID == v.User.ID && role != models.RoleAdmin {
		// They can no longer open the members page; land where they still may.
		return h.redirectFlash(c, "/tokens", "You are now "+string(role)+" in this workspace.", false)
	}
	return h.redirectFlash(c, "/members", u.Email+" is now "+string(role)+".", false)
}

func (h *Handler) removeMember(c echo.Context) error {
	v := currentViewer(c)
	ctx := c.Request().Context()
	userID, err := h.memberFromPath(c)
	if err != nil {
		return err
	}
	u, err := h.store.UserByID(ctx, userID)
	if errors.Is(err, models.ErrNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	err = h.store.RemoveMember(ctx, v.Workspace.ID, userID)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return errNotFound
	case errors.Is(err, models.ErrLastAdmin):
		return h.redirectFlash(c, "/members", "The workspace needs at least one admin: make someone else admin first.", true)
	case err != nil:
		return err
	}
	if err := h.store.Audit(ctx, v.Workspace.ID, actor(c), models.ActionMemberRemoved, models.Target{Type: "user", ID: fmt.Sprint(userID), Label: u.Email}, nil); err != nil {
		return err
	}
	return h.redirectFlash(c, "/members", u.Email+" was removed from the workspace.", false)
}

// redirectFlash redirects within the current workspace with a one-time message.
func (h *Handler) redirectFlash(c echo.Context, rest, msg string, isError bool) error {
	if err := h.flash(c, msg, isError); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/w/"+currentViewer(c).Workspace.Slug+rest)
}
