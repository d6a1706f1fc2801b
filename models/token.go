package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Token is an issued API token. Only the SHA-256 of the plaintext is kept; the
// public id addresses it everywhere.
type Token struct {
	ID                 int64
	PublicID           string
	WorkspaceID        int64
	Type               string
	Prefix             string
	Name               string
	Description        string
	CreatedByID        *int64
	CreatedByLabel     string
	SecretHash         string
	Last4              string
	Scopes             []string `gorm:"serializer:json"`
	IPAllowlist        string
	ExposedAttributes  []string `gorm:"serializer:json"`
	LinkingAttribute   string
	RateDaily          int
	RatePerMinute      int
	ExpiresAt          *time.Time
	TermsAcceptedAt    *time.Time
	PreviousHash       string
	PreviousValidUntil *time.Time
	LastUsedAt         *time.Time
	LastUsedIP         string
	RecentIPs          []string `gorm:"serializer:json"`
	RevokedAt          *time.Time
	RevokedByLabel     string
	RevokedReason      string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Token statuses as shown in the dashboard and accepted by filters.
const (
	StatusActive   = "active"
	StatusExpiring = "expiring"
	StatusExpired  = "expired"
	StatusRevoked  = "revoked"
)

// Revocation reasons.
const (
	RevokeManual  = "manual"
	RevokeExpired = "expired"
)

// Masked is the token as the dashboard may show it: prefix and id, then the last 4.
func (t *Token) Masked() string { return MaskToken(t.Prefix, t.PublicID, t.Last4) }

// Status reports the token's state at now. A token is "expiring" when less
// than a quarter of its life, and at most a week, remains.
func (t *Token) Status(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return StatusRevoked
	case t.ExpiresAt == nil:
		return StatusActive
	case !now.Before(*t.ExpiresAt):
		return StatusExpired
	}
	left := t.ExpiresAt.Sub(now)
	window := min(7*24*time.Hour, t.ExpiresAt.Sub(t.CreatedAt)/4)
	if left <= window {
		return StatusExpiring
	}
	return StatusActive
}

// Allowlist parses the stored IP allowlist; stored values were validated on write.
func (t *Token) Allowlist() IPAllowlist {
	l, _ := ParseIPAllowlist(t.IPAllowlist)
	return l
}

// GraceActive reports whether the secret replaced by the last reset still works.
func (t *Token) GraceActive(now time.Time) bool {
	return t.PreviousHash != "" && t.PreviousValidUntil != nil && now.Before(*t.PreviousValidUntil)
}

// TokenInput is what a person or API caller supplies to create or edit a token.
type TokenInput struct {
	Type              string
	Name              string
	Description       string
	Scopes            []string
	ExpiresIn         time.Duration // 0 with Never false: the type's default
	Never             bool
	IPAllowlist       string
	ExposedAttributes []string
	LinkingAttribute  string
	AcceptTerms       bool
	RateDaily         int
	RatePerMinute     int
}

// MaxGrace is the longest a reset may leave the old secret working.
const MaxGrace = 24 * time.Hour

// Token-store errors. Validation problems come back as FieldErrors instead.
var (
	ErrTokenRevoked = errors.New("token is revoked")
)

// OnTokenChange registers fn to run after a token is revoked, reset or edited.
func (s *Store) OnTokenChange(fn func(publicID string)) {
	s.hooks = append(s.hooks, fn)
}

func (s *Store) tokenChanged(publicID string) {
	for _, fn := range s.hooks {
		fn(publicID)
	}
}

// validate checks in against the type's rules and the workspace catalogue and
// returns the normalised values or FieldErrors keyed by form field.
func (in *TokenInput) validate(p *Policy, tt *TokenType, ws *Workspace, creating bool) FieldErrors {
	errs := FieldErrors{}
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	if m := CheckName(in.Name, "name"); m != "" {
		errs["name"] = m
	}
	if utf8.RuneCountInString(in.Description) > 500 {
		errs["description"] = "Use at most 500 characters."
	}
	in.Scopes = dedupe(in.Scopes)
	for _, sc := range in.Scopes {
		if !tt.AllowsScope(sc) {
			errs["scopes"] = fmt.Sprintf("%q is not a scope a %s can hold.", sc, tt.Label)
			break
		}
	}
	switch {
	case errs["scopes"] != "":
	case tt.SingleScope && len(in.Scopes) != 1:
		errs["scopes"] = "Choose exactly one role for this token."
	case len(in.Scopes) < max(tt.MinScopes, 0):
		errs["scopes"] = fmt.Sprintf("Choose at least %d scope(s).", tt.MinScopes)
	}
	list, err := ParseIPAllowlist(in.IPAllowlist)
	switch {
	case err != nil:
		errs["ip_allowlist"] = err.Error()
	case tt.IPRule == "required" && len(list) == 0:
		errs["ip_allowlist"] = "This token type needs at least one allowed IP address or range."
	case tt.IPRule == "none" && len(list) > 0:
		errs["ip_allowlist"] = "This token type cannot be limited to IP addresses."
	default:
		in.IPAllowlist = list.Text()
	}
	in.ExposedAttributes = dedupe(in.ExposedAttributes)
	in.LinkingAttribute = strings.TrimSpace(in.LinkingAttribute)
	if tt.Attributes {
		if len(in.ExposedAttributes) == 0 {
			errs["attributes"] = "Choose at least one attribute to expose."
		}
		for _, a := range in.ExposedAttributes {
			if !slices.Contains(ws.AttributeCatalog, a) {
				errs["attributes"] = fmt.Sprintf("%q is not in this workspace's attribute catalogue.", a)
				break
			}
		}
		switch {
		case in.LinkingAttribute == "":
			errs["linking_attribute"] = "Choose the attribute that links records."
		case !slices.Contains(ws.AttributeCatalog, in.LinkingAttribute):
			errs["linking_attribute"] = fmt.Sprintf("%q is not in this workspace's attribute catalogue.", in.LinkingAttribute)
		}
	} else {
		in.ExposedAttributes, in.LinkingAttribute = nil, ""
	}
	if in.RateDaily < 0 || in.RatePerMinute < 0 {
		errs["rate"] = "Rate limits cannot be negative."
	}
	if creating {
		if in.ExpiresIn == 0 && !in.Never {
			in.ExpiresIn, in.Never = tt.Expiry.Default, tt.Expiry.Default == 0
		}
		if err := tt.ValidateExpiry(in.ExpiresIn, in.Never); err != nil {
			errs["expires"] = err.Error()
		}
		if tt.Terms != "" && !in.AcceptTerms {
			errs["terms"] = "Tick the box to agree to the terms."
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// activeTokens counts tokens neither revoked nor expired.
func (s *Store) activeTokens(tx *gorm.DB, now time.Time) *gorm.DB {
	return tx.Model(&Token{}).Where("revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", now)
}

// CreateToken issues a token and returns it with its plaintext, which exists
// only in this return value. The workspace row is locked while caps are
// counted, so concurrent creates cannot pass a cap. It returns FieldErrors
// (keys type, name, description, scopes, expires, ip_allowlist, attributes,
// linking_attribute, terms, rate, cap).
func (s *Store) CreateToken(ctx context.Context, p *Policy, ws *Workspace, creator *User, a Actor, in TokenInput) (*Token, string, error) {
	tt, ok := p.Type(in.Type)
	if !ok {
		return nil, "", FieldErrors{"type": fmt.Sprintf("%q is not a token type of this installation.", in.Type)}
	}
	if errs := in.validate(p, tt, ws, true); errs != nil {
		return nil, "", errs
	}
	var tok *Token
	var plaintext string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.now()
		if s.dialect == DialectPostgres {
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id").First(&Workspace{}, ws.ID).Error; err != nil {
				return fmt.Errorf("store: unable to lock workspace: %w", err)
			}
		}
		if cap := p.Limits.WorkspaceActiveTokens; cap > 0 {
			var n int64
			if err := s.activeTokens(tx, now).Where("workspace_id = ?", ws.ID).Count(&n).Error; err != nil {
				return fmt.Errorf("store: unable to count tokens: %w", err)
			}
			if n >= int64(cap) {
				return FieldErrors{"cap": fmt.Sprintf("This workspace has %d active tokens, the most its policy allows. Revoke one to create another.", n)}
			}
		}
		if cap := p.Limits.UserActiveTokens; cap > 0 && creator != nil {
			var n int64
			if err := s.activeTokens(tx, now).Where("workspace_id = ? AND created_by_id = ?", ws.ID, creator.ID).Count(&n).Error; err != nil {
				return fmt.Errorf("store: unable to count tokens: %w", err)
			}
			if n >= int64(cap) {
				return FieldErrors{"cap": fmt.Sprintf("You have %d active tokens in this workspace, the most one person may hold. Revoke one to create another.", n)}
			}
		}
		id, err := NewTokenID()
		if err != nil {
			return err
		}
		plaintext, err = NewTokenPlaintext(tt.Prefix, id)
		if err != nil {
			return err
		}
		tok = &Token{
			PublicID: id, WorkspaceID: ws.ID, Type: tt.Name, Prefix: tt.Prefix,
			Name: in.Name, Description: in.Description, CreatedByLabel: a.Label,
			SecretHash: HashToken(plaintext), Last4: TokenLast4(plaintext), Scopes: in.Scopes,
			IPAllowlist: in.IPAllowlist, ExposedAttributes: in.ExposedAttributes, LinkingAttribute: in.LinkingAttribute,
			RateDaily: in.RateDaily, RatePerMinute: in.RatePerMinute, RecentIPs: []string{},
			CreatedAt: now, UpdatedAt: now,
		}
		if tok.Scopes == nil {
			tok.Scopes = []string{}
		}
		if tok.ExposedAttributes == nil {
			tok.ExposedAttributes = []string{}
		}
		if creator != nil {
			tok.CreatedByID = &creator.ID
		}
		if !in.Never {
			exp := now.Add(in.ExpiresIn)
			tok.ExpiresAt = &exp
		}
		if in.AcceptTerms && tt.Terms != "" {
			tok.TermsAcceptedAt = &now
		}
		if err := tx.Create(tok).Error; err != nil {
			return fmt.Errorf("store: unable to create token: %w", err)
		}
		details := map[string]any{"type": tok.Type, "scopes": tok.Scopes, "expires_at": tok.ExpiresAt}
		if tok.IPAllowlist != "" {
			details["ip_allowlist"] = tok.Allowlist().Strings()
		}
		return tx.Create(s.newAudit(ws.ID, a, ActionTokenCreated, tok.target(), details)).Error
	})
	if err != nil {
		return nil, "", err
	}
	return tok, plaintext, nil
}

func (t *Token) target() Target { return Target{Type: "token", ID: t.PublicID, Label: t.Name} }

// TokenByPublicID returns the workspace's token with that public id; a token
// of another workspace is ErrNotFound.
func (s *Store) TokenByPublicID(ctx context.Context, workspaceID int64, publicID string) (*Token, error) {
	var t Token
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND public_id = ?", workspaceID, publicID).First(&t).Error
	if err != nil {
		return nil, notFound(err, "load token")
	}
	return &t, nil
}

// TokenQuery filters the token list. CreatedByID confines a member to their own tokens.
type TokenQuery struct {
	WorkspaceID int64
	CreatedByID int64
	Status      string
	Type        string
	Search      string
	Page        int
	PerPage     int
}

// TokensByWorkspace returns one page of matching tokens, newest first, and the total.
func (s *Store) TokensByWorkspace(ctx context.Context, q TokenQuery) ([]Token, int64, error) {
	now := s.now()
	db := s.db.WithContext(ctx).Model(&Token{}).Where("workspace_id = ?", q.WorkspaceID)
	if q.CreatedByID != 0 {
		db = db.Where("created_by_id = ?", q.CreatedByID)
	}
	if q.Type != "" {
		db = db.Where("type = ?", q.Type)
	}
	if q.Search != "" {
		like := "%" + strings.NewReplacer("%", `\%`, "_", `\_`, `\`, `\\`).Replace(strings.ToLower(q.Search)) + "%"
		db = db.Where(`(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(public_id) LIKE ? ESCAPE '\')`, like, like)
	}
	switch q.Status {
	case StatusRevoked:
		db = db.Where("revoked_at IS NOT NULL")
	case StatusExpired:
		db = db.Where("revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?", now)
	case StatusActive, StatusExpiring:
		// Expiring is a subset of active decided per row by Status; it is
		// filtered after loading since the window depends on each lifetime.
		db = db.Where("revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", now)
	}
	if q.PerPage <= 0 {
		q.PerPage = 25
	}
	if q.Page < 1 {
		q.Page = 1
	}
	var all []Token
	var total int64
	if q.Status == StatusExpiring {
		if err := db.Where("expires_at IS NOT NULL").Order("expires_at").Find(&all).Error; err != nil {
			return nil, 0, fmt.Errorf("store: unable to list tokens: %w", err)
		}
		var kept []Token
		for _, t := range all {
			if t.Status(now) == StatusExpiring {
				kept = append(kept, t)
			}
		}
		total = int64(len(kept))
		start := min((q.Page-1)*q.PerPage, len(kept))
		return kept[start:min(start+q.PerPage, len(kept))], total, nil
	}
	if err := db.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("store: unable to count tokens: %w", err)
	}
	err := db.Order("created_at DESC, id DESC").Limit(q.PerPage).Offset((q.Page - 1) * q.PerPage).Find(&all).Error
	if err != nil {
		return nil, 0, fmt.Errorf("store: unable to list tokens: %w", err)
	}
	return all, total, nil
}

// UpdateToken edits a token's name, description, scopes, IP allowlist and
// attributes. It returns FieldErrors, ErrNotFound or ErrTokenRevoked.
func (s *Store) UpdateToken(ctx context.Context, p *Policy, ws *Workspace, publicID string, a Actor, in TokenInput) (*Token, error) {
	var tok Token
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("workspace_id = ? AND public_id = ?", ws.ID, publicID).First(&tok).Error; err != nil {
			return notFound(err, "load token")
		}
		if tok.RevokedAt != nil {
			return ErrTokenRevoked
		}
		tt, ok := p.Type(tok.Type)
		if !ok {
			return FieldErrors{"type": fmt.Sprintf("The type %q is no longer in the policy; this token cannot be edited.", tok.Type)}
		}
		in.Type = tok.Type
		if errs := in.validate(p, tt, ws, false); errs != nil {
			return errs
		}
		changed := map[string]any{}
		note := func(field string, before, after any) {
			if fmt.Sprint(before) != fmt.Sprint(after) {
				changed[field] = map[string]any{"from": before, "to": after}
			}
		}
		note("name", tok.Name, in.Name)
		note("description", tok.Description, in.Description)
		note("scopes", tok.Scopes, in.Scopes)
		note("ip_allowlist", tok.IPAllowlist, in.IPAllowlist)
		note("exposed_attributes", tok.ExposedAttributes, in.ExposedAttributes)
		note("linking_attribute", tok.LinkingAttribute, in.LinkingAttribute)
		note("rate_daily", tok.RateDaily, in.RateDaily)
		note("rate_per_minute", tok.RatePerMinute, in.RatePerMinute)
		if len(changed) == 0 {
			return nil
		}
		tok.Name, tok.Description, tok.Scopes = in.Name, in.Description, orEmpty(in.Scopes)
		tok.IPAllowlist, tok.ExposedAttributes, tok.LinkingAttribute = in.IPAllowlist, orEmpty(in.ExposedAttributes), in.LinkingAttribute
		tok.RateDaily, tok.RatePerMinute, tok.UpdatedAt = in.RateDaily, in.RatePerMinute, s.now()
		if err := tx.Select("name", "description", "scopes", "ip_allowlist", "exposed_attributes", "linking_attribute", "rate_daily", "rate_per_minute", "updated_at").Save(&tok).Error; err != nil {
			return fmt.Errorf("store: unable to update token: %w", err)
		}
		return tx.Create(s.newAudit(ws.ID, a, ActionTokenUpdated, tok.target(), changed)).Error
	})
	if err != nil {
		return nil, err
	}
	s.tokenChanged(tok.PublicID)
	return &tok, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ResetToken replaces a token's secret and returns the new plaintext. With a
// grace period (at most MaxGrace) the old secret keeps working until then;
// without one it stops at once. It returns ErrNotFound or ErrTokenRevoked.
func (s *Store) ResetToken(ctx context.Context, ws *Workspace, publicID string, a Actor, grace time.Duration) (*Token, string, error) {
	if grace < 0 || grace > MaxGrace {
		return nil, "", FieldErrors{"grace": "Choose a grace period between none and 24 hours."}
	}
	var tok Token
	var plaintext string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("workspace_id = ? AND public_id = ?", ws.ID, publicID).First(&tok).Error; err != nil {
			return notFound(err, "load token")
		}
		now := s.now()
		if tok.RevokedAt != nil {
			return ErrTokenRevoked
		}
		if tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt) {
			return FieldErrors{"grace": "This token has expired; create a new one instead."}
		}
		var err error
		if plaintext, err = NewTokenPlaintext(tok.Prefix, tok.PublicID); err != nil {
			return err
		}
		tok.PreviousHash, tok.PreviousValidUntil = "", nil
		if grace > 0 {
			until := now.Add(grace)
			tok.PreviousHash, tok.PreviousValidUntil = tok.SecretHash, &until
		}
		tok.SecretHash, tok.Last4, tok.UpdatedAt = HashToken(plaintext), TokenLast4(plaintext), now
		if err := tx.Select("secret_hash", "last4", "previous_hash", "previous_valid_until", "updated_at").Save(&tok).Error; err != nil {
			return fmt.Errorf("store: unable to reset token: %w", err)
		}
		details := map[string]any{"grace_seconds": int(grace.Seconds())}
		if tok.PreviousValidUntil != nil {
			details["old_secret_valid_until"] = tok.PreviousValidUntil
		}
		return tx.Create(s.newAudit(ws.ID, a, ActionTokenReset, tok.target(), details)).Error
	})
	if err != nil {
		return nil, "", err
	}
	s.tokenChanged(tok.PublicID)
	return &tok, plaintext, nil
}

// RevokeToken soft-deletes a token for good. It returns ErrNotFound or
// ErrTokenRevoked when it already was.
func (s *Store) RevokeToken(ctx context.Context, workspaceID int64, publicID string, a Actor, reason string) (*Token, error) {
	var tok Token
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("workspace_id = ? AND public_id = ?", workspaceID, publicID).First(&tok).Error; err != nil {
			return notFound(err, "load token")
		}
		return s.revokeTx(tx, &tok, a, reason, ActionTokenRevoked)
	})
	if err != nil {
		return nil, err
	}
	s.tokenChanged(tok.PublicID)
	return &tok, nil
}

func (s *Store) revokeTx(tx *gorm.DB, tok *Token, a Actor, reason, action string) error {
	now := s.now()
	res := tx.Model(&Token{}).Where("id = ? AND revoked_at IS NULL", tok.ID).
		Updates(map[string]any{"revoked_at": now, "revoked_by_label": a.Label, "revoked_reason": reason, "previous_hash": "", "previous_valid_until": nil, "updated_at": now})
	if res.Error != nil {
		return fmt.Errorf("store: unable to revoke token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrTokenRevoked
	}
	tok.RevokedAt, tok.RevokedByLabel, tok.RevokedReason, tok.PreviousHash, tok.PreviousValidUntil = &now, a.Label, reason, "", nil
	return tx.Create(s.newAudit(tok.WorkspaceID, a, action, tok.target(), map[string]any{"reason": reason})).Error
}

// SweepExpired revokes every token past its expiry with reason "expired" and
// ends reset grace periods that are over. It returns how many it revoked.
func (s *Store) SweepExpired(ctx context.Context) (int, error) {
	now := s.now()
	var due []Token
	err := s.db.WithContext(ctx).Where("revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?", now).Limit(1000).Find(&due).Error
	if err != nil {
		return 0, fmt.Errorf("store: unable to find expired tokens: %w", err)
	}
	n := 0
	for i := range due {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return s.revokeTx(tx, &due[i], SystemActor, RevokeExpired, ActionTokenExpired)
		})
		if errors.Is(err, ErrTokenRevoked) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
		s.tokenChanged(due[i].PublicID)
	}
	err = s.db.WithContext(ctx).Model(&Token{}).Where("previous_hash <> '' AND previous_valid_until <= ?", now).
		Updates(map[string]any{"previous_hash": "", "previous_valid_until": nil}).Error
	if err != nil {
		return n, fmt.Errorf("store: unable to end grace periods: %w", err)
	}
	return n, nil
}

// ActiveTokenCount counts a workspace's active tokens; creatorID 0 counts all.
func (s *Store) ActiveTokenCount(ctx context.Context, workspaceID, creatorID int64) (int64, error) {
	q := s.activeTokens(s.db.WithContext(ctx), s.now()).Where("workspace_id = ?", workspaceID)
	if creatorID != 0 {
		q = q.Where("created_by_id = ?", creatorID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: unable to count tokens: %w", err)
	}
	return n, nil
}
