package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

// creatableType returns the type the viewer may create, or nil when none is
// named; a type the role may not create is forbidden.
func (h *Handler) creatableType(c echo.Context, name string) (*models.TokenType, []*models.TokenType, error) {
	types := h.policy.TypesForRole(string(currentViewer(c).Role))
	if len(types) == 0 {
		return nil, nil, errForbidden
	}
	if name == "" {
		return types[0], types, nil
	}
	i := slices.IndexFunc(types, func(t *models.TokenType) bool { return t.Name == name })
	if i < 0 {
		if _, known := h.policy.Type(name); known {
			return nil, nil, errForbidden
		}
		return nil, types, nil
	}
	return types[i], types, nil
}

func (h *Handler) tokenFormPage(c echo.Context, tt *models.TokenType, types []*models.TokenType) (views.TokenFormPage, error) {
	v := currentViewer(c)
	ch, err := h.chrome(c, "New API token", "tokens")
	if err != nil {
		return views.TokenFormPage{}, err
	}
	p := views.TokenFormPage{Chrome: ch, Types: types, Type: tt, Catalog: v.Workspace.AttributeCatalog, Scopes: h.policy.ScopeList, Errors: map[string]string{}, FormID: newFormID()}
	if tt != nil {
		p.Options = expiryOptions(tt)
		p.Expiry = models.FormatDuration(tt.Expiry.Default)
		if tt.Expiry.Default == 0 {
			p.Expiry = "never"
		}
	}
	p.CapNote, err = h.capNote(c)
	return p, err
}

// capNote explains a cap the viewer has already reached, before they fill the form.
func (h *Handler) capNote(c echo.Context) (string, error) {
	v := currentViewer(c)
	ctx := c.Request().Context()
	if cap := h.policy.Limits.WorkspaceActiveTokens; cap > 0 {
		n, err := h.store.ActiveTokenCount(ctx, v.Workspace.ID, 0)
		if err != nil {
			return "", err
		}
		if n >= int64(cap) {
			return fmt.Sprintf("This workspace has %d active tokens, the most its policy allows. Revoke one before creating another.", n), nil
		}
	}
	if cap := h.policy.Limits.UserActiveTokens; cap > 0 {
		n, err := h.store.ActiveTokenCount(ctx, v.Workspace.ID, v.User.ID)
		if err != nil {
			return "", err
		}
		if n >= int64(cap) {
			return fmt.Sprintf("You have %d active tokens here, the most one person may hold. Revoke one before creating another.", n), nil
		}
	}
	return "", nil
}

func (h *Handler) newToken(c echo.Context) error {
	tt, types, err := h.creatableType(c, c.QueryParam("type"))
	if err != nil {
		return err
	}
	p, err := h.tokenFormPage(c, tt, types)
	if err != nil {
		return err
	}
	if tt == nil {
		p.Errors["type"] = "Choose one of the listed token types."
		return render(c, http.StatusUnprocessableEntity, views.TokenForm(p))
	}
	return render(c, http.StatusOK, views.TokenForm(p))
}

func (h *Handler) createToken(c echo.Context) error {
	v := currentViewer(c)
	ctx := c.Request().Context()
	in, custom, err := tokenInput(c)
	if err != nil {
		return err
	}
	formID := c.FormValue("form_id")
	if path, done := h.formDone(c, formID); done {
		return h.repeatedForm(c, path, "This form was already sent: the token was created and shown once. Reset it if you did not copy it.")
	}
	tt, types, err := h.creatableType(c, in.Type)
	if err != nil {
		return err
	}
	fail := func(p views.TokenFormPage, errs map[string]string) error {
		p.Input, p.Custom, p.Errors = in, custom, errs
		return render(c, http.StatusUnprocessableEntity, views.TokenForm(p))
	}
	p, err := h.tokenFormPage(c, tt, types)
	if err != nil {
		return err
	}
	if tt == nil {
		return fail(p, map[string]string{"type": fmt.Sprintf("%q is not a token type you can create.", in.Type)})
	}
	var expiryMsg string
	p.Expiry, p.ExpiryOn, expiryMsg = readExpiry(c, &in, h.store.Now())
	if expiryMsg != "" {
		return fail(p, map[string]string{"expires": expiryMsg})
	}
	tok, plaintext, err := h.store.CreateToken(ctx, h.policy, v.Workspace, v.User, actor(c), in)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		return fail(p, fe)
	}
	if err != nil {
		return err
	}
	if err := h.markFormDone(c, formID, "/w/"+v.Workspace.Slug+"/tokens/"+tok.PublicID); err != nil {
		return err
	}
	return h.revealToken(c, tok, plaintext, "created")
}
