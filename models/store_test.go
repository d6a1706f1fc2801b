package models_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward/models"
)

const storePassword = "correct-horse-battery"

// rowCounts reports how many users, workspaces and memberships exist.
func rowCounts(t *testing.T, s *models.Store) [3]int64 {
	t.Helper()
	var out [3]int64
	for i, m := range []any{&models.User{}, &models.Workspace{}, &models.Membership{}} {
		if err := s.DB().Model(m).Count(&out[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// fieldErrors returns err as FieldErrors, failing the test when it is not.
func fieldErrors(t *testing.T, err error) models.FieldErrors {
	t.Helper()
	var fe models.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want FieldErrors", err, err)
	}
	return fe
}

func storeAdmin(t *testing.T, s *models.Store, email, workspace string) (*models.User, *models.Workspace) {
	t.Helper()
	u, w, err := s.CreateAdmin(context.Background(), models.NewUser{Email: email, Name: "Admin", Password: storePassword}, workspace, "standard")
	if err != nil {
		t.Fatalf("create admin %s: %v", email, err)
	}
	return u, w
}

func TestCreateAdmin(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		u, w := storeAdmin(t, s, " Ada@Example.COM ", "Acme Corp")
		if u.Email != "ada@example.com" || u.Name != "Admin" {
			t.Errorf("user = %q %q, want normalised email", u.Email, u.Name)
		}
		if strings.Contains(u.PasswordHash, storePassword) || u.PasswordHash == "" {
			t.Errorf("password hash %q", u.PasswordHash)
		}
		if w.Slug != "acme-corp" || w.Name != "Acme Corp" || w.Plan != "standard" || len(w.AttributeCatalog) == 0 {
			t.Errorf("workspace = %+v", w)
		}
		m, err := s.Membership(ctx, w.ID, u.ID)
		if err != nil || m.Role != models.RoleAdmin {
			t.Fatalf("membership = %+v, %v; want admin", m, err)
		}

		tests := []struct {
			name      string
			in        models.NewUser
			workspace string
			field     string // the key that must be in FieldErrors
			message   string // part of its message
		}{
			{"duplicate email in another case", models.NewUser{Email: "ADA@example.com", Name: "Other", Password: storePassword}, "Other", "email", "already uses"},
			{"invalid email", models.NewUser{Email: "ada-at-example", Name: "Ada", Password: storePassword}, "Other", "email", "valid email"},
			{"empty email", models.NewUser{Email: " ", Name: "Ada", Password: storePassword}, "Other", "email", "Enter an email"},
			{"empty name", models.NewUser{Email: "b@example.com", Name: "  ", Password: storePassword}, "Other", "name", "Enter a name"},
			{"name not valid text", models.NewUser{Email: "b@example.com", Name: "B\xff", Password: storePassword}, "Other", "name", "not valid text"},
			{"workspace name not valid text", models.NewUser{Email: "b@example.com", Name: "B", Password: storePassword}, "Acme\xc3", "workspace", "not valid text"},
			{"short password", models.NewUser{Email: "b@example.com", Name: "B", Password: "short"}, "Other", "password", "at least 10"},
			{"common password", models.NewUser{Email: "b@example.com", Name: "B", Password: "Password123"}, "Other", "password", "too common"},
			{"one repeated character", models.NewUser{Email: "b@example.com", Name: "B", Password: "aaaaaaaaaaaa"}, "Other", "password", "distinct"},
			{"password is the email", models.NewUser{Email: "bob@example.com", Name: "B", Password: "BOB@example.com"}, "Other", "password", "email"},
			{"empty workspace name", models.NewUser{Email: "b@example.com", Name: "B", Password: storePassword}, "  ", "workspace", "workspace name"},
			{"workspace name without letters", models.NewUser{Email: "b@example.com", Name: "B", Password: storePassword}, "!!!", "workspace", "letter or digit"},
			{"workspace address taken", models.NewUser{Email: "b@example.com", Name: "B", Password: storePassword}, "ACME corp", "workspace", "acme-corp"},
			{"bad user and empty workspace together", models.NewUser{Email: "", Name: "", Password: ""}, "", "workspace", "workspace name"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := rowCounts(t, s)
				u, w, err := s.CreateAdmin(ctx, tt.in, tt.workspace, "standard")
				fe := fieldErrors(t, err)
				if !strings.Contains(fe[tt.field], tt.message) {
					t.Errorf("FieldErrors = %v, want %s containing %q", fe, tt.field, tt.message)
				}
				if u != nil || w != nil {
					t.Errorf("returned %v %v with an error", u, w)
				}
				if after := rowCounts(t, s); after != before {
					t.Errorf("users/workspaces/memberships %v -> %v: something was half-created", before, after)
				}
			})
		}
	})
}

func TestAddMember(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		_, acme := storeAdmin(t, s, "admin@example.com", "Acme")
		other, _ := storeAdmin(t, s, "other@example.com", "Globex")

		m, created, err := s.AddMember(ctx, acme.ID, models.NewUser{Email: "New@Example.com", Name: "New", Password: storePassword}, models.RoleManager)
		if err != nil || !created || m.Role != models.RoleManager || m.User.Email != "new@example.com" {
			t.Fatalf("AddMember new = %+v, %v, %v", m, created, err)
		}
		if _, err := s.Authenticate(ctx, "new@example.com", storePassword); err != nil {
			t.Errorf("new member cannot sign in: %v", err)
		}

		// A known person only gains the membership; name and password are ignored.
		m, created, err = s.AddMember(ctx, acme.ID, models.NewUser{Email: "OTHER@example.com"}, models.RoleMember)
		if err != nil || created || m.UserID != other.ID || m.Role != models.RoleMember {
			t.Fatalf("AddMember existing = %+v, %v, %v", m, created, err)
		}
		if _, err := s.Authenticate(ctx, "other@example.com", storePassword); err != nil {
			t.Errorf("existing user's password changed: %v", err)
		}

		tests := []struct {
			name  string
			in    models.NewUser
			role  models.Role
			field string
		}{
			{"already a member", models.NewUser{Email: "new@example.com"}, models.RoleMember, "email"},
			{"unknown role", models.NewUser{Email: "x@example.com", Name: "X", Password: storePassword}, "owner", "role"},
			{"new person without a name", models.NewUser{Email: "x@example.com", Name: "", Password: storePassword}, models.RoleMember, "name"},
			{"new person with a bad email", models.NewUser{Email: "x@", Name: "X", Password: storePassword}, models.RoleMember, "email"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := rowCounts(t, s)
				_, _, err := s.AddMember(ctx, acme.ID, tt.in, tt.role)
				if fe := fieldErrors(t, err); fe[tt.field] == "" {
					t.Errorf("FieldErrors = %v, want key %s", fe, tt.field)
				}
				if after := rowCounts(t, s); after != before {
					t.Errorf("counts %v -> %v: something was half-created", before, after)
				}
			})
		}

		ms, err := s.MembersByWorkspace(ctx, acme.ID)
		if err != nil || len(ms) != 3 {
			t.Fatalf("MembersByWorkspace = %d members, %v; want 3", len(ms), err)
		}
	})
}

func TestChangeRoleAndRemoveMember(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		admin, w := storeAdmin(t, s, "admin@example.com", "Acme")
		m, _, err := s.AddMember(ctx, w.ID, models.NewUser{Email: "m@example.com", Name: "M", Password: storePassword}, models.RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		member := m.UserID
		role := func(userID int64) models.Role {
			t.Helper()
			m, err := s.Membership(ctx, w.ID, userID)
			if err != nil {
				t.Fatal(err)
			}
			return m.Role
		}

		if err := s.ChangeRole(ctx, w.ID, admin.ID, models.RoleManager); !errors.Is(err, models.ErrLastAdmin) {
			t.Errorf("demote last admin: %v, want ErrLastAdmin", err)
		}
		if err := s.RemoveMember(ctx, w.ID, admin.ID); !errors.Is(err, models.ErrLastAdmin) {
			t.Errorf("remove last admin: %v, want ErrLastAdmin", err)
		}
		if role(admin.ID) != models.RoleAdmin {
			t.Fatal("last admin lost the role")
		}
		if err := s.ChangeRole(ctx, w.ID, member, "root"); fieldErrors(t, err)["role"] == "" {
			t.Errorf("unknown role: %v", err)
		}
		if err := s.ChangeRole(ctx, w.ID, 999999, models.RoleMember); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("change role of a non-member: %v, want ErrNotFound", err)
		}

		if err := s.ChangeRole(ctx, w.ID, member, models.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		// With a second admin the first may step down, and then the second is the last.
		if err := s.ChangeRole(ctx, w.ID, admin.ID, models.RoleMember); err != nil {
			t.Fatalf("demote one of two admins: %v", err)
		}
		if err := s.RemoveMember(ctx, w.ID, member); !errors.Is(err, models.ErrLastAdmin) {
			t.Errorf("remove the now-last admin: %v, want ErrLastAdmin", err)
		}
		if err := s.RemoveMember(ctx, w.ID, admin.ID); err != nil {
			t.Fatalf("remove a member: %v", err)
		}
		if _, err := s.Membership(ctx, w.ID, admin.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("membership after removal: %v, want ErrNotFound", err)
		}
		if _, err := s.UserByID(ctx, admin.ID); err != nil {
			t.Errorf("removing a membership deleted the user: %v", err)
		}
		if err := s.RemoveMember(ctx, w.ID, admin.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("remove twice: %v, want ErrNotFound", err)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		u, _ := storeAdmin(t, s, "ada@example.com", "Acme")
		tests := []struct {
			email, password string
			ok              bool
		}{
			{"ada@example.com", storePassword, true},
			{"  ADA@Example.com ", storePassword, true},
			{"ada@example.com", storePassword + "x", false},
			{"ada@example.com", "", false},
			{"nobody@example.com", storePassword, false},
			{"", "", false},
		}
		for _, tt := range tests {
			got, err := s.Authenticate(ctx, tt.email, tt.password)
			switch {
			case tt.ok && (err != nil || got.ID != u.ID):
				t.Errorf("Authenticate(%q) = %v, %v; want user %d", tt.email, got, err, u.ID)
			case !tt.ok && !errors.Is(err, models.ErrBadCredentials):
				t.Errorf("Authenticate(%q, %q) = %v, %v; want ErrBadCredentials", tt.email, tt.password, got, err)
			}
		}
	})
}

func TestChangePassword(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		u, _ := storeAdmin(t, s, "ada@example.com", "Acme")
		other, _ := storeAdmin(t, s, "bob@example.com", "Globex")
		ss := s.NewSessionStore(bytes.Repeat([]byte("k"), 32), false, 30*time.Minute, 12*time.Hour)
		keep, _ := newSession(t, ss, u.ID)
		newSession(t, ss, u.ID)
		newSession(t, ss, u.ID)
		newSession(t, ss, other.ID)

		if fe := fieldErrors(t, s.ChangePassword(ctx, u.ID, "wrong-password", "brand-new-password", keep)); fe["current"] == "" {
			t.Errorf("wrong current password: %v", fe)
		}
		if fe := fieldErrors(t, s.ChangePassword(ctx, u.ID, storePassword, "short", keep)); fe["password"] == "" {
			t.Errorf("weak new password: %v", fe)
		}
		if n, _ := s.SessionCount(ctx, u.ID); n != 3 {
			t.Fatalf("a refused change ended sessions: %d left", n)
		}
		if err := s.ChangePassword(ctx, u.ID, storePassword, "brand-new-password", keep); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.SessionCount(ctx, u.ID); n != 1 {
			t.Errorf("sessions after change = %d, want 1 (the one kept)", n)
		}
		if !sessionAlive(t, s, keep) {
			t.Error("the session that changed the password was ended")
		}
		if n, _ := s.SessionCount(ctx, other.ID); n != 1 {
			t.Errorf("another user's sessions = %d, want 1", n)
		}
		if _, err := s.Authenticate(ctx, "ada@example.com", storePassword); !errors.Is(err, models.ErrBadCredentials) {
			t.Errorf("old password still works: %v", err)
		}
		if _, err := s.Authenticate(ctx, "ada@example.com", "brand-new-password"); err != nil {
			t.Errorf("new password does not work: %v", err)
		}
		if err := s.ChangePassword(ctx, 999999, "x", "y", ""); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown user: %v, want ErrNotFound", err)
		}
	})
}

func TestLoginThrottled(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		now := t0
		s.Now = func() time.Time { return now }
		fail := func(email, ip string) {
			t.Helper()
			a := models.Actor{Type: "user", Label: email, IP: ip}
			if err := s.Audit(ctx, 0, a, models.ActionLoginFailed, models.Target{Type: "user", Label: email}, nil); err != nil {
				t.Fatal(err)
			}
		}
		check := func(email, ip string, want bool) time.Time {
			t.Helper()
			got, until, err := s.LoginThrottled(ctx, email, ip)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("LoginThrottled(%s, %s) at +%s = %v, want %v", email, ip, now.Sub(t0), got, want)
			}
			return until
		}

		// Per account: five failures from different addresses, one a minute.
		for i := range models.MaxFailuresPerEmail {
			check("ada@example.com", "198.51.100.1", false)
			fail("ada@example.com", "203.0.113."+string(rune('1'+i)))
			now = now.Add(time.Minute)
		}
		until := check("ADA@example.com", "198.51.100.1", true)
		if want := t0.Add(models.LoginWindow); !until.Equal(want) {
			t.Errorf("throttled until %s, want %s (oldest failure + window)", until, want)
		}
		check("bob@example.com", "198.51.100.1", false)
		now = t0.Add(models.LoginWindow).Add(time.Second)
		check("ada@example.com", "198.51.100.1", false)

		// Per address: twenty failures spread over accounts that are each below their limit.
		now = t0.Add(time.Hour)
		for i := range models.MaxFailuresPerIP {
			check("zed@example.com", "192.0.2.99", false)
			fail("user"+string(rune('a'+i%5))+"@example.com", "192.0.2.99")
		}
		check("zed@example.com", "192.0.2.99", true)
		check("zed@example.com", "192.0.2.100", false)
		now = now.Add(models.LoginWindow + time.Second)
		check("zed@example.com", "192.0.2.99", false)
	})
}

func TestCompleteSetup(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		in := models.NewUser{Email: "first@example.com", Name: "First", Password: storePassword}

		if _, _, err := s.CompleteSetup(ctx, "", in, "Acme", "standard"); fieldErrors(t, err)["code"] == "" {
			t.Errorf("setup before any code was made: %v", err)
		}
		code, err := s.NewSetupCode(ctx)
		if err != nil || len(code) != 14 {
			t.Fatalf("NewSetupCode = %q, %v", code, err)
		}
		for _, wrong := range []string{"", "AAAA-BBBB-CCCC", code + "X"} {
			if _, _, err := s.CompleteSetup(ctx, wrong, in, "Acme", "standard"); fieldErrors(t, err)["code"] == "" {
				t.Errorf("code %q: %v, want a code error", wrong, err)
			}
		}
		// A right code with a bad form creates nothing and stays usable.
		bad := in
		bad.Password = "short"
		_, _, err = s.CompleteSetup(ctx, code, bad, "Acme", "standard")
		if fe := fieldErrors(t, err); fe["password"] == "" || fe["code"] != "" {
			t.Errorf("weak password with right code: %v", fe)
		}
		if c := rowCounts(t, s); c != [3]int64{} {
			t.Fatalf("rows after failed setups: %v", c)
		}

		// The code is accepted without its dashes' case mattering.
		u, w, err := s.CompleteSetup(ctx, " "+strings.ToLower(code)+" ", in, "Acme", "standard")
		if err != nil {
			t.Fatalf("CompleteSetup with the right code: %v", err)
		}
		if m, err := s.Membership(ctx, w.ID, u.ID); err != nil || m.Role != models.RoleAdmin {
			t.Errorf("first user's membership = %+v, %v", m, err)
		}
		second := models.NewUser{Email: "second@example.com", Name: "Second", Password: storePassword}
		if _, _, err := s.CompleteSetup(ctx, code, second, "Other", "standard"); !errors.Is(err, models.ErrSetupDone) {
			t.Errorf("second setup: %v, want ErrSetupDone", err)
		}
		if c := rowCounts(t, s); c != [3]int64{1, 1, 1} {
			t.Errorf("rows after setup = %v, want one of each", c)
		}
		if code, err := s.NewSetupCode(ctx); code != "" || err != nil {
			t.Errorf("NewSetupCode after setup = %q, %v; want none", code, err)
		}
	})
}

func TestSessionSecret(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		a, err := s.SessionSecret(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 32 {
			t.Errorf("secret is %d bytes, want 32", len(a))
		}
		b, err := s.SessionSecret(ctx)
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("second call = %x, %v; want %x", b, err, a)
		}
		// Another Store on the same database — a restart or a second instance.
		url := s.DSN()
		if s.Dialect() == models.DialectSQLite {
			url = "sqlite://" + url
		}
		again, err := models.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		c, err := again.SessionSecret(ctx)
		if err != nil || !bytes.Equal(a, c) {
			t.Errorf("after re-open = %x, %v; want %x", c, err, a)
		}
	})
}

func TestSessionSecretSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyward.db")
	first, err := models.Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := first.SessionSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := models.Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	b, err := second.SessionSecret(ctx)
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("after restart = %x, %v; want %x", b, err, a)
	}
}

func TestParseDatabaseURL(t *testing.T) {
	tests := []struct {
		in      string
		dialect models.Dialect
		dsn     string
		bad     bool
	}{
		{"", models.DialectSQLite, "keyward.db", false},
		{"sqlite://keyward.db", models.DialectSQLite, "keyward.db", false},
		{"sqlite://data/k.db", models.DialectSQLite, "data/k.db", false},
		{"sqlite:///var/lib/keyward/k.db", models.DialectSQLite, "/var/lib/keyward/k.db", false},
		{"postgres://u:p@db:5432/keyward?sslmode=disable", models.DialectPostgres, "postgres://u:p@db:5432/keyward?sslmode=disable", false},
		{"postgresql://db/keyward", models.DialectPostgres, "postgresql://db/keyward", false},
		{"sqlite://", "", "", true},
		{"sqlite://dir/", "", "", true},
		{"mysql://db/keyward", "", "", true},
		{"keyward.db", "", "", true},
		{"postgres://%zz", "", "", true},
	}
	for _, tt := range tests {
		d, dsn, err := models.ParseDatabaseURL(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseDatabaseURL(%q) = %s %s, want an error", tt.in, d, dsn)
			}
			continue
		}
		if err != nil || d != tt.dialect || dsn != tt.dsn {
			t.Errorf("ParseDatabaseURL(%q) = %s %q %v; want %s %q", tt.in, d, dsn, err, tt.dialect, tt.dsn)
		}
	}
}

func TestSlugify(t *testing.T) {
	tests := map[string]string{
		"Acme":                  "acme",
		"  Acme Corp  ":         "acme-corp",
		"Ünïcode & Friends!":    "n-code-friends",
		"a--b__c":               "a-b-c",
		"!!!":                   "",
		strings.Repeat("x", 60): strings.Repeat("x", 48),
	}
	for in, want := range tests {
		if got := models.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		password, email string
		ok              bool
	}{
		{"correct-horse-battery", "a@example.com", true},
		{"ten chars!", "a@example.com", true},
		{"ninechars", "a@example.com", false},
		{strings.Repeat("ab", 65), "a@example.com", false},
		{"QWERTYUIOP", "a@example.com", false},
		{"zzzzzzzzzzzz", "a@example.com", false},
		{"long.person@example.com", "long.person@example.com", false},
		{"ééééééééé", "a@example.com", false},
		{"éééééééééé", "a@example.com", false},
		{"ééééééééééa", "a@example.com", true},
	}
	for _, tt := range tests {
		if got := models.CheckPassword(tt.password, tt.email); (got == "") != tt.ok {
			t.Errorf("CheckPassword(%q) = %q, want ok=%v", tt.password, got, tt.ok)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p, err := models.GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 20 || models.CheckPassword(p, "x@example.com") != "" || seen[p] {
			t.Fatalf("GeneratePassword = %q", p)
		}
		seen[p] = true
	}
}

// TestCompleteSetupConcurrent: several browsers submitting the right code at
// once make exactly one first admin.
func TestCompleteSetupConcurrent(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		code, err := s.NewSetupCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make(chan error, n)
		start := make(chan struct{})
		for i := range n {
			go func() {
				<-start
				in := models.NewUser{Email: fmt.Sprintf("admin%d@example.com", i), Name: "Admin", Password: storePassword}
				_, _, err := s.CompleteSetup(ctx, code, in, fmt.Sprintf("Workspace %d", i), "standard")
				errs <- err
			}()
		}
		close(start)
		ok := 0
		for range n {
			err := <-errs
			var fe models.FieldErrors
			switch {
			case err == nil:
				ok++
			case errors.Is(err, models.ErrSetupDone), errors.As(err, &fe) && fe["code"] != "":
			default:
				t.Errorf("concurrent setup: %v", err)
			}
		}
		if c := rowCounts(t, s); ok != 1 || c != [3]int64{1, 1, 1} {
			t.Errorf("%d setups succeeded, rows %v; want exactly one admin", ok, c)
		}
	})
}

// TestLastAdminConcurrent: two admins demoting or removing each other at the
// same moment cannot leave the workspace without an admin.
func TestLastAdminConcurrent(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		a, w := storeAdmin(t, s, "a@example.com", "Acme")
		m, _, err := s.AddMember(ctx, w.ID, models.NewUser{Email: "b@example.com", Name: "B", Password: storePassword}, models.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		b := m.UserID
		for round := range 20 {
			for _, id := range []int64{a.ID, b} {
				if _, err := s.Membership(ctx, w.ID, id); errors.Is(err, models.ErrNotFound) {
					if _, _, err := s.AddMember(ctx, w.ID, models.NewUser{Email: map[int64]string{a.ID: "a@example.com", b: "b@example.com"}[id]}, models.RoleAdmin); err != nil {
						t.Fatal(err)
					}
				} else if err := s.ChangeRole(ctx, w.ID, id, models.RoleAdmin); err != nil {
					t.Fatal(err)
				}
			}
			change := func(userID int64) error {
				if round%2 == 0 {
					return s.ChangeRole(ctx, w.ID, userID, models.RoleMember)
				}
				return s.RemoveMember(ctx, w.ID, userID)
			}
			start := make(chan struct{})
			errs := make(chan error, 2)
			for _, id := range []int64{a.ID, b} {
				go func() { <-start; errs <- change(id) }()
			}
			close(start)
			for range 2 {
				if err := <-errs; err != nil && !errors.Is(err, models.ErrLastAdmin) {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			var admins int64
			if err := s.DB().Model(&models.Membership{}).Where("workspace_id = ? AND role = ?", w.ID, models.RoleAdmin).Count(&admins).Error; err != nil {
				t.Fatal(err)
			}
			if admins != 1 {
				t.Fatalf("round %d: %d admins left, want 1", round, admins)
			}
		}
	})
}

// TestAuditOddText: labels and user agents arrive from visitors; whatever
// their bytes, the event is written, as valid UTF-8 and bounded in size.
func TestAuditOddText(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		tests := []struct{ label, agent string }{
			{"ada@example.com", strings.Repeat("a", 299) + "é"},
			{"bad\xff@example.com", "agent\xc3"},
			{strings.Repeat("é", 1000), strings.Repeat("ü", 1000)},
		}
		for _, tt := range tests {
			a := models.Actor{Type: "user", Label: tt.label, IP: "192.0.2.1", UserAgent: tt.agent}
			if err := s.Audit(ctx, 0, a, models.ActionLoginFailed, models.Target{Type: "user", Label: tt.label}, nil); err != nil {
				t.Fatalf("Audit(%q, %q): %v", tt.label, tt.agent, err)
			}
			evs, _, err := s.AuditEvents(ctx, models.AuditFilter{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			ev := evs[0]
			for _, v := range []string{ev.ActorLabel, ev.TargetLabel, ev.UserAgent} {
				if !utf8.ValidString(v) || len(v) > 320 {
					t.Errorf("stored %q (%d bytes)", v, len(v))
				}
			}
		}
	})
}
