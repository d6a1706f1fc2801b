package handlers

import (
	"net/http"
	"strconv"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

const tokensPerPage = 25

func (h *Handler) listTokens(c echo.Context) error {
	v := currentViewer(c)
	ch, err := h.chrome(c, "API tokens", "tokens")
	if err != nil {
		return err
	}
	page, _ := strconv.Atoi(c.QueryParam("page"))
	q := models.TokenQuery{
		WorkspaceID: v.Workspace.ID, Status: c.QueryParam("status"), Type: c.QueryParam("type"),
		Search: c.QueryParam("q"), Page: max(page, 1), PerPage: tokensPerPage,
	}
	if !v.Role.ManagesTokens() {
		q.CreatedByID = v.User.ID
	}
	tokens, total, err := h.store.TokensByWorkspace(c.Request().Context(), q)
	if err != nil {
		return err
	}
	types := h.policy.TypesForRole(string(v.Role))
	p := views.TokenListPage{
		Chrome: ch, Types: h.policy.TypesForRole(string(models.RoleAdmin)), Status: q.Status, Type: q.Type, Search: q.Search,
		Page: q.Page, PerPage: q.PerPage, Total: total, CanCreate: len(types) > 0,
	}
	now := h.store.Now()
	for _, t := range tokens {
		p.Rows = append(p.Rows, views.TokenRow{Token: t, Status: t.Status(now), TypeTag: h.typeLabel(t.Type)})
	}
	return render(c, http.StatusOK, views.TokenList(p))
}

func (h *Handler) typeLabel(name string) string {
	if t, ok := h.policy.Type(name); ok {
		return t.Label
	}
	return name
}
