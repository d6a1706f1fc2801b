package handlers

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

const usageDays = 30

func (h *Handler) tokenUsage(c echo.Context) error {
	tok, err := h.viewerToken(c)
	if err != nil {
		return err
	}
	p, err := h.tokenPage(c, tok, "usage")
	if err != nil {
		return err
	}
	today := h.store.Now().UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(usageDays - 1))
	rows, err := h.store.UsageByToken(c.Request().Context(), tok.ID, since)
	if err != nil {
		return err
	}
	p.Usage = usageView(rows, since, today)
	p.Usage.RecentIPs, p.Usage.LastUsedAt, p.Usage.LastUsedIP = tok.RecentIPs, tok.LastUsedAt, tok.LastUsedIP
	return render(c, http.StatusOK, views.Token(p))
}

// usageView folds the counters into the chart, the endpoint table and totals.
func usageView(rows []models.UsageCounter, since, today time.Time) *views.UsageView {
	u := &views.UsageView{}
	byDay := map[string]*views.UsageDay{}
	byEndpoint := map[string]*views.UsageEndpoint{}
	todayKey := today.Format(time.DateOnly)
	for _, r := range rows {
		d := byDay[r.Day]
		if d == nil {
			d = &views.UsageDay{Day: r.Day}
			byDay[r.Day] = d
		}
		e := byEndpoint[r.Endpoint]
		if e == nil {
			e = &views.UsageEndpoint{Endpoint: r.Endpoint}
			byEndpoint[r.Endpoint] = e
		}
		e.Calls += r.Count
		u.Total += r.Count
		if r.Outcome == "ok" {
			d.OK += r.Count
		} else {
			d.Errors += r.Count
			e.Errors += r.Count
			u.Errors += r.Count
		}
		if r.Day == todayKey {
			u.Today += r.Count
		}
	}
	for day := since; !day.After(today); day = day.AddDate(0, 0, 1) {
		key := day.Format(time.DateOnly)
		d := byDay[key]
		if d == nil {
			d = &views.UsageDay{Day: key}
		}
		u.MaxPerDay = max(u.MaxPerDay, d.OK+d.Errors)
		u.Days = append(u.Days, *d)
	}
	for i := range u.Days {
		d := &u.Days[i]
		if total := d.OK + d.Errors; total > 0 {
			d.Height = int(max(1, total*100/max(u.MaxPerDay, 1)))
			d.ErrPart = int(d.Errors * 100 / total)
		}
	}
	for _, e := range byEndpoint {
		u.Endpoints = append(u.Endpoints, *e)
	}
	sort.Slice(u.Endpoints, func(i, j int) bool { return u.Endpoints[i].Calls > u.Endpoints[j].Calls })
	u.ErrorRate = "0%"
	if u.Total > 0 {
		u.ErrorRate = fmt.Sprintf("%.1f%%", float64(u.Errors)*100/float64(u.Total))
	}
	return u
}
