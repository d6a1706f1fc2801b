package handlers

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

const auditPerPage = 50

// auditFilter reads the audit filters shared by the page and the CSV export.
func auditFilter(c echo.Context, workspaceID int64) (models.AuditFilter, views.AuditPage) {
	p := views.AuditPage{
		Action: c.QueryParam("action"), Actor: strings.TrimSpace(c.QueryParam("actor")),
		Target: strings.TrimSpace(c.QueryParam("target")), Since: c.QueryParam("since"), Until: c.QueryParam("until"),
		Errors: map[string]string{}, PerPage: auditPerPage,
	}
	f := models.AuditFilter{WorkspaceID: workspaceID, Action: p.Action, ActorLabel: p.Actor, TargetID: p.Target}
	if p.Since != "" {
		t, err := time.Parse("2006-01-02", p.Since)
		if err != nil {
			p.Errors["since"] = "Enter the date as YYYY-MM-DD."
		}
		f.Since = t
	}
	if p.Until != "" {
		t, err := time.Parse("2006-01-02", p.Until)
		if err != nil {
			p.Errors["until"] = "Enter the date as YYYY-MM-DD."
		}
		f.Until = t.Add(24 * time.Hour)
	}
	q := url.Values{}
	for k, v := range map[string]string{"action": p.Action, "actor": p.Actor, "target": p.Target, "since": p.Since, "until": p.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) > 0 {
		p.Query = "?" + q.Encode()
	}
	return f, p
}

func (h *Handler) showAudit(c echo.Context) error {
	v := currentViewer(c)
	f, p := auditFilter(c, v.Workspace.ID)
	ch, err := h.chrome(c, "Audit log", "audit")
	if err != nil {
		return err
	}
	p.Chrome = ch
	if len(p.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.Audit(p))
	}
	p.Page, _ = strconv.Atoi(c.QueryParam("page"))
	p.Page = max(p.Page, 1)
	f.Limit, f.Offset = auditPerPage, (p.Page-1)*auditPerPage
	p.Events, p.Total, err = h.store.AuditEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Audit(p))
}

// exportAudit streams every matching event as CSV.
func (h *Handler) exportAudit(c echo.Context) error {
	v := currentViewer(c)
	f, p := auditFilter(c, v.Workspace.ID)
	if len(p.Errors) > 0 {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "The date filters must be YYYY-MM-DD.")
	}
	f.Limit = 100000
	events, _, err := h.store.AuditEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="keyward-audit-%s-%s.csv"`, v.Workspace.Slug, h.store.Now().Format("20060102")))
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	_ = w.Write([]string{"time", "action", "actor_type", "actor", "target_type", "target_id", "target", "ip", "user_agent", "details"})
	for _, e := range events {
		_ = w.Write([]string{e.CreatedAt.UTC().Format(time.RFC3339), e.Action, e.ActorType, csvSafe(e.ActorLabel), e.TargetType,
			csvSafe(e.TargetID), csvSafe(e.TargetLabel), e.IP, csvSafe(e.UserAgent), csvSafe(e.Details)})
	}
	w.Flush()
	return w.Error()
}

// csvSafe defuses values a spreadsheet would run as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
