package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Role is what a member may do in a workspace.
type Role string

// The workspace roles, from most to least powerful.
const (
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleMember  Role = "member"
)

// Roles lists the roles in the order forms offer them.
var Roles = []Role{RoleAdmin, RoleManager, RoleMember}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleManager || r == RoleMember }

// ManagesTokens reports whether the role sees and manages every token of the workspace.
func (r Role) ManagesTokens() bool { return r == RoleAdmin || r == RoleManager }

// Workspace groups members and tokens; every token belongs to one.
type Workspace struct {
	ID               int64
	Name             string
	Slug             string
	Plan             string
	AttributeCatalog []string `gorm:"serializer:json"`
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Membership gives a user a role in a workspace.
type Membership struct {
	ID          int64
	WorkspaceID int64
	UserID      int64
	Role        Role
	CreatedAt   time.Time
	User        User      `gorm:"foreignKey:UserID"`
	Workspace   Workspace `gorm:"foreignKey:WorkspaceID"`
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify turns a workspace name into its URL slug: lower case with dashes.
func Slugify(name string) string {
	s := nonSlug.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-")
	s = strings.Trim(s, "-")
	if len(s) > 48 {
		s = strings.Trim(s[:48], "-")
	}
	return s
}

// DefaultAttributeCatalog seeds a new workspace's attribute catalogue.
var DefaultAttributeCatalog = []string{
	"email", "customer_id", "first_name", "last_name", "phone", "country",
	"city", "postcode", "loyalty_tier", "lifetime_value", "last_order_at", "segment",
}

func (s *Store) insertWorkspace(tx *gorm.DB, name, plan string) (*Workspace, error) {
	name = strings.TrimSpace(name)
	if m := CheckName(name, "workspace name"); m != "" {
		return nil, FieldErrors{"workspace": m}
	}
	slug := Slugify(name)
	if slug == "" {
		return nil, FieldErrors{"workspace": "Use at least one letter or digit in the workspace name."}
	}
	var n int64
	if err := tx.Model(&Workspace{}).Where("slug = ?", slug).Count(&n).Error; err != nil {
		return nil, fmt.Errorf("store: unable to check slug: %w", err)
	}
	if n > 0 {
		return nil, FieldErrors{"workspace": fmt.Sprintf("A workspace with the address %q exists; choose another name.", slug)}
	}
	w := &Workspace{Name: name, Slug: slug, Plan: plan, AttributeCatalog: DefaultAttributeCatalog}
	if err := tx.Create(w).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, FieldErrors{"workspace": "That workspace name is taken."}
		}
		return nil, fmt.Errorf("store: unable to create workspace: %w", err)
	}
	return w, nil
}

// CreateAdmin creates a user, a workspace and the admin membership that joins
// them, all or nothing. It returns FieldErrors keyed email, name, password,
// workspace. It is what `keyward admin create` runs.
func (s *Store) CreateAdmin(ctx context.Context, in NewUser, workspaceName, plan string) (*User, *Workspace, error) {
	var u *User
	var w *Workspace
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		u, w, err = s.createAdminTx(tx, in, workspaceName, plan)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return u, w, nil
}

func (s *Store) createAdminTx(tx *gorm.DB, in NewUser, workspaceName, plan string) (*User, *Workspace, error) {
	errs := FieldErrors{}
	u, err := s.insertUser(tx, in)
	var fe FieldErrors
	switch {
	case errors.As(err, &fe):
		for k, v := range fe {
			errs[k] = v
		}
	case err != nil:
		return nil, nil, err
	}
	if len(errs) > 0 {
		if m := CheckName(workspaceName, "workspace name"); m != "" {
			errs["workspace"] = m
		}
		return nil, nil, errs
	}
	w, err := s.insertWorkspace(tx, workspaceName, plan)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.Create(&Membership{WorkspaceID: w.ID, UserID: u.ID, Role: RoleAdmin}).Error; err != nil {
		return nil, nil, fmt.Errorf("store: unable to create membership: %w", err)
	}
	return u, w, nil
}

// CreateWorkspace creates a workspace with userID as its admin.
func (s *Store) CreateWorkspace(ctx context.Context, userID int64, name, plan string) (*Workspace, error) {
	var w *Workspace
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if w, err = s.insertWorkspace(tx, name, plan); err != nil {
			return err
		}
		return tx.Create(&Membership{WorkspaceID: w.ID, UserID: userID, Role: RoleAdmin}).Error
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// WorkspaceBySlug returns the workspace, or ErrNotFound.
func (s *Store) WorkspaceBySlug(ctx context.Context, slug string) (*Workspace, error) {
	var w Workspace
	if err := s.db.WithContext(ctx).Where("slug = ?", slug).First(&w).Error; err != nil {
		return nil, notFound(err, "load workspace")
	}
	return &w, nil
}

// WorkspaceByID returns the workspace, or ErrNotFound.
func (s *Store) WorkspaceByID(ctx context.Context, id int64) (*Workspace, error) {
	var w Workspace
	if err := s.db.WithContext(ctx).First(&w, id).Error; err != nil {
		return nil, notFound(err, "load workspace")
	}
	return &w, nil
}

// UpdateWorkspaceSettings changes the plan and attribute catalogue.
func (s *Store) UpdateWorkspaceSettings(ctx context.Context, workspaceID int64, plan string, catalog []string) error {
	err := s.db.WithContext(ctx).Model(&Workspace{ID: workspaceID}).Updates(map[string]any{
		"plan": plan, "attribute_catalog": mustJSON(catalog), "updated_at": s.now(),
	}).Error
	if err != nil {
		return fmt.Errorf("store: unable to update workspace: %w", err)
	}
	return nil
}

// MembershipsByUser returns the user's memberships with their workspaces, by workspace name.
func (s *Store) MembershipsByUser(ctx context.Context, userID int64) ([]Membership, error) {
	var ms []Membership
	err := s.db.WithContext(ctx).Preload("Workspace").Joins("JOIN workspaces ON workspaces.id = memberships.workspace_id").
		Where("memberships.user_id = ?", userID).Order("workspaces.name").Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("store: unable to list memberships: %w", err)
	}
	return ms, nil
}

// Membership returns the user's membership in the workspace, or ErrNotFound.
func (s *Store) Membership(ctx context.Context, workspaceID, userID int64) (*Membership, error) {
	var m Membership
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND user_id = ?", workspaceID, userID).First(&m).Error
	if err != nil {
		return nil, notFound(err, "load membership")
	}
	return &m, nil
}

// MembersByWorkspace returns the workspace's memberships with their users, by name.
func (s *Store) MembersByWorkspace(ctx context.Context, workspaceID int64) ([]Membership, error) {
	var ms []Membership
	err := s.db.WithContext(ctx).Preload("User").Joins("JOIN users ON users.id = memberships.user_id").
		Where("memberships.workspace_id = ?", workspaceID).Order("users.name, users.email").Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("store: unable to list members: %w", err)
	}
	return ms, nil
}

// AddMember adds a person to a workspace. An unknown email creates the user
// with the given initial password; a known one only gains the membership.
// It returns FieldErrors keyed email, name, password, role.
func (s *Store) AddMember(ctx context.Context, workspaceID int64, in NewUser, role Role) (*Membership, bool, error) {
	if !role.Valid() {
		return nil, false, FieldErrors{"role": "Choose admin, manager or member."}
	}
	var m *Membership
	created := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		err := tx.Where("email = ?", NormalizeEmail(in.Email)).First(&u).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			nu, err := s.insertUser(tx, in)
			if err != nil {
				return err
			}
			u, created = *nu, true
		case err != nil:
			return fmt.Errorf("store: unable to load user: %w", err)
		}
		var n int64
		if err := tx.Model(&Membership{}).Where("workspace_id = ? AND user_id = ?", workspaceID, u.ID).Count(&n).Error; err != nil {
			return fmt.Errorf("store: unable to check membership: %w", err)
		}
		if n > 0 {
			return FieldErrors{"email": "This person is already a member of the workspace."}
		}
		m = &Membership{WorkspaceID: workspaceID, UserID: u.ID, Role: role, User: u}
		if err := tx.Omit("User", "Workspace").Create(m).Error; err != nil {
			return fmt.Errorf("store: unable to add member: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return m, created, nil
}

// ErrLastAdmin means the change would leave a workspace without an admin.
var ErrLastAdmin = errors.New("a workspace needs at least one admin")

// ChangeRole sets a member's role; it refuses to demote the last admin.
func (s *Store) ChangeRole(ctx context.Context, workspaceID, userID int64, role Role) error {
	if !role.Valid() {
		return FieldErrors{"role": "Choose admin, manager or member."}
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		m, err := lockMembership(tx, workspaceID, userID)
		if err != nil {
			return err
		}
		if m.Role == RoleAdmin && role != RoleAdmin {
			if err := ensureAnotherAdmin(tx, workspaceID, userID); err != nil {
				return err
			}
		}
		return tx.Model(m).Update("role", role).Error
	})
}

// RemoveMember ends a membership; it refuses to remove the last admin.
func (s *Store) RemoveMember(ctx context.Context, workspaceID, userID int64) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		m, err := lockMembership(tx, workspaceID, userID)
		if err != nil {
			return err
		}
		if m.Role == RoleAdmin {
			if err := ensureAnotherAdmin(tx, workspaceID, userID); err != nil {
				return err
			}
		}
		return tx.Delete(m).Error
	})
}

func lockMembership(tx *gorm.DB, workspaceID, userID int64) (*Membership, error) {
	if tx.Dialector.Name() == "postgres" {
		// Serialise role changes per workspace, so two admins demoting each
		// other at once cannot both pass the last-admin check. (SQLite's
		// single connection already serialises transactions.)
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id").First(&Workspace{}, workspaceID).Error; err != nil {
			return nil, notFound(err, "lock workspace")
		}
	}
	var m Membership
	err := tx.Where("workspace_id = ? AND user_id = ?", workspaceID, userID).First(&m).Error
	if err != nil {
		return nil, notFound(err, "load membership")
	}
	return &m, nil
}

func ensureAnotherAdmin(tx *gorm.DB, workspaceID, userID int64) error {
	var n int64
	err := tx.Model(&Membership{}).Where("workspace_id = ? AND role = ? AND user_id <> ?", workspaceID, RoleAdmin, userID).Count(&n).Error
	if err != nil {
		return fmt.Errorf("store: unable to count admins: %w", err)
	}
	if n == 0 {
		return ErrLastAdmin
	}
	return nil
}
