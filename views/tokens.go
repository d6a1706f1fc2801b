package views

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/models"
)

// TokenRow is one line of the token list.
type TokenRow struct {
	Token   models.Token
	Status  string
	TypeTag string
}

// TokenListPage is the workspace's token list.
type TokenListPage struct {
	Chrome
	Rows      []TokenRow
	Types     []*models.TokenType
	Status    string
	Type      string
	Search    string
	Page      int
	PerPage   int
	Total     int64
	CanCreate bool
}

// PageURL keeps the filters while moving to another page.
func (p TokenListPage) PageURL(page int) string {
	q := url.Values{}
	if p.Status != "" {
		q.Set("status", p.Status)
	}
	if p.Type != "" {
		q.Set("type", p.Type)
	}
	if p.Search != "" {
		q.Set("q", p.Search)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return p.WorkspaceURL("/tokens")
	}
	return p.WorkspaceURL("/tokens?" + q.Encode())
}

// LastPage is the number of the final page.
func (p TokenListPage) LastPage() int {
	if p.PerPage == 0 || p.Total == 0 {
		return 1
	}
	return int((p.Total + int64(p.PerPage) - 1) / int64(p.PerPage))
}

// ExpiryOption is one choice in the expiry select.
type ExpiryOption struct {
	Value string
	Label string
}

// TokenFormPage is the new-token form.
type TokenFormPage struct {
	Chrome
	Types    []*models.TokenType
	Type     *models.TokenType
	Input    models.TokenInput
	Expiry   string // selected expires_in value
	ExpiryOn string // custom date, yyyy-mm-dd
	Options  []ExpiryOption
	Catalog  []string
	Custom   bool // linking attribute chosen through the "Custom" search
	Scopes   []models.ScopeDef
	Errors   map[string]string
	CapNote  string
	FormID   string
}

// Has reports whether the form currently selects scope s.
func (p TokenFormPage) Has(s string) bool { return slices.Contains(p.Input.Scopes, s) }

// HasAttr reports whether the form currently exposes attribute a.
func (p TokenFormPage) HasAttr(a string) bool { return slices.Contains(p.Input.ExposedAttributes, a) }

// QuickLinks are the catalogue entries offered directly as linking attributes;
// every other entry is reached through "Custom".
func (p TokenFormPage) QuickLinks() []string {
	return p.Catalog[:min(4, len(p.Catalog))]
}

// TokenPage is a token's own page with its tabs.
type TokenPage struct {
	Chrome
	Token     models.Token
	Type      *models.TokenType
	Status    string
	Tab       string // details, usage, activity
	Plaintext string // set only in the response that creates or resets it
	Revealed  string // "created" or "reset"
	Input     models.TokenInput
	Scopes    []models.ScopeDef
	Catalog   []string
	Errors    map[string]string
	CanEdit   bool
	Events    []models.AuditEvent
	Usage     *UsageView
	Now       time.Time
}

// Has reports whether the edit form selects scope s.
func (p TokenPage) Has(s string) bool { return slices.Contains(p.Input.Scopes, s) }

// HasAttr reports whether the edit form exposes attribute a.
func (p TokenPage) HasAttr(a string) bool { return slices.Contains(p.Input.ExposedAttributes, a) }

// TokenURL is the path of the token's page, plus rest.
func (p TokenPage) TokenURL(rest string) string {
	return p.WorkspaceURL("/tokens/" + p.Token.PublicID + rest)
}

// ConfirmPage asks before a reset or a revoke.
type ConfirmPage struct {
	Chrome
	Token  models.Token
	Action string // reset or revoke
	Errors map[string]string
	FormID string
}

// UsageView is what the Usage tab shows.
type UsageView struct {
	Days       []UsageDay
	Endpoints  []UsageEndpoint
	Today      int64
	Total      int64
	Errors     int64
	ErrorRate  string
	MaxPerDay  int64
	RecentIPs  []string
	LastUsedAt *time.Time
	LastUsedIP string
}

// UsageDay is one bar of the calls-per-day chart.
type UsageDay struct {
	Day     string
	OK      int64
	Errors  int64
	Height  int // 0–100, share of the busiest day
	ErrPart int // 0–100, share of this bar that failed
}

// UsageEndpoint is one row of calls per endpoint.
type UsageEndpoint struct {
	Endpoint string
	Calls    int64
	Errors   int64
}

func statusLabel(s string) string {
	switch s {
	case models.StatusExpiring:
		return "expiring soon"
	default:
		return s
	}
}

func i2s(n int) string { return strconv.Itoa(n) }

func scopeDescription(defs []models.ScopeDef, name string) string {
	for _, d := range defs {
		if d.Name == name {
			return d.Description
		}
	}
	return ""
}

func customValue(custom bool, linking string) string {
	if custom {
		return linking
	}
	return ""
}

func expiryHint(t *models.TokenType) string {
	e := t.Expiry
	hint := ""
	if b := e.Describe(); b != "" {
		hint = strings.ToUpper(b[:1]) + b[1:] + ". "
	}
	if e.Never {
		hint += "This type may also never expire. "
	}
	return hint + "Expired tokens are revoked automatically."
}

func tabCurrent(tab, name string) string {
	if tab == name || (tab == "" && name == "details") {
		return "page"
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func join(s []string) string { return strings.Join(s, ", ") }

func contains(s []string, v string) bool { return slices.Contains(s, v) }

// pageQuery adds page=n to a query string that starts with "?" or is empty.
func pageQuery(q string, n int) string {
	if q == "" {
		return "?page=" + i2s(n)
	}
	return q + "&page=" + i2s(n)
}
