package models_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

const testSessionName = "keyward_session"

// newSession signs userID in through the session store as a handler would and
// returns the session id and the cookie the browser would keep.
func newSession(t *testing.T, ss *models.SessionStore, userID int64) (string, *http.Cookie) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	sess, err := ss.New(req, testSessionName)
	if err != nil {
		t.Fatal(err)
	}
	sess.Values[models.SessionUserKey] = userID
	rec := httptest.NewRecorder()
	if err := ss.Save(req, rec, sess); err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || sess.ID == "" {
		t.Fatalf("Save set cookies %v, id %q", cookies, sess.ID)
	}
	return sess.ID, cookies[0]
}

// loadSession reads the session a request with cookie would get.
func loadSession(t *testing.T, ss *models.SessionStore, cookie *http.Cookie) (id string, userID int64) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	sess, err := ss.New(req, testSessionName)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := sess.Values[models.SessionUserKey].(int64)
	if sess.IsNew != (sess.ID == "") {
		t.Errorf("IsNew = %v with id %q", sess.IsNew, sess.ID)
	}
	return sess.ID, uid
}

// sessionAlive reports whether a session id still has its server-side row.
func sessionAlive(t *testing.T, s *models.Store, id string) bool {
	t.Helper()
	var n int64
	if err := s.DB().Model(&models.SessionRow{}).Where("id = ?", sha256Hex(id)).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSessionStoreRoundTrip(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		u, _ := storeAdmin(t, s, "ada@example.com", "Acme")
		ss := s.NewSessionStore(bytes.Repeat([]byte("k"), 32), false, 30*time.Minute, 12*time.Hour)
		id, cookie := newSession(t, ss, u.ID)

		if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.Path != "/" {
			t.Errorf("cookie flags: HttpOnly=%v SameSite=%v Secure=%v Path=%q", cookie.HttpOnly, cookie.SameSite, cookie.Secure, cookie.Path)
		}
		if strings.Contains(cookie.Value, id) {
			t.Error("cookie carries the raw session id unsigned")
		}
		// The row is keyed by a hash: reading the table does not give a usable id.
		var n int64
		s.DB().Model(&models.SessionRow{}).Where("id = ?", id).Count(&n)
		if n != 0 || !sessionAlive(t, s, id) {
			t.Errorf("session row not keyed by SHA-256 of the id (raw-id rows %d)", n)
		}
		gotID, uid := loadSession(t, ss, cookie)
		if gotID != id || uid != u.ID {
			t.Errorf("loaded session %q user %d, want %q user %d", gotID, uid, id, u.ID)
		}

		tampered := *cookie
		tampered.Value = cookie.Value[:len(cookie.Value)-2] + "xx"
		if gotID, uid := loadSession(t, ss, &tampered); gotID != "" || uid != 0 {
			t.Errorf("tampered cookie loaded session %q user %d", gotID, uid)
		}
		otherKey := s.NewSessionStore(bytes.Repeat([]byte("z"), 32), false, 30*time.Minute, 12*time.Hour)
		if gotID, uid := loadSession(t, otherKey, cookie); gotID != "" || uid != 0 {
			t.Errorf("cookie signed with another secret loaded session %q user %d", gotID, uid)
		}
		if gotID, _ := loadSession(t, ss, nil); gotID != "" {
			t.Errorf("no cookie loaded session %q", gotID)
		}

		if err := s.DeleteSession(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if gotID, uid := loadSession(t, ss, cookie); gotID != "" || uid != 0 {
			t.Errorf("deleted session still loads: %q user %d", gotID, uid)
		}
	})
}

func TestSessionStoreSecureCookie(t *testing.T) {
	s := models.OpenTestSQLite(t)
	u, _ := storeAdmin(t, s, "ada@example.com", "Acme")
	ss := s.NewSessionStore(bytes.Repeat([]byte("k"), 32), true, 30*time.Minute, 12*time.Hour)
	_, cookie := newSession(t, ss, u.ID)
	if !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Errorf("secure store cookie: Secure=%v HttpOnly=%v SameSite=%v", cookie.Secure, cookie.HttpOnly, cookie.SameSite)
	}
}

func TestSessionStoreEndOnSave(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		u, _ := storeAdmin(t, s, "ada@example.com", "Acme")
		ss := s.NewSessionStore(bytes.Repeat([]byte("k"), 32), false, 30*time.Minute, 12*time.Hour)
		id, cookie := newSession(t, ss, u.ID)

		req := httptest.NewRequest(http.MethodPost, "/logout", nil)
		req.AddCookie(cookie)
		sess, err := ss.New(req, testSessionName)
		if err != nil || sess.ID != id {
			t.Fatalf("load: %q, %v", sess.ID, err)
		}
		sess.Options.MaxAge = -1
		rec := httptest.NewRecorder()
		if err := ss.Save(req, rec, sess); err != nil {
			t.Fatal(err)
		}
		if sessionAlive(t, s, id) {
			t.Error("session row survives sign-out")
		}
		cleared := rec.Result().Cookies()
		if len(cleared) != 1 || cleared[0].MaxAge >= 0 || cleared[0].Value != "" {
			t.Errorf("sign-out cookies = %+v, want one clearing cookie", cleared)
		}
		// A session without a user is never stored.
		req = httptest.NewRequest(http.MethodGet, "/", nil)
		anon, _ := ss.New(req, testSessionName)
		anon.Values["flash"] = "hello"
		if err := ss.Save(req, httptest.NewRecorder(), anon); err != nil {
			t.Fatal(err)
		}
		var n int64
		s.DB().Model(&models.SessionRow{}).Count(&n)
		if n != 0 {
			t.Errorf("%d session rows for an anonymous visitor", n)
		}
	})
}

func TestSessionTimeouts(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		u, _ := storeAdmin(t, s, "ada@example.com", "Acme")
		t0 := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
		now := t0
		s.Now = func() time.Time { return now }
		const idle, absolute = 30 * time.Minute, 2 * time.Hour
		ss := s.NewSessionStore(bytes.Repeat([]byte("k"), 32), false, idle, absolute)

		t.Run("idle", func(t *testing.T) {
			now = t0
			id, cookie := newSession(t, ss, u.ID)
			now = t0.Add(idle - time.Minute)
			if got, _ := loadSession(t, ss, cookie); got != id {
				t.Fatalf("session ended before the idle timeout")
			}
			// That request counted as activity: the idle clock restarts.
			now = now.Add(idle - time.Minute)
			if got, _ := loadSession(t, ss, cookie); got != id {
				t.Fatalf("activity did not extend the session")
			}
			now = now.Add(idle + time.Second)
			if got, uid := loadSession(t, ss, cookie); got != "" || uid != 0 {
				t.Errorf("session alive after %s idle", idle)
			}
		})

		t.Run("absolute", func(t *testing.T) {
			now = t0
			id, cookie := newSession(t, ss, u.ID)
			for now.Before(t0.Add(absolute - 20*time.Minute)) {
				now = now.Add(20 * time.Minute)
				if got, _ := loadSession(t, ss, cookie); got != id {
					t.Fatalf("active session ended at +%s", now.Sub(t0))
				}
			}
			now = t0.Add(absolute)
			if got, uid := loadSession(t, ss, cookie); got != "" || uid != 0 {
				t.Errorf("session alive at its absolute end although active")
			}
		})

		t.Run("purge", func(t *testing.T) {
			if _, err := s.DeleteSessionsByUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			now = t0
			stale, _ := newSession(t, ss, u.ID)
			now = t0.Add(idle)
			fresh, _ := newSession(t, ss, u.ID)
			now = t0.Add(idle + time.Minute)
			if err := s.PurgeSessions(ctx, idle); err != nil {
				t.Fatal(err)
			}
			if sessionAlive(t, s, stale) || !sessionAlive(t, s, fresh) {
				t.Errorf("purge: stale alive=%v fresh alive=%v", sessionAlive(t, s, stale), sessionAlive(t, s, fresh))
			}
		})
	})
}

func TestDeleteSessionsByUser(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		a, _ := storeAdmin(t, s, "ada@example.com", "Acme")
		b, _ := storeAdmin(t, s, "bob@example.com", "Globex")
		ss := s.NewSessionStore(bytes.Repeat([]byte("k"), 32), false, 30*time.Minute, 12*time.Hour)
		_, c1 := newSession(t, ss, a.ID)
		_, c2 := newSession(t, ss, a.ID)
		bid, _ := newSession(t, ss, b.ID)
		n, err := s.DeleteSessionsByUser(ctx, a.ID)
		if err != nil || n != 2 {
			t.Errorf("DeleteSessionsByUser = %d, %v; want 2", n, err)
		}
		for _, c := range []*http.Cookie{c1, c2} {
			if id, _ := loadSession(t, ss, c); id != "" {
				t.Error("a session survived sign-out everywhere")
			}
		}
		if !sessionAlive(t, s, bid) {
			t.Error("another user's session was ended")
		}
	})
}
