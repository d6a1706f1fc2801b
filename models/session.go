package models

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// SessionRow is a server-side session. Its ID is the SHA-256 of the random
// session id in the cookie, so a database reader cannot hijack sessions.
type SessionRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     int64
	Data       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// TableName keeps GORM on the migrated table name.
func (SessionRow) TableName() string { return "sessions" }

func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// SessionUserKey is the session value holding the signed-in user's id; a
// session without it is not stored.
const SessionUserKey = "uid"

// SessionStore keeps gorilla sessions in the database. The cookie carries
// only a signed random id; signing out deletes the row, so the session really
// ends. Sessions end after Idle without a request and after Absolute in all.
type SessionStore struct {
	store    *Store
	codec    securecookie.Codec
	Options  sessions.Options
	Idle     time.Duration
	Absolute time.Duration
}

// NewSessionStore returns a store whose cookies are signed with secret.
func (s *Store) NewSessionStore(secret []byte, secure bool, idle, absolute time.Duration) *SessionStore {
	codec := securecookie.New(secret, nil)
	codec.MaxAge(int(absolute.Seconds()))
	return &SessionStore{
		store: s,
		codec: codec,
		Options: sessions.Options{
			Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
			MaxAge: int(absolute.Seconds()),
		},
		Idle: idle, Absolute: absolute,
	}
}

// Get returns the named session from the request's registry.
func (ss *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(ss, name)
}

// New loads the session named by the cookie, or returns a new empty one when
// there is none or it has ended.
func (ss *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(ss, name)
	opts := ss.Options
	sess.Options = &opts
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var id string
	if err := ss.codec.Decode(name, c.Value, &id); err != nil {
		return sess, nil
	}
	row, err := ss.store.liveSession(r.Context(), id, ss.Idle)
	if errors.Is(err, ErrNotFound) {
		return sess, nil
	}
	if err != nil {
		return sess, err
	}
	if err := decodeValues(row.Data, sess.Values); err != nil {
		return sess, nil
	}
	sess.ID = id
	sess.IsNew = false
	// Touch at most once a minute: the idle clock needs no finer grain and
	// every request would otherwise write.
	if ss.store.now().Sub(row.LastSeenAt) > time.Minute {
		_ = ss.store.touchSession(r.Context(), id)
	}
	return sess, nil
}

// Save writes the session row and the cookie. A session with MaxAge < 0 or
// without a user is deleted and its cookie cleared.
func (ss *SessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	ctx := r.Context()
	uid, _ := sess.Values[SessionUserKey].(int64)
	if sess.Options.MaxAge < 0 || uid == 0 {
		if sess.ID != "" {
			if err := ss.store.DeleteSession(ctx, sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", &sessions.Options{
			Path: ss.Options.Path, MaxAge: -1, HttpOnly: true, Secure: ss.Options.Secure, SameSite: ss.Options.SameSite,
		}))
		return nil
	}
	data, err := encodeValues(sess.Values)
	if err != nil {
		return err
	}
	now := ss.store.now()
	if sess.ID == "" {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return fmt.Errorf("store: unable to generate session id: %w", err)
		}
		sess.ID = base64.RawURLEncoding.EncodeToString(raw)
		row := &SessionRow{ID: sessionKey(sess.ID), UserID: uid, Data: data, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(ss.Absolute)}
		if err := ss.store.db.WithContext(ctx).Create(row).Error; err != nil {
			return fmt.Errorf("store: unable to create session: %w", err)
		}
	} else {
		err := ss.store.db.WithContext(ctx).Model(&SessionRow{}).Where("id = ?", sessionKey(sess.ID)).
			Updates(map[string]any{"data": data, "last_seen_at": now}).Error
		if err != nil {
			return fmt.Errorf("store: unable to save session: %w", err)
		}
	}
	encoded, err := ss.codec.Encode(sess.Name(), sess.ID)
	if err != nil {
		return fmt.Errorf("store: unable to sign session cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

func (s *Store) liveSession(ctx context.Context, id string, idle time.Duration) (*SessionRow, error) {
	now := s.now()
	var row SessionRow
	err := s.db.WithContext(ctx).Where("id = ? AND expires_at > ? AND last_seen_at > ?", sessionKey(id), now, now.Add(-idle)).First(&row).Error
	if err != nil {
		return nil, notFound(err, "load session")
	}
	return &row, nil
}

func (s *Store) touchSession(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Model(&SessionRow{}).Where("id = ?", sessionKey(id)).Update("last_seen_at", s.now()).Error
}

// DeleteSession ends one session by its cookie id.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Where("id = ?", sessionKey(id)).Delete(&SessionRow{}).Error; err != nil {
		return fmt.Errorf("store: unable to delete session: %w", err)
	}
	return nil
}

// DeleteSessionsByUser ends every session of the user ("sign out everywhere").
func (s *Store) DeleteSessionsByUser(ctx context.Context, userID int64) (int64, error) {
	res := s.db.WithContext(ctx).Where("user_id = ?", userID).Delete(&SessionRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: unable to delete sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// SessionCount returns how many live session rows a user has.
func (s *Store) SessionCount(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&SessionRow{}).Where("user_id = ? AND expires_at > ?", userID, s.now()).Count(&n).Error
	return n, err
}

// PurgeSessions deletes sessions past their absolute or idle end.
func (s *Store) PurgeSessions(ctx context.Context, idle time.Duration) error {
	now := s.now()
	return s.db.WithContext(ctx).Where("expires_at <= ? OR last_seen_at <= ?", now, now.Add(-idle)).Delete(&SessionRow{}).Error
}

func encodeValues(v map[any]any) (string, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return "", fmt.Errorf("store: unable to encode session: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func decodeValues(data string, into map[any]any) error {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return err
	}
	return gob.NewDecoder(bytes.NewReader(raw)).Decode(&into)
}
