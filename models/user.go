package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// User is a person who signs in to the dashboard.
type User struct {
	ID           int64
	Email        string
	Name         string
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// FieldErrors maps a form field name to what is wrong with its value. It is
// returned by validating Store methods so handlers can show each message
// beside its field.
type FieldErrors map[string]string

// Error lists the messages; handlers normally read the map instead.
func (f FieldErrors) Error() string {
	parts := make([]string, 0, len(f))
	for k, v := range f {
		parts = append(parts, k+": "+v)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// MinPasswordLength is the shortest password Keyward accepts.
const MinPasswordLength = 10

var commonPasswords = map[string]bool{
	"password123": true, "1234567890": true, "qwertyuiop": true, "password1234": true,
	"iloveyou123": true, "administrator": true, "letmein1234": true, "0123456789": true,
	"passwordpassword": true, "changeme123": true, "welcome123": true, "abcdefghij": true,
}

// CheckPassword returns a message saying what makes password too weak, or "".
func CheckPassword(password, email string) string {
	n := utf8.RuneCountInString(password)
	first, _ := utf8.DecodeRuneInString(password)
	switch {
	case n < MinPasswordLength:
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLength)
	case n > 128:
		return "Use at most 128 characters."
	case commonPasswords[strings.ToLower(password)]:
		return "This password is too common; choose another."
	case strings.EqualFold(password, email):
		return "The password must not be your email address."
	case strings.Count(password, string(first)) == n:
		return "Use more than one distinct character."
	}
	return ""
}

// NormalizeEmail lower-cases and trims an address; emails are unique case-insensitively.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CheckEmail returns a message saying what is wrong with an address, or "".
func CheckEmail(email string) string {
	if email == "" {
		return "Enter an email address."
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email, "@") || len(email) > 254 {
		return "Enter a valid email address, like name@example.com."
	}
	return ""
}

// CheckName returns a message for an empty or overlong display name, or "".
func CheckName(name, what string) string {
	switch n := utf8.RuneCountInString(strings.TrimSpace(name)); {
	case n == 0:
		return "Enter a " + what + "."
	case n > 100:
		return "Use at most 100 characters."
	case !utf8.ValidString(name):
		return "This is not valid text; type it again."
	}
	return ""
}

// NewUser is the input for creating a user.
type NewUser struct {
	Email, Name, Password string
}

// validate checks the fields and returns FieldErrors keyed email, name, password.
func (u *NewUser) validate() FieldErrors {
	u.Email = NormalizeEmail(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	errs := FieldErrors{}
	if m := CheckEmail(u.Email); m != "" {
		errs["email"] = m
	}
	if m := CheckName(u.Name, "name"); m != "" {
		errs["name"] = m
	}
	if m := CheckPassword(u.Password, u.Email); m != "" {
		errs["password"] = m
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// HashPassword returns a bcrypt hash at the Store's cost.
func (s *Store) HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.PasswordCost)
	if err != nil {
		return "", fmt.Errorf("store: unable to hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when an email is unknown so that sign-in takes
// as long for a missing account as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("keyward-dummy-password"), 11)

// ErrBadCredentials means the email is unknown or the password does not match.
var ErrBadCredentials = errors.New("wrong email or password")

// Authenticate returns the user whose email and password match, or ErrBadCredentials.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*User, error) {
	u, err := s.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// UserByEmail returns the user with that email (any case), or ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("email = ?", NormalizeEmail(email)).First(&u).Error; err != nil {
		return nil, notFound(err, "load user")
	}
	return &u, nil
}

// UserByID returns the user, or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).First(&u, id).Error; err != nil {
		return nil, notFound(err, "load user")
	}
	return &u, nil
}

// UserCount returns how many users exist; zero means first-run setup is open.
func (s *Store) UserCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: unable to count users: %w", err)
	}
	return n, nil
}

func (s *Store) insertUser(tx *gorm.DB, in NewUser) (*User, error) {
	if errs := in.validate(); errs != nil {
		return nil, errs
	}
	var n int64
	if err := tx.Model(&User{}).Where("email = ?", in.Email).Count(&n).Error; err != nil {
		return nil, fmt.Errorf("store: unable to check email: %w", err)
	}
	if n > 0 {
		return nil, FieldErrors{"email": "Someone already uses this email address."}
	}
	hash, err := s.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	u := &User{Email: in.Email, Name: in.Name, PasswordHash: hash}
	if err := tx.Create(u).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, FieldErrors{"email": "Someone already uses this email address."}
		}
		return nil, fmt.Errorf("store: unable to create user: %w", err)
	}
	return u, nil
}

// ChangePassword checks the current password, stores the new one and ends the
// user's other sessions (keepSessionID stays signed in). It returns FieldErrors
// keyed current and password.
func (s *Store) ChangePassword(ctx context.Context, userID int64, current, next, keepSessionID string) error {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
		return FieldErrors{"current": "That is not your current password."}
	}
	if m := CheckPassword(next, u.Email); m != "" {
		return FieldErrors{"password": m}
	}
	hash, err := s.HashPassword(next)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(u).Updates(map[string]any{"password_hash": hash, "updated_at": s.now()}).Error; err != nil {
			return fmt.Errorf("store: unable to change password: %w", err)
		}
		q := tx.Where("user_id = ?", userID)
		if keepSessionID != "" {
			q = q.Where("id <> ?", sessionKey(keepSessionID))
		}
		if err := q.Delete(&SessionRow{}).Error; err != nil {
			return fmt.Errorf("store: unable to end sessions: %w", err)
		}
		return nil
	})
}

// GeneratePassword returns a random 20-character initial password.
func GeneratePassword() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: unable to generate password: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}
