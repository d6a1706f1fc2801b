package models_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

// tokenFixture is a store with one workspace, its admin and a clock the test
// moves by hand.
type tokenFixture struct {
	t      *testing.T
	s      *models.Store
	p      *models.Policy
	ws     *models.Workspace
	admin  *models.User
	actor  models.Actor
	now    time.Time
	policy string
}

// newTokenFixture opens the fixture on s with the example policy file (""
// means the built-in policy).
func newTokenFixture(t *testing.T, s *models.Store, policyFile string) *tokenFixture {
	t.Helper()
	p := tokPolicy(t, policyFile)
	f := &tokenFixture{t: t, s: s, p: p, policy: policyFile, now: time.Date(2030, 5, 14, 9, 30, 0, 0, time.UTC)}
	s.Now = func() time.Time { return f.now }
	n := tokFixtureSeq.Add(1)
	f.admin, f.ws = f.seedAdmin(fmt.Sprintf("admin%d@example.com", n), fmt.Sprintf("Acme %d", n))
	f.actor = models.UserActor(f.admin, "198.51.100.4", "fixture")
	return f
}

var tokFixtureSeq atomic.Int64

func tokPolicy(t *testing.T, file string) *models.Policy {
	t.Helper()
	if file == "" {
		return models.DefaultPolicy()
	}
	p, err := models.LoadPolicy(filepath.Join("..", "examples", file))
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	return p
}

func (f *tokenFixture) seedAdmin(email, workspace string) (*models.User, *models.Workspace) {
	f.t.Helper()
	u, w, err := f.s.CreateAdmin(context.Background(), models.NewUser{Email: email, Name: "Admin", Password: "correct-horse-battery"}, workspace, f.p.DefaultPlan)
	if err != nil {
		f.t.Fatalf("create admin: %v", err)
	}
	return u, w
}

func (f *tokenFixture) seedMember(email string, role models.Role) *models.User {
	f.t.Helper()
	m, _, err := f.s.AddMember(context.Background(), f.ws.ID, models.NewUser{Email: email, Name: "Member", Password: "correct-horse-battery"}, role)
	if err != nil {
		f.t.Fatalf("add member: %v", err)
	}
	return &m.User
}

func (f *tokenFixture) advance(d time.Duration) { f.now = f.now.Add(d) }

// validInput returns input that passes every rule of the type.
func tokValidInput(tt *models.TokenType) models.TokenInput {
	in := models.TokenInput{Type: tt.Name, Name: "ci " + tt.Name, Description: "used by tests"}
	if len(tt.Scopes) > 0 {
		in.Scopes = []string{tt.Scopes[0]}
	}
	switch tt.IPRule {
	case models.IPRuleRequired:
		in.IPAllowlist = "203.0.113.7\n10.0.0.0/8"
	case models.IPRuleOptional:
		in.IPAllowlist = "2001:db8::/32"
	}
	if tt.Attributes {
		in.ExposedAttributes = []string{"email", "loyalty_tier"}
		in.LinkingAttribute = "customer_id"
	}
	in.AcceptTerms = tt.Terms != ""
	return in
}

func (f *tokenFixture) input(typ string) models.TokenInput {
	f.t.Helper()
	tt, ok := f.p.Type(typ)
	if !ok {
		f.t.Fatalf("%s has no type %q", f.policy, typ)
	}
	return tokValidInput(tt)
}

// create makes a token as the admin and fails the test on error.
func (f *tokenFixture) create(in models.TokenInput) (*models.Token, string) {
	f.t.Helper()
	return f.createBy(f.admin, in)
}

func (f *tokenFixture) createBy(u *models.User, in models.TokenInput) (*models.Token, string) {
	f.t.Helper()
	tok, plain, err := f.s.CreateToken(context.Background(), f.p, f.ws, u, models.UserActor(u, "198.51.100.4", "fixture"), in)
	if err != nil {
		f.t.Fatalf("CreateToken(%s %q): %v", in.Type, in.Name, err)
	}
	return tok, plain
}

func (f *tokenFixture) load(publicID string) *models.Token {
	f.t.Helper()
	tok, err := f.s.TokenByPublicID(context.Background(), f.ws.ID, publicID)
	if err != nil {
		f.t.Fatalf("load %s: %v", publicID, err)
	}
	return tok
}

// rows counts the rows of a table.
func (f *tokenFixture) rows(table string) int64 {
	f.t.Helper()
	var n int64
	if err := f.s.DB().Table(table).Count(&n).Error; err != nil {
		f.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func (f *tokenFixture) events(action, target string) []models.AuditEvent {
	f.t.Helper()
	evs, _, err := f.s.AuditEvents(context.Background(), models.AuditFilter{WorkspaceID: f.ws.ID, Action: action, TargetID: target})
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}

// fieldErrors asserts err is FieldErrors and returns them.
func tokFieldErrors(t *testing.T, err error) models.FieldErrors {
	t.Helper()
	var fe models.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v, want FieldErrors", err)
	}
	return fe
}

var tokPolicies = []string{
	"", // built-in
	"personal-tokens.yaml",
	"activity-profile-read.yaml",
	"workspace-keys.yaml",
	"role-tokens.yaml",
	"split-keys.yaml",
}

func TestCreateTokenEveryExampleType(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		for _, file := range tokPolicies {
			p := tokPolicy(t, file)
			for _, tt := range p.Types {
				t.Run(tokPolicyName(file)+"/"+tt.Name, func(t *testing.T) {
					f := newTokenFixture(t, s, file)
					in := tokValidInput(&tt)
					tok, plain, err := s.CreateToken(context.Background(), f.p, f.ws, f.admin, f.actor, in)
					if err != nil {
						t.Fatalf("CreateToken: %v", err)
					}
					parsed, err := models.ParseToken(plain)
					if err != nil {
						t.Fatalf("ParseToken(%q): %v", plain, err)
					}
					if parsed.Prefix != tt.Prefix || parsed.ID != tok.PublicID {
						t.Errorf("parsed %s_%s_…, want prefix %q and id %q", parsed.Prefix, parsed.ID, tt.Prefix, tok.PublicID)
					}
					if !strings.HasPrefix(plain, tt.Prefix+"_") {
						t.Errorf("plaintext %q does not start with %s_", plain, tt.Prefix)
					}
					stored := f.load(tok.PublicID)
					if stored.SecretHash != models.HashToken(plain) {
						t.Errorf("stored hash %q is not SHA-256 of the plaintext", stored.SecretHash)
					}
					if stored.Last4 != plain[len(plain)-4:] {
						t.Errorf("Last4 = %q, want %q", stored.Last4, plain[len(plain)-4:])
					}
					if want := tt.Prefix + "_" + tok.PublicID + "_••••" + plain[len(plain)-4:]; stored.Masked() != want {
						t.Errorf("Masked = %q, want %q", stored.Masked(), want)
					}
					tokAssertNoSecret(t, s, "tokens", plain)
					tokAssertNoSecret(t, s, "audit_events", plain)
					if stored.Type != tt.Name || stored.Prefix != tt.Prefix || stored.Name != in.Name {
						t.Errorf("stored type %q prefix %q name %q", stored.Type, stored.Prefix, stored.Name)
					}
					if stored.CreatedByID == nil || *stored.CreatedByID != f.admin.ID || stored.CreatedByLabel != f.admin.Email {
						t.Errorf("creator = %v %q, want %d %q", stored.CreatedByID, stored.CreatedByLabel, f.admin.ID, f.admin.Email)
					}
					switch def := tt.Expiry.Default; {
					case def == 0 && stored.ExpiresAt != nil:
						t.Errorf("ExpiresAt = %v, want never (type default)", stored.ExpiresAt)
					case def > 0 && (stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(f.now.Add(def))):
						t.Errorf("ExpiresAt = %v, want now + %s", stored.ExpiresAt, def)
					}
					if (tt.Terms != "") != (stored.TermsAcceptedAt != nil) {
						t.Errorf("TermsAcceptedAt = %v with terms %q", stored.TermsAcceptedAt, tt.Terms)
					}
					if tt.Attributes && (stored.LinkingAttribute != "customer_id" || !slices.Equal(stored.ExposedAttributes, in.ExposedAttributes)) {
						t.Errorf("attributes %v linking %q", stored.ExposedAttributes, stored.LinkingAttribute)
					}
					if got := stored.Status(f.now); got != models.StatusActive {
						t.Errorf("status = %q, want active", got)
					}
					evs := f.events(models.ActionTokenCreated, tok.PublicID)
					if len(evs) != 1 || evs[0].ActorLabel != f.admin.Email || evs[0].IP != "198.51.100.4" {
						t.Errorf("token.created events = %+v", evs)
					}
				})
			}
		}
	})
}

// newWorkspace gives each subtest sharing a store its own workspace.
func (f *tokenFixture) newWorkspace() *models.Workspace {
	f.t.Helper()
	name := fmt.Sprintf("Workspace %d", tokFixtureSeq.Add(1))
	w, err := f.s.CreateWorkspace(context.Background(), f.admin.ID, name, f.p.DefaultPlan)
	if err != nil {
		f.t.Fatal(err)
	}
	return w
}

func tokPolicyName(file string) string {
	if file == "" {
		return "built-in"
	}
	return strings.TrimSuffix(file, ".yaml")
}

// assertRowHasNoSecret fails if any text column of table holds the plaintext
// or its secret part.
func tokAssertNoSecret(t *testing.T, s *models.Store, table, plain string) {
	t.Helper()
	secret := plain[strings.LastIndex(plain, "_")+1:]
	var rows []map[string]any
	if err := s.DB().Table(table).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		for col, v := range r {
			if str := fmt.Sprint(v); strings.Contains(str, secret) {
				t.Errorf("%s.%s holds the token secret: %q", table, col, str)
			}
		}
	}
}

func TestCreateTokenRejectsBadInput(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name   string
		policy string
		typ    string
		edit   func(in *models.TokenInput)
		key    string
		msg    string // part of the message
	}{
		{"unknown type", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.Type = "superuser" }, "type", `"superuser"`},
		{"empty name", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.Name = "  " }, "name", "Enter a name"},
		{"long name", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.Name = strings.Repeat("n", 101) }, "name", "at most 100"},
		{"long description", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.Description = strings.Repeat("d", 501) }, "description", "500"},
		{"scope of another type", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.Scopes = []string{"read", "tokens:verify"} }, "scopes", `"tokens:verify"`},
		{"undeclared scope", "workspace-keys.yaml", "workspace", func(in *models.TokenInput) { in.Scopes = []string{"delete-everything"} }, "scopes", `"delete-everything"`},
		{"no scope where one is needed", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.Scopes = nil }, "scopes", "at least 1"},
		{"role token with two roles", "role-tokens.yaml", "role", func(in *models.TokenInput) { in.Scopes = []string{"BLUEPRINTS_FULL", "FULL"} }, "scopes", "exactly one role"},
		{"role token without a role", "role-tokens.yaml", "role", func(in *models.TokenInput) { in.Scopes = nil }, "scopes", "exactly one role"},
		{"role token with an implied scope", "role-tokens.yaml", "role", func(in *models.TokenInput) { in.Scopes = []string{"blueprints:write"} }, "scopes", `"blueprints:write"`},
		{"malformed CIDR", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.IPAllowlist = "10.0.0.0/8\n\n192.168.1.0/33" }, "ip_allowlist", `line 3: "192.168.1.0/33"`},
		{"not an address", "workspace-keys.yaml", "workspace", func(in *models.TokenInput) { in.IPAllowlist = "office" }, "ip_allowlist", `line 1: "office"`},
		{"expiry too long", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.ExpiresIn = 31 * day }, "expires", "between 1 day and 30 days"},
		{"expiry too short", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.ExpiresIn = 12 * time.Hour }, "expires", "between 1 day and 30 days"},
		{"never where not allowed", "personal-tokens.yaml", "personal", func(in *models.TokenInput) { in.Never = true }, "expires", "must expire"},
		{"role expiry under a week", "role-tokens.yaml", "role", func(in *models.TokenInput) { in.ExpiresIn = 6 * day }, "expires", "between 1 week and 1 year"},
		{"role expiry over a year", "role-tokens.yaml", "role", func(in *models.TokenInput) { in.ExpiresIn = 366 * day }, "expires", "between 1 week and 1 year"},
		{"role never expiring", "role-tokens.yaml", "role", func(in *models.TokenInput) { in.Never = true }, "expires", "must expire"},
		{"service expiry over a year", "", "service", func(in *models.TokenInput) { in.ExpiresIn = 400 * day }, "expires", "1 year"},
		{"profile read without IP", "activity-profile-read.yaml", "profile_read", func(in *models.TokenInput) { in.IPAllowlist = " \n " }, "ip_allowlist", "at least one"},
		{"attributes missing", "activity-profile-read.yaml", "profile_read", func(in *models.TokenInput) { in.ExposedAttributes = nil }, "attributes", "at least one"},
		{"attribute not in catalogue", "activity-profile-read.yaml", "profile_read", func(in *models.TokenInput) { in.ExposedAttributes = []string{"email", "shoe_size"} }, "attributes", `"shoe_size"`},
		{"linking attribute missing", "activity-profile-read.yaml", "profile_read", func(in *models.TokenInput) { in.LinkingAttribute = "" }, "linking_attribute", "Choose"},
		{"linking attribute not in catalogue", "activity-profile-read.yaml", "profile_read", func(in *models.TokenInput) { in.LinkingAttribute = "passport" }, "linking_attribute", `"passport"`},
		{"terms not ticked (activity)", "activity-profile-read.yaml", "activity", func(in *models.TokenInput) { in.AcceptTerms = false }, "terms", "agree"},
		{"terms not ticked (profile read)", "activity-profile-read.yaml", "profile_read", func(in *models.TokenInput) { in.AcceptTerms = false }, "terms", "agree"},
		{"negative rate", "workspace-keys.yaml", "workspace", func(in *models.TokenInput) { in.RateDaily = -1 }, "rate", "negative"},
	}
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := newTokenFixture(t, s, tc.policy)
				in := f.input(tc.typ)
				tc.edit(&in)
				tokens, events := f.rows("tokens"), f.rows("audit_events")
				tok, plain, err := s.CreateToken(context.Background(), f.p, f.ws, f.admin, f.actor, in)
				fe := tokFieldErrors(t, err)
				if !strings.Contains(fe[tc.key], tc.msg) {
					t.Errorf("errors = %v, want %s containing %q", fe, tc.key, tc.msg)
				}
				if tok != nil || plain != "" {
					t.Errorf("returned a token (%v, %q) with the error", tok, plain)
				}
				if n := f.rows("tokens"); n != tokens {
					t.Errorf("tokens: %d rows, was %d", n, tokens)
				}
				if n := f.rows("audit_events"); n != events {
					t.Errorf("audit events: %d rows, was %d", n, events)
				}
			})
		}
	})
}

func TestCreateTokenNormalisesInput(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		f := newTokenFixture(t, s, "activity-profile-read.yaml")
		in := f.input("profile_read")
		in.Name = "  Warehouse sync  "
		in.IPAllowlist = "10.1.2.3/8, 203.0.113.7\n\n10.0.0.0/8\n2001:DB8::1"
		in.ExposedAttributes = []string{"email", " email", "segment"}
		tok, _ := f.create(in)
		got := f.load(tok.PublicID)
		if got.Name != "Warehouse sync" {
			t.Errorf("name = %q", got.Name)
		}
		if want := "10.0.0.0/8\n203.0.113.7\n2001:db8::1"; got.IPAllowlist != want {
			t.Errorf("allowlist = %q, want %q", got.IPAllowlist, want)
		}
		if !slices.Equal(got.ExposedAttributes, []string{"email", "segment"}) {
			t.Errorf("attributes = %v", got.ExposedAttributes)
		}
	})
}

func TestResetToken(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		tests := []struct {
			name  string
			grace time.Duration
		}{
			{"at once", 0},
			{"one hour", time.Hour},
			{"a full day", models.MaxGrace},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f := newTokenFixture(t, s, "personal-tokens.yaml")
				tok, oldPlain := f.create(f.input("personal"))
				f.advance(time.Minute)
				got, plain, err := s.ResetToken(ctx, f.ws, tok.PublicID, f.actor, tc.grace)
				if err != nil {
					t.Fatalf("ResetToken: %v", err)
				}
				parsed, err := models.ParseToken(plain)
				if err != nil || parsed.ID != tok.PublicID || parsed.Prefix != "pat" {
					t.Fatalf("new plaintext %q: %v %+v", plain, err, parsed)
				}
				if plain == oldPlain {
					t.Fatal("reset returned the old plaintext")
				}
				stored := f.load(tok.PublicID)
				if stored.SecretHash != models.HashToken(plain) || stored.Last4 != plain[len(plain)-4:] {
					t.Errorf("stored hash/last4 do not match the new plaintext")
				}
				if stored.ID != tok.ID || !stored.CreatedAt.Equal(tok.CreatedAt) {
					t.Errorf("reset replaced the row: %d %v", stored.ID, stored.CreatedAt)
				}
				switch {
				case tc.grace == 0:
					if stored.PreviousHash != "" || stored.PreviousValidUntil != nil || stored.GraceActive(f.now) {
						t.Errorf("old hash kept without grace: %q until %v", stored.PreviousHash, stored.PreviousValidUntil)
					}
				default:
					if stored.PreviousHash != models.HashToken(oldPlain) {
						t.Errorf("PreviousHash = %q, want hash of the old token", stored.PreviousHash)
					}
					if stored.PreviousValidUntil == nil || !stored.PreviousValidUntil.Equal(f.now.Add(tc.grace)) {
						t.Errorf("PreviousValidUntil = %v, want %v", stored.PreviousValidUntil, f.now.Add(tc.grace))
					}
					if !stored.GraceActive(f.now) || stored.GraceActive(f.now.Add(tc.grace)) {
						t.Errorf("grace should run until exactly %v", f.now.Add(tc.grace))
					}
				}
				if got.SecretHash != stored.SecretHash {
					t.Errorf("returned token differs from stored")
				}
				tokAssertNoSecret(t, s, "tokens", plain)
				tokAssertNoSecret(t, s, "audit_events", plain)
				if evs := f.events(models.ActionTokenReset, tok.PublicID); len(evs) != 1 {
					t.Errorf("token.reset events = %d, want 1", len(evs))
				}
			})
		}

		t.Run("refusals", func(t *testing.T) {
			f := newTokenFixture(t, s, "personal-tokens.yaml")
			tok, _ := f.create(f.input("personal"))
			before := f.load(tok.PublicID)
			for _, g := range []time.Duration{models.MaxGrace + time.Second, 48 * time.Hour, -time.Hour} {
				_, plain, err := s.ResetToken(ctx, f.ws, tok.PublicID, f.actor, g)
				if fe := tokFieldErrors(t, err); fe["grace"] == "" || plain != "" {
					t.Errorf("grace %s: errors %v, plaintext %q", g, fe, plain)
				}
			}
			if after := f.load(tok.PublicID); after.SecretHash != before.SecretHash || after.PreviousHash != "" {
				t.Error("a refused reset changed the token")
			}
			if evs := f.events(models.ActionTokenReset, ""); len(evs) != 0 {
				t.Errorf("refused resets wrote %d audit events", len(evs))
			}
			if _, _, err := s.ResetToken(ctx, f.ws, "nOtThErE", f.actor, 0); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("unknown id: %v, want ErrNotFound", err)
			}
			other := f.newWorkspace()
			if _, _, err := s.ResetToken(ctx, other, tok.PublicID, f.actor, 0); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("other workspace: %v, want ErrNotFound", err)
			}
			if _, err := s.RevokeToken(ctx, f.ws.ID, tok.PublicID, f.actor, models.RevokeManual); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.ResetToken(ctx, f.ws, tok.PublicID, f.actor, 0); !errors.Is(err, models.ErrTokenRevoked) {
				t.Errorf("revoked: %v, want ErrTokenRevoked", err)
			}
			if after := f.load(tok.PublicID); after.SecretHash != before.SecretHash {
				t.Error("resetting a revoked token changed its hash")
			}
			expiring, _ := f.create(f.input("personal"))
			f.advance(8 * 24 * time.Hour)
			_, _, err := s.ResetToken(ctx, f.ws, expiring.PublicID, f.actor, 0)
			if fe := tokFieldErrors(t, err); !strings.Contains(fe["grace"], "expired") {
				t.Errorf("expired token: %v", fe)
			}
		})
	})
}

func TestRevokeToken(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newTokenFixture(t, s, "split-keys.yaml")
		tok, _ := f.create(f.input("management"))
		keep, _ := f.create(f.input("customer"))
		var changed []string
		s.OnTokenChange(func(id string) { changed = append(changed, id) })
		f.advance(time.Hour)
		got, err := s.RevokeToken(ctx, f.ws.ID, tok.PublicID, f.actor, models.RevokeManual)
		if err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
		if got.RevokedAt == nil || !got.RevokedAt.Equal(f.now) {
			t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, f.now)
		}
		if !slices.Equal(changed, []string{tok.PublicID}) {
			t.Errorf("change hooks ran for %v", changed)
		}
		stored := f.load(tok.PublicID)
		if stored.RevokedAt == nil || stored.RevokedByLabel != f.admin.Email || stored.RevokedReason != models.RevokeManual {
			t.Errorf("stored revocation: at %v by %q reason %q", stored.RevokedAt, stored.RevokedByLabel, stored.RevokedReason)
		}
		if stored.Status(f.now) != models.StatusRevoked {
			t.Errorf("status = %q", stored.Status(f.now))
		}
		if _, err := s.RevokeToken(ctx, f.ws.ID, tok.PublicID, f.actor, models.RevokeManual); !errors.Is(err, models.ErrTokenRevoked) {
			t.Errorf("second revoke: %v, want ErrTokenRevoked", err)
		}
		if again := f.load(tok.PublicID); !again.RevokedAt.Equal(*stored.RevokedAt) {
			t.Errorf("second revoke moved RevokedAt to %v", again.RevokedAt)
		}
		if _, err := s.RevokeToken(ctx, f.ws.ID, "nOtThErE", f.actor, models.RevokeManual); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
		other := f.newWorkspace()
		if _, err := s.RevokeToken(ctx, other.ID, keep.PublicID, f.actor, models.RevokeManual); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("other workspace: %v", err)
		}
		if evs := f.events(models.ActionTokenRevoked, ""); len(evs) != 1 || evs[0].TargetID != tok.PublicID || !strings.Contains(evs[0].Details, "manual") {
			t.Errorf("token.revoked events = %+v", evs)
		}
		list, total, err := s.TokensByWorkspace(ctx, models.TokenQuery{WorkspaceID: f.ws.ID, Status: models.StatusRevoked})
		if err != nil || total != 1 || len(list) != 1 || list[0].PublicID != tok.PublicID || list[0].RevokedByLabel != f.admin.Email {
			t.Errorf("revoked list = %v (%d), %v", list, total, err)
		}
		all, total, _ := s.TokensByWorkspace(ctx, models.TokenQuery{WorkspaceID: f.ws.ID})
		if total != 2 || len(all) != 2 {
			t.Errorf("the revoked token should stay listed: %d tokens", total)
		}
		if _, err := s.UpdateToken(ctx, f.p, f.ws, tok.PublicID, f.actor, models.TokenInput{Name: "renamed"}); !errors.Is(err, models.ErrTokenRevoked) {
			t.Errorf("editing a revoked token: %v", err)
		}
	})
}

func TestUpdateToken(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newTokenFixture(t, s, "activity-profile-read.yaml")
		tok, _ := f.create(f.input("profile_read"))
		orig := f.load(tok.PublicID)

		bad := []struct {
			name string
			edit func(in *models.TokenInput)
			key  string
		}{
			{"empty name", func(in *models.TokenInput) { in.Name = "" }, "name"},
			{"scope not allowed", func(in *models.TokenInput) { in.Scopes = []string{"respond"} }, "scopes"},
			{"malformed CIDR", func(in *models.TokenInput) { in.IPAllowlist = "10.0.0.0/8\n10.0.0.0/99" }, "ip_allowlist"},
			{"IP list emptied", func(in *models.TokenInput) { in.IPAllowlist = "" }, "ip_allowlist"},
			{"attribute not in catalogue", func(in *models.TokenInput) { in.ExposedAttributes = []string{"iban"} }, "attributes"},
			{"linking attribute removed", func(in *models.TokenInput) { in.LinkingAttribute = "" }, "linking_attribute"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				in := models.TokenInput{
					Name: "Renamed", Description: "new words", Scopes: orig.Scopes, IPAllowlist: "192.0.2.0/24",
					ExposedAttributes: []string{"email"}, LinkingAttribute: "email",
				}
				tc.edit(&in)
				events := f.rows("audit_events")
				_, err := s.UpdateToken(ctx, f.p, f.ws, tok.PublicID, f.actor, in)
				if fe := tokFieldErrors(t, err); fe[tc.key] == "" {
					t.Errorf("errors = %v, want key %s", fe, tc.key)
				}
				got := f.load(tok.PublicID)
				if got.Name != orig.Name || got.Description != orig.Description || got.IPAllowlist != orig.IPAllowlist ||
					!slices.Equal(got.ExposedAttributes, orig.ExposedAttributes) || got.LinkingAttribute != orig.LinkingAttribute ||
					!slices.Equal(got.Scopes, orig.Scopes) {
					t.Errorf("a failed edit changed the token: %+v", got)
				}
				if n := f.rows("audit_events"); n != events {
					t.Errorf("a failed edit wrote %d audit events", n-events)
				}
			})
		}

		t.Run("valid edit", func(t *testing.T) {
			var changed []string
			s.OnTokenChange(func(id string) { changed = append(changed, id) })
			f.advance(time.Minute)
			in := models.TokenInput{
				Name: " Warehouse ", Description: "nightly export", Scopes: []string{"profiles:read"}, IPAllowlist: "192.0.2.0/24\n2001:db8::/48",
				ExposedAttributes: []string{"email", "segment"}, LinkingAttribute: "segment",
			}
			got, err := s.UpdateToken(ctx, f.p, f.ws, tok.PublicID, f.actor, in)
			if err != nil {
				t.Fatalf("UpdateToken: %v", err)
			}
			stored := f.load(tok.PublicID)
			if stored.Name != "Warehouse" || stored.Description != "nightly export" || stored.IPAllowlist != "192.0.2.0/24\n2001:db8::/48" ||
				!slices.Equal(stored.ExposedAttributes, []string{"email", "segment"}) || stored.LinkingAttribute != "segment" {
				t.Errorf("stored = %+v", stored)
			}
			if stored.SecretHash != orig.SecretHash || stored.Type != orig.Type || got.PublicID != tok.PublicID {
				t.Errorf("an edit touched the hash or type: %+v", stored)
			}
			evs := f.events(models.ActionTokenUpdated, tok.PublicID)
			if len(evs) != 1 || !strings.Contains(evs[0].Details, "Warehouse") || !strings.Contains(evs[0].Details, "ip_allowlist") {
				t.Errorf("token.updated events = %+v", evs)
			}
			if !slices.Equal(changed, []string{tok.PublicID}) {
				t.Errorf("change hooks ran for %v", changed)
			}
			if _, err := s.UpdateToken(ctx, f.p, f.ws, tok.PublicID, f.actor, in); err != nil {
				t.Fatal(err)
			}
			if evs := f.events(models.ActionTokenUpdated, tok.PublicID); len(evs) != 1 {
				t.Errorf("saving without changes wrote an event (%d)", len(evs))
			}
		})

		t.Run("other workspace", func(t *testing.T) {
			other := f.newWorkspace()
			_, err := s.UpdateToken(ctx, f.p, other, tok.PublicID, f.actor, models.TokenInput{Name: "x"})
			if !errors.Is(err, models.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestTokensByWorkspace(t *testing.T) {
	models.EachTestStore(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newTokenFixture(t, s, "personal-tokens.yaml")
		member := f.seedMember("member@example.com", models.RoleMember)
		mk := func(u *models.User, name, typ string, life time.Duration) *models.Token {
			in := f.input(typ)
			in.Name, in.ExpiresIn = name, life
			tok, _ := f.createBy(u, in)
			f.advance(time.Second) // distinct creation times
			return tok
		}
		day := 24 * time.Hour
		alpha := mk(f.admin, "Alpha deploy", "personal", 30*day)
		beta := mk(f.admin, "Beta 100% sync", "personal", day)
		gamma := mk(member, "gamma_reports", "personal", 7*day)
		delta := mk(f.admin, "Delta", "personal", 30*day)
		svc := mk(f.admin, "Verifier", "service", 0)
		if _, err := s.RevokeToken(ctx, f.ws.ID, delta.PublicID, f.actor, models.RevokeManual); err != nil {
			t.Fatal(err)
		}
		// Another workspace's token never shows.
		otherAdmin, otherWS := f.seedAdmin("other@example.com", "Other Co")
		if _, _, err := s.CreateToken(ctx, f.p, otherWS, otherAdmin, f.actor, f.input("personal")); err != nil {
			t.Fatal(err)
		}
		f.advance(6 * day) // alpha 24d left, beta expired, gamma 1d left: expiring

		ids := func(ts []models.Token) []string {
			var out []string
			for _, tk := range ts {
				out = append(out, tk.PublicID)
			}
			return out
		}
		tests := []struct {
			name string
			q    models.TokenQuery
			want []*models.Token
		}{
			{"all, newest first", models.TokenQuery{}, []*models.Token{svc, delta, gamma, beta, alpha}},
			{"active includes expiring", models.TokenQuery{Status: models.StatusActive}, []*models.Token{svc, gamma, alpha}},
			{"expiring", models.TokenQuery{Status: models.StatusExpiring}, []*models.Token{gamma}},
			{"expired", models.TokenQuery{Status: models.StatusExpired}, []*models.Token{beta}},
			{"revoked", models.TokenQuery{Status: models.StatusRevoked}, []*models.Token{delta}},
			{"type", models.TokenQuery{Type: "service"}, []*models.Token{svc}},
			{"type and status", models.TokenQuery{Type: "personal", Status: models.StatusActive}, []*models.Token{gamma, alpha}},
			{"unknown type", models.TokenQuery{Type: "nope"}, nil},
			{"search name, any case", models.TokenQuery{Search: "alpha DEP"}, []*models.Token{alpha}},
			{"search by full id", models.TokenQuery{Search: gamma.PublicID}, []*models.Token{gamma}},
			{"search by id, other case", models.TokenQuery{Search: strings.ToUpper(beta.PublicID)}, []*models.Token{beta}},
			{"percent is literal", models.TokenQuery{Search: "100%"}, []*models.Token{beta}},
			{"underscore is literal", models.TokenQuery{Search: "a_r"}, []*models.Token{gamma}},
			{"lone percent", models.TokenQuery{Search: "%"}, []*models.Token{beta}},
			{"no match", models.TokenQuery{Search: "zzz"}, nil},
			{"creator only", models.TokenQuery{CreatedByID: member.ID}, []*models.Token{gamma}},
			{"creator and status", models.TokenQuery{CreatedByID: member.ID, Status: models.StatusRevoked}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.q.WorkspaceID = f.ws.ID
				got, total, err := s.TokensByWorkspace(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, w := range tc.want {
					want = append(want, w.PublicID)
				}
				if !slices.Equal(ids(got), want) || total != int64(len(want)) {
					t.Errorf("got %v (total %d), want %v", ids(got), total, want)
				}
			})
		}

		t.Run("pagination", func(t *testing.T) {
			all := []string{svc.PublicID, delta.PublicID, gamma.PublicID, beta.PublicID, alpha.PublicID}
			for _, status := range []string{"", models.StatusActive} {
				var seen []string
				want := all
				if status == models.StatusActive {
					want = []string{svc.PublicID, gamma.PublicID, alpha.PublicID}
				}
				for page := 1; page <= 4; page++ {
					got, total, err := s.TokensByWorkspace(ctx, models.TokenQuery{WorkspaceID: f.ws.ID, Status: status, Page: page, PerPage: 2})
					if err != nil {
						t.Fatal(err)
					}
					if total != int64(len(want)) {
						t.Errorf("status %q page %d: total %d, want %d", status, page, total, len(want))
					}
					wantLen := max(0, min(2, len(want)-(page-1)*2))
					if len(got) != wantLen {
						t.Errorf("status %q page %d: %d rows, want %d", status, page, len(got), wantLen)
					}
					seen = append(seen, ids(got)...)
				}
				if !slices.Equal(seen, want) {
					t.Errorf("status %q: pages gave %v, want %v", status, seen, want)
				}
			}
			got, _, _ := s.TokensByWorkspace(ctx, models.TokenQuery{WorkspaceID: f.ws.ID, Page: 0, PerPage: 0})
			if len(got) != 5 {
				t.Errorf("page 0 / per page 0 should mean the first page of 25: %d rows", len(got))
			}
			got, total, _ := s.TokensByWorkspace(ctx, models.TokenQuery{WorkspaceID: f.ws.ID, Status: models.StatusExpiring, Page: 2, PerPage: 1})
			if len(got) != 0 || total != 1 {
				t.Errorf("expiring page 2: %d rows, total %d", len(got), total)
			}
		})
	})
}
