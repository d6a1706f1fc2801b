package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// setting is one row of the key-value settings table.
type setting struct {
	Key   string `gorm:"primaryKey"`
	Value string
}

func (setting) TableName() string { return "settings" }

// Setting returns a stored setting, or ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var row setting
	if err := s.db.WithContext(ctx).Where("key = ?", key).First(&row).Error; err != nil {
		return "", notFound(err, "load setting")
	}
	return row.Value, nil
}

// PutSetting stores a setting, replacing any earlier value.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value"}),
	}).Create(&setting{Key: key, Value: value}).Error
	if err != nil {
		return fmt.Errorf("store: unable to save setting %s: %w", key, err)
	}
	return nil
}

// SessionSecret returns the key that signs session cookies. It is generated
// once and kept in the database, so restarts and other instances share it.
func (s *Store) SessionSecret(ctx context.Context) ([]byte, error) {
	v, err := s.Setting(ctx, "session_secret")
	if errors.Is(err, ErrNotFound) {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("store: unable to generate session secret: %w", err)
		}
		// Insert-if-absent, then read back: two instances starting at once agree.
		if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
			Create(&setting{Key: "session_secret", Value: hex.EncodeToString(fresh)}).Error; err != nil {
			return nil, fmt.Errorf("store: unable to save session secret: %w", err)
		}
		v, err = s.Setting(ctx, "session_secret")
	}
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(v)
}

const setupCodeKey = "setup_code_sha256"

// NewSetupCode makes a fresh one-time setup code when no user exists yet and
// keeps only its hash; the caller logs the code. It returns "" when setup is done.
func (s *Store) NewSetupCode(ctx context.Context) (string, error) {
	n, err := s.UserCount(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: unable to generate setup code: %w", err)
	}
	var code strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			code.WriteByte('-')
		}
		code.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	if err := s.PutSetting(ctx, setupCodeKey, hashSetupCode(code.String())); err != nil {
		return "", err
	}
	return code.String(), nil
}

func hashSetupCode(code string) string {
	code = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), " ", ""))
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// ErrSetupDone means first-run setup already created the first admin.
var ErrSetupDone = errors.New("setup is already complete")

// CompleteSetup checks the one-time code and creates the first admin and
// workspace. It returns ErrSetupDone once a user exists, FieldErrors keyed
// code, email, name, password, workspace otherwise.
func (s *Store) CompleteSetup(ctx context.Context, code string, in NewUser, workspaceName, plan string) (*User, *Workspace, error) {
	var u *User
	var w *Workspace
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&User{}).Count(&n).Error; err != nil {
			return fmt.Errorf("store: unable to count users: %w", err)
		}
		if n > 0 {
			return ErrSetupDone
		}
		var row setting
		err := tx.Where("key = ?", setupCodeKey).First(&row).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("store: unable to load setup code: %w", err)
		}
		if row.Value == "" || subtle.ConstantTimeCompare([]byte(row.Value), []byte(hashSetupCode(code))) != 1 {
			return FieldErrors{"code": "That setup code is not right. Copy it from the server log of the latest start."}
		}
		// Consume the code before creating anything: a concurrent setup with
		// the same code waits on this row, then finds it gone.
		res := tx.Where("key = ? AND value = ?", setupCodeKey, row.Value).Delete(&setting{})
		if res.Error != nil {
			return fmt.Errorf("store: unable to use setup code: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrSetupDone
		}
		u, w, err = s.createAdminTx(tx, in, workspaceName, plan)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return u, w, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with slices of strings
	}
	return string(b)
}
