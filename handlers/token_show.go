package handlers

import (
	"errors"
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

// viewerToken loads the token named in the path. Another workspace's token is
// not found; a member asking for someone else's token is forbidden.
func (h *Handler) viewerToken(c echo.Context) (*models.Token, error) {
	v := currentViewer(c)
	tok, err := h.store.TokenByPublicID(c.Request().Context(), v.Workspace.ID, c.Param("id"))
	if errors.Is(err, models.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	if !v.Role.ManagesTokens() && (tok.CreatedByID == nil || *tok.CreatedByID != v.User.ID) {
		return nil, errForbidden
	}
	return tok, nil
}

func (h *Handler) tokenPage(c echo.Context, tok *models.Token, tab string) (views.TokenPage, error) {
	ch, err := h.chrome(c, tok.Name, "tokens")
	if err != nil {
		return views.TokenPage{}, err
	}
	now := h.store.Now()
	tt, ok := h.policy.Type(tok.Type)
	if !ok {
		tt = &models.TokenType{Name: tok.Type, Label: tok.Type, IPRule: "optional"}
	}
	status := tok.Status(now)
	return views.TokenPage{
		Chrome: ch, Token: *tok, Type: tt, Status: status, Tab: tab, Now: now,
		Scopes: h.policy.ScopeList, Catalog: currentViewer(c).Workspace.AttributeCatalog,
		CanEdit: status != models.StatusRevoked && status != models.StatusExpired && ok,
		Input: models.TokenInput{
			Name: tok.Name, Description: tok.Description, Scopes: tok.Scopes, IPAllowlist: tok.IPAllowlist,
			ExposedAttributes: tok.ExposedAttributes, LinkingAttribute: tok.LinkingAttribute,
		},
	}, nil
}

func (h *Handler) showToken(c echo.Context) error {
	tok, err := h.viewerToken(c)
	if err != nil {
		return err
	}
	p, err := h.tokenPage(c, tok, "details")
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Token(p))
}

func (h *Handler) tokenActivity(c echo.Context) error {
	tok, err := h.viewerToken(c)
	if err != nil {
		return err
	}
	p, err := h.tokenPage(c, tok, "activity")
	if err != nil {
		return err
	}
	p.Events, _, err = h.store.AuditEvents(c.Request().Context(), models.AuditFilter{
		WorkspaceID: tok.WorkspaceID, TargetType: "token", TargetID: tok.PublicID, Limit: 200,
	})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Token(p))
}

// revealToken answers a create or reset with the token's page and the
// plaintext in an open dialog. It is the one response that carries the
// secret, so it is never cached and never redirected to.
func (h *Handler) revealToken(c echo.Context, tok *models.Token, plaintext, how string) error {
	p, err := h.tokenPage(c, tok, "details")
	if err != nil {
		return err
	}
	p.Plaintext, p.Revealed = plaintext, how
	noStore(c)
	status := http.StatusOK
	if how == "created" {
		status = http.StatusCreated
	}
	return render(c, status, views.Token(p))
}
