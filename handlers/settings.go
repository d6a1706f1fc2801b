package handlers

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

var attributeName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (h *Handler) settingsPage(c echo.Context, status int, p views.SettingsPage) error {
	ch, err := h.chrome(c, "Workspace settings", "settings")
	if err != nil {
		return err
	}
	p.Chrome = ch
	for _, name := range h.policy.PlanNames() {
		p.Plans = append(p.Plans, h.policy.Plan(name))
	}
	return render(c, status, views.Settings(p))
}

func (h *Handler) showSettings(c echo.Context) error {
	w := currentViewer(c).Workspace
	return h.settingsPage(c, http.StatusOK, views.SettingsPage{Plan: h.policy.Plan(w.Plan).Name, Catalog: strings.Join(w.AttributeCatalog, "\n")})
}

func (h *Handler) updateSettings(c echo.Context) error {
	w := currentViewer(c).Workspace
	p := views.SettingsPage{Plan: c.FormValue("plan"), Catalog: c.FormValue("catalog"), Errors: map[string]string{}}
	if len(h.policy.Plans) == 0 {
		// A policy without plans offers no plan field: keep the stored value.
		p.Plan = w.Plan
	} else if _, ok := h.policy.Plans[p.Plan]; !ok {
		p.Errors["plan"] = "Choose one of the listed plans."
	}
	var catalog []string
	for i, line := range strings.Split(p.Catalog, "\n") {
		a := strings.TrimSpace(line)
		switch {
		case a == "":
		case !attributeName.MatchString(a):
			p.Errors["catalog"] = fmt.Sprintf("Line %d: %q may use only letters, digits, dots, dashes and underscores (at most 64).", i+1, a)
		default:
			if !slices.Contains(catalog, a) {
				catalog = append(catalog, a)
			}
		}
	}
	if len(catalog) > 500 {
		p.Errors["catalog"] = "Keep the catalogue to 500 attributes or fewer."
	}
	if len(p.Errors) > 0 {
		return h.settingsPage(c, http.StatusUnprocessableEntity, p)
	}
	ctx := c.Request().Context()
	if err := h.store.UpdateWorkspaceSettings(ctx, w.ID, p.Plan, catalog); err != nil {
		return err
	}
	err := h.store.Audit(ctx, w.ID, actor(c), models.ActionWorkspaceEdit, models.Target{Type: "workspace", ID: fmt.Sprint(w.ID), Label: w.Name},
		map[string]any{"plan": p.Plan, "attributes": len(catalog)})
	if err != nil {
		return err
	}
	return h.redirectFlash(c, "/settings", "Settings saved.", false)
}
