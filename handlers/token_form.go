package handlers

import (
	"strings"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/keyward/keyward/views"
	"github.com/labstack/echo/v4"
)

// tokenInput reads the create and details forms. Expiry fields are read by
// the create handler only.
func tokenInput(c echo.Context) (models.TokenInput, bool, error) {
	form, err := c.FormParams()
	if err != nil {
		return models.TokenInput{}, false, err
	}
	in := models.TokenInput{
		Type:              form.Get("type"),
		Name:              form.Get("name"),
		Description:       form.Get("description"),
		Scopes:            form["scopes"],
		IPAllowlist:       form.Get("ip_allowlist"),
		ExposedAttributes: form["attributes"],
		AcceptTerms:       form.Get("accept_terms") != "",
	}
	custom := form.Get("linking_choice") == "custom" || (form.Get("linking_choice") == "" && form.Get("linking_custom") != "")
	if custom {
		in.LinkingAttribute = strings.TrimSpace(form.Get("linking_custom"))
	} else {
		in.LinkingAttribute = form.Get("linking_choice")
	}
	return in, custom, nil
}

// expiryCandidates are the lifetimes the form offers, filtered to a type's bounds.
var expiryCandidates = []time.Duration{
	24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 30 * 24 * time.Hour,
	60 * 24 * time.Hour, 90 * 24 * time.Hour, 180 * 24 * time.Hour, 365 * 24 * time.Hour,
}

func expiryOptions(t *models.TokenType) []views.ExpiryOption {
	var out []views.ExpiryOption
	seen := map[time.Duration]bool{}
	add := func(d time.Duration) {
		if seen[d] || d < t.Expiry.Min || (t.Expiry.Max > 0 && d > t.Expiry.Max) {
			return
		}
		seen[d] = true
		out = append(out, views.ExpiryOption{Value: models.FormatDuration(d), Label: models.HumanDuration(d)})
	}
	for _, d := range expiryCandidates {
		if t.Expiry.Default > 0 && d > t.Expiry.Default && !seen[t.Expiry.Default] {
			add(t.Expiry.Default)
		}
		add(d)
	}
	if t.Expiry.Default > 0 {
		add(t.Expiry.Default)
	}
	if t.Expiry.Max > 0 {
		add(t.Expiry.Max)
	}
	if t.Expiry.Never {
		out = append(out, views.ExpiryOption{Value: "never", Label: "Never"})
	}
	return out
}

// readExpiry fills in the lifetime from expires_in or the custom date
// expires_on (the token then ends at the close of that UTC day).
func readExpiry(c echo.Context, in *models.TokenInput, now time.Time) (string, string, string) {
	choice, on := c.FormValue("expires_in"), strings.TrimSpace(c.FormValue("expires_on"))
	if on != "" {
		day, err := time.Parse("2006-01-02", on)
		if err != nil {
			return choice, on, "Enter the date as YYYY-MM-DD."
		}
		in.ExpiresIn = day.Add(24 * time.Hour).Sub(now)
		if in.ExpiresIn <= 0 {
			return choice, on, "Choose a date in the future."
		}
		return choice, on, ""
	}
	switch choice {
	case "":
	case "never":
		in.Never = true
	default:
		d, err := models.ParseDuration(choice)
		if err != nil || d <= 0 {
			return choice, on, "Choose one of the offered lifetimes."
		}
		in.ExpiresIn = d
	}
	return choice, on, ""
}
