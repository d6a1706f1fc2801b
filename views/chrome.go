// Package views holds the dashboard's templ components, one typed page struct
// per page.
package views

import (
	"fmt"
	"time"

	"github.com/keyward/keyward/models"
)

// Chrome is what every signed-in page's layout needs.
type Chrome struct {
	Title      string
	User       *models.User
	Workspaces []models.Membership
	Workspace  *models.Workspace
	Role       models.Role
	CSRF       string
	Flash      string
	FlashError bool
	Section    string // nav item to mark current: tokens, members, audit, settings, account
}

// WorkspaceURL builds a path inside the current workspace.
func (c Chrome) WorkspaceURL(rest string) string {
	if c.Workspace == nil {
		return "/"
	}
	return "/w/" + c.Workspace.Slug + rest
}

// IsAdmin reports whether the viewer is an admin of the current workspace.
func (c Chrome) IsAdmin() bool { return c.Role == models.RoleAdmin }

// ManagesTokens reports whether the viewer sees all tokens of the workspace.
func (c Chrome) ManagesTokens() bool { return c.Role.ManagesTokens() }

func current(c Chrome, section string) string {
	if c.Section == section {
		return "page"
	}
	return ""
}

// FormatTime renders a time for tables: UTC, minute precision.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// FormatTimePtr renders an optional time, with a word for "not set".
func FormatTimePtr(t *time.Time, none string) string {
	if t == nil || t.IsZero() {
		return none
	}
	return FormatTime(*t)
}

// ISO renders a time for datetime attributes.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func itoa(n int64) string { return fmt.Sprint(n) }

// invalid returns the aria-invalid value for a field with an error message.
func invalid(msg string) string {
	if msg == "" {
		return ""
	}
	return "true"
}
