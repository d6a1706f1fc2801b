package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Audit actions. Token actions are written by the token store methods.
const (
	ActionLoginSucceeded = "login.succeeded"
	ActionLoginFailed    = "login.failed"
	ActionLoginThrottled = "login.throttled"
	ActionLogout         = "logout"
	ActionLogoutAll      = "logout.everywhere"
	ActionPasswordChange = "account.password_changed"
	ActionSetup          = "setup.completed"
	ActionMemberAdded    = "member.added"
	ActionMemberRole     = "member.role_changed"
	ActionMemberRemoved  = "member.removed"
	ActionWorkspaceEdit  = "workspace.updated"
	ActionTokenCreated   = "token.created"
	ActionTokenUpdated   = "token.updated"
	ActionTokenReset     = "token.reset"
	ActionTokenRevoked   = "token.revoked"
	ActionTokenExpired   = "token.expired"
)

// Actor says who did something: a signed-in user, a token, or Keyward itself.
type Actor struct {
	Type      string // "user", "token" or "system"
	ID        string
	Label     string
	IP        string
	UserAgent string
}

// SystemActor is the actor for background work such as the expiry sweep.
var SystemActor = Actor{Type: "system", Label: "Keyward"}

// UserActor returns the actor for a signed-in user.
func UserActor(u *User, ip, userAgent string) Actor {
	return Actor{Type: "user", ID: fmt.Sprint(u.ID), Label: u.Email, IP: ip, UserAgent: userAgent}
}

// AuditEvent is one append-only audit log row. It never holds a plaintext token.
type AuditEvent struct {
	ID          int64
	WorkspaceID *int64
	ActorType   string
	ActorID     string
	ActorLabel  string
	Action      string
	TargetType  string
	TargetID    string
	TargetLabel string
	IP          string
	UserAgent   string
	Details     string
	CreatedAt   time.Time
}

// Target names what an audit event is about.
type Target struct {
	Type, ID, Label string
}

func (s *Store) newAudit(workspaceID int64, a Actor, action string, t Target, details map[string]any) *AuditEvent {
	// Labels and the user agent can be whatever a visitor typed or sent.
	ev := &AuditEvent{
		ActorType: a.Type, ActorID: a.ID, ActorLabel: truncate(a.Label, 320), Action: action,
		TargetType: t.Type, TargetID: t.ID, TargetLabel: truncate(t.Label, 320),
		IP: a.IP, UserAgent: truncate(a.UserAgent, 300), CreatedAt: s.now(),
	}
	if workspaceID != 0 {
		ev.WorkspaceID = &workspaceID
	}
	if len(details) > 0 {
		b, _ := json.Marshal(details)
		ev.Details = string(b)
	}
	return ev
}

// Audit appends an event. workspaceID 0 means not tied to a workspace (sign-in).
func (s *Store) Audit(ctx context.Context, workspaceID int64, a Actor, action string, t Target, details map[string]any) error {
	if err := s.db.WithContext(ctx).Create(s.newAudit(workspaceID, a, action, t, details)).Error; err != nil {
		return fmt.Errorf("store: unable to write audit event: %w", err)
	}
	return nil
}

// AuditFilter narrows an audit query. Zero fields match everything.
type AuditFilter struct {
	WorkspaceID int64
	Action      string // exact, or a prefix ending in "." such as "token."
	ActorLabel  string
	TargetType  string
	TargetID    string
	Since       time.Time
	Until       time.Time
	Limit       int
	Offset      int
}

// AuditEvents returns matching events, newest first, and the total count.
func (s *Store) AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, int64, error) {
	q := s.db.WithContext(ctx).Model(&AuditEvent{})
	if f.WorkspaceID != 0 {
		// Sign-in events belong to no workspace; a workspace's log shows those
		// of its own members.
		q = q.Where(`workspace_id = ? OR (workspace_id IS NULL AND target_type = 'user' AND target_label IN
			(SELECT users.email FROM users JOIN memberships ON memberships.user_id = users.id WHERE memberships.workspace_id = ?))`,
			f.WorkspaceID, f.WorkspaceID)
	}
	if f.Action != "" {
		if f.Action[len(f.Action)-1] == '.' {
			q = q.Where("action LIKE ?", f.Action+"%")
		} else {
			q = q.Where("action = ?", f.Action)
		}
	}
	if f.ActorLabel != "" {
		q = q.Where("LOWER(actor_label) = ?", strings.ToLower(strings.TrimSpace(f.ActorLabel)))
	}
	if f.TargetType != "" {
		q = q.Where("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("created_at < ?", f.Until.UTC())
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: unable to count audit events: %w", err)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit).Offset(f.Offset)
	}
	var out []AuditEvent
	if err := q.Order("created_at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, 0, fmt.Errorf("store: unable to list audit events: %w", err)
	}
	return out, total, nil
}

// Sign-in throttling: failures are counted from the audit log so every
// instance sharing the database sees the same numbers.
const (
	LoginWindow         = 15 * time.Minute
	MaxFailuresPerEmail = 5
	MaxFailuresPerIP    = 20
)

// LoginThrottled reports whether sign-in for email or from ip must wait, and
// until when.
func (s *Store) LoginThrottled(ctx context.Context, email, ip string) (bool, time.Time, error) {
	since := s.now().Add(-LoginWindow)
	check := func(col, val string, max int) (bool, time.Time, error) {
		var rows []time.Time
		err := s.db.WithContext(ctx).Model(&AuditEvent{}).
			Where("action = ? AND created_at >= ? AND "+col+" = ?", ActionLoginFailed, since, val).
			Order("created_at DESC").Limit(max).Pluck("created_at", &rows).Error
		if err != nil {
			return false, time.Time{}, fmt.Errorf("store: unable to count sign-in failures: %w", err)
		}
		if len(rows) < max {
			return false, time.Time{}, nil
		}
		// The window reopens when the oldest of the last max failures ages out.
		return true, rows[len(rows)-1].Add(LoginWindow), nil
	}
	if blocked, until, err := check("target_label", NormalizeEmail(email), MaxFailuresPerEmail); blocked || err != nil {
		return blocked, until, err
	}
	return check("ip", ip, MaxFailuresPerIP)
}

// truncate makes s valid UTF-8 and cuts it to at most n bytes on a character
// boundary: PostgreSQL refuses text with broken UTF-8.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
