package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The policy files under examples/ reproduce the token patterns of DESIGN.md §1.
// These tests prove, for each, the behaviour its row lists as far as it is
// decided by the policy alone; the store and handler tests cover the rest.

var exampleFiles = []string{
	"personal-tokens.yaml",
	"activity-profile-read.yaml",
	"workspace-keys.yaml",
	"role-tokens.yaml",
	"split-keys.yaml",
}

func loadExample(t *testing.T, name string) *Policy {
	t.Helper()
	p, err := LoadPolicy(filepath.Join("..", "examples", name))
	if err != nil {
		t.Fatalf("LoadPolicy(%s): %v", name, err)
	}
	return p
}

func mustType(t *testing.T, p *Policy, name string) *TokenType {
	t.Helper()
	tt, ok := p.Type(name)
	if !ok {
		t.Fatalf("%s: no type %q", p.Source, name)
	}
	return tt
}

func typeNames(ts []*TokenType) []string {
	var out []string
	for _, tt := range ts {
		out = append(out, tt.Name)
	}
	return out
}

func expiryMessage(tt *TokenType, d time.Duration, never bool) string {
	if err := tt.ValidateExpiry(d, never); err != nil {
		return err.Error()
	}
	return ""
}

// TestExamplesParse loads every example and the built-in policy and checks what
// all of them must share: a service type resource servers can verify with, and
// token types whose prefixes produce tokens that route back to them.
func TestExamplesParse(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			onDisk = append(onDisk, e.Name())
		}
	}
	if want := slices.Sorted(slices.Values(exampleFiles)); !slices.Equal(onDisk, want) {
		t.Errorf("examples/ holds %q; this test knows %q", onDisk, want)
	}

	policies := map[string]*Policy{"built-in": DefaultPolicy()}
	for _, name := range exampleFiles {
		policies[name] = loadExample(t, name)
	}
	for name, p := range policies {
		t.Run(name, func(t *testing.T) {
			svc := mustType(t, p, "service")
			if !svc.AllowsScope("tokens:verify") || !svc.AllowsScope("tokens:manage") || svc.Members {
				t.Errorf("service type = %+v", svc)
			}
			if !svc.AcceptsAudience(KeywardAudience) {
				t.Error("service tokens must be accepted by Keyward's API")
			}
			for i := range p.Types {
				tt := &p.Types[i]
				id, err := NewTokenID()
				if err != nil {
					t.Fatal(err)
				}
				tok, err := NewTokenPlaintext(tt.Prefix, id)
				if err != nil {
					t.Fatalf("type %q: %v", tt.Name, err)
				}
				parsed, err := ParseToken(tok)
				if err != nil {
					t.Fatalf("type %q: token %v does not parse: %v", tt.Name, parsed, err)
				}
				if back, ok := p.TypeByPrefix(parsed.Prefix); !ok || back != tt {
					t.Errorf("type %q: prefix %q does not lead back to it", tt.Name, parsed.Prefix)
				}
				if tt.Name != "service" && tt.AcceptsAudience(KeywardAudience) && len(tt.Audiences) > 0 {
					t.Errorf("type %q is accepted by Keyward's own API", tt.Name)
				}
				for _, s := range tt.Scopes {
					if _, ok := p.Scopes.Def(s); !ok {
						t.Errorf("type %q offers %q without a declaration", tt.Name, s)
					}
				}
				if tt.Expiry.Default > 0 {
					if err := tt.ValidateExpiry(tt.Expiry.Default, false); err != nil {
						t.Errorf("type %q refuses its own default expiry: %v", tt.Name, err)
					}
				}
			}
		})
	}
}

func TestExamplePersonalTokens(t *testing.T) {
	p := loadExample(t, "personal-tokens.yaml")
	pat := mustType(t, p, "personal")

	id, err := NewTokenID()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewTokenPlaintext(pat.Prefix, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "pat_"+id+"_") || len(tok) != len("pat_")+8+1+32 {
		t.Errorf("token %q is not pat_<8-char id>_<32-char secret>", tok)
	}

	wantScopes := []string{"read", "write", "admin", "notes:create", "notes:update", "notes:delete", "notes:*", "workspaces:manage", "members:manage", "analytics:view"}
	if !slices.Equal(pat.Scopes, wantScopes) {
		t.Errorf("offered scopes = %q, want %q", pat.Scopes, wantScopes)
	}
	// notes:* matches every notes: scope, also ones the API adds later.
	for _, s := range []string{"notes:create", "notes:update", "notes:delete", "notes:archive"} {
		if !p.Scopes.Allows([]string{"notes:*"}, s) {
			t.Errorf("notes:* does not grant %s", s)
		}
		if !pat.AllowsScope(s) {
			t.Errorf("a personal token cannot hold %s", s)
		}
	}
	for _, s := range []string{"read", "write", "members:manage", "notesx:create"} {
		if p.Scopes.Allows([]string{"notes:*"}, s) {
			t.Errorf("notes:* grants %s", s)
		}
	}
	if p.Scopes.Allows([]string{"notes:create"}, "notes:delete") {
		t.Error("notes:create grants notes:delete")
	}
	if !p.Scopes.Allows([]string{"admin"}, "notes:delete") || !p.Scopes.Allows([]string{"admin"}, "read") {
		t.Error("admin must imply the narrower scopes")
	}
	if p.Scopes.Allows([]string{"read"}, "write") {
		t.Error("read grants write")
	}
	if p.Scopes.Allows([]string{"admin"}, "tokens:manage") {
		t.Error("a personal admin token may manage tokens through Keyward's API")
	}

	if p.Limits.UserActiveTokens != 10 {
		t.Errorf("tokens per user = %d, want 10", p.Limits.UserActiveTokens)
	}
	if pat.Expiry.Default != 7*Day || pat.Expiry.Max != 30*Day || pat.Expiry.Never {
		t.Errorf("expiry = %+v, want default 7d, max 30d, never expiring refused", pat.Expiry)
	}
	if got := expiryMessage(pat, 31*Day, false); got != "expiry must be between 1 day and 30 days" {
		t.Errorf("31 days: %q", got)
	}
	if got := expiryMessage(pat, 30*Day, false); got != "" {
		t.Errorf("30 days: %q", got)
	}
	if got := expiryMessage(pat, 0, true); got == "" {
		t.Error("a personal token may not live forever")
	}
	if !slices.Equal(typeNames(p.TypesForRole("member")), []string{"personal"}) {
		t.Errorf("members may create %q", typeNames(p.TypesForRole("member")))
	}

	// The built-in default offers the same personal tokens.
	def := mustType(t, DefaultPolicy(), "personal")
	if !slices.Equal(def.Scopes, pat.Scopes) || def.Expiry != pat.Expiry || def.Prefix != pat.Prefix || def.Members != pat.Members {
		t.Errorf("built-in personal type %+v differs from the example %+v", def, pat)
	}
}

func TestExampleActivityProfileRead(t *testing.T) {
	p := loadExample(t, "activity-profile-read.yaml")
	activity := mustType(t, p, "activity")
	profile := mustType(t, p, "profile_read")

	if activity.Label != "Activity" || profile.Label != "Profile Read" {
		t.Errorf("labels = %q, %q", activity.Label, profile.Label)
	}
	// Profile Read needs exposed attributes, a linking attribute and at least one IP.
	if !profile.Attributes || profile.IPRule != IPRuleRequired {
		t.Errorf("profile_read: attributes %v, ip rule %q", profile.Attributes, profile.IPRule)
	}
	// IP whitelisting stays optional for the other type.
	if activity.Attributes || activity.IPRule != IPRuleOptional {
		t.Errorf("activity: attributes %v, ip rule %q", activity.Attributes, activity.IPRule)
	}
	// Creating either requires agreeing to the terms.
	if activity.Terms == "" || profile.Terms == "" {
		t.Error("both types must carry terms")
	}
	if !strings.Contains(profile.Terms, "keep this token secret") {
		t.Errorf("terms = %q", profile.Terms)
	}
	if p.Limits.WorkspaceActiveTokens != 5 {
		t.Errorf("active tokens per workspace = %d, want 5", p.Limits.WorkspaceActiveTokens)
	}
	// Each token type opens its own API only.
	if !activity.AcceptsAudience("activity-api") || activity.AcceptsAudience("profile-read-api") {
		t.Error("activity audiences wrong")
	}
	if !profile.AcceptsAudience("profile-read-api") || profile.AcceptsAudience("activity-api") {
		t.Error("profile_read audiences wrong")
	}
	if !profile.AllowsScope("profiles:read") || profile.AllowsScope("respond") {
		t.Errorf("profile_read scopes = %q", profile.Scopes)
	}
	// Tokens are integration credentials: managers and admins create them.
	if got := typeNames(p.TypesForRole("member")); len(got) != 0 {
		t.Errorf("members may create %q", got)
	}
	if got := typeNames(p.TypesForRole("manager")); !slices.Equal(got, []string{"activity", "profile_read", "service"}) {
		t.Errorf("managers may create %q", got)
	}
}

func TestExampleWorkspaceKeys(t *testing.T) {
	p := loadExample(t, "workspace-keys.yaml")
	key := mustType(t, p, "workspace")
	if key.Prefix != "wbk" || !slices.Equal(key.Scopes, []string{"read", "write", "assistant"}) {
		t.Errorf("workspace key = prefix %q scopes %q", key.Prefix, key.Scopes)
	}

	// read covers every GET, write every POST, PATCH and DELETE.
	for method, want := range map[string]string{"GET": "read", "HEAD": "read", "POST": "write", "PUT": "write", "PATCH": "write", "DELETE": "write", "get": "read"} {
		if got := p.MethodScope(method); got != want {
			t.Errorf("MethodScope(%s) = %q, want %q", method, got, want)
		}
	}
	readOnly := []string{"read"}
	if !p.Scopes.Allows(readOnly, p.MethodScope("GET")) {
		t.Error("a read key cannot GET")
	}
	if missing := p.MethodScope("POST"); p.Scopes.Allows(readOnly, missing) {
		t.Error("a read key can POST")
	} else if msg := "Missing required permission: " + missing; msg != "Missing required permission: write" {
		t.Errorf("403 message would be %q", msg)
	}
	if p.Scopes.Allows([]string{"read", "write"}, "assistant") || !p.Scopes.Allows([]string{"assistant"}, "assistant") {
		t.Error("assistant must be granted on its own")
	}

	// Expiry is optional.
	if got := expiryMessage(key, 0, true); got != "" {
		t.Errorf("no expiry: %q", got)
	}
	if got := expiryMessage(key, 5*Year, false); got != "" {
		t.Errorf("an expiry date years ahead: %q", got)
	}

	// Per-plan limits.
	for _, want := range []Plan{{"starter", 100, 10}, {"pro", 1000, 50}, {"org", 10000, 200}} {
		if got := p.Plan(want.Name); got != want {
			t.Errorf("Plan(%s) = %+v, want %+v", want.Name, got, want)
		}
		if got := p.RateLimit(want.Name, key); got != want {
			t.Errorf("RateLimit(%s, workspace) = %+v, want the plan's", want.Name, got)
		}
	}
	if got := p.Plan(""); got.Name != "starter" {
		t.Errorf("a workspace without a plan gets %+v, want starter", got)
	}
	if !slices.Equal(p.PlanNames(), []string{"starter", "pro", "org"}) {
		t.Errorf("PlanNames = %q", p.PlanNames())
	}
}

func TestExampleRoleTokens(t *testing.T) {
	p := loadExample(t, "role-tokens.yaml")
	role := mustType(t, p, "role")
	if role.Prefix != "lp" || !role.SingleScope || role.MinScopes != 1 {
		t.Errorf("role type = %+v", role)
	}
	if !slices.Equal(role.Scopes, []string{"BLUEPRINTS_FULL", "BLUEPRINTS_READONLY", "PROFILE_FULL", "FULL"}) {
		t.Errorf("roles = %q", role.Scopes)
	}
	tests := []struct {
		role, scope string
		want        bool
	}{
		{"FULL", "blueprints:write", true},
		{"FULL", "profile:write", true},
		{"FULL", "anything:new", true},
		{"BLUEPRINTS_FULL", "blueprints:read", true},
		{"BLUEPRINTS_FULL", "blueprints:write", true},
		{"BLUEPRINTS_FULL", "blueprints:sync", true},
		{"BLUEPRINTS_FULL", "profile:read", false},
		{"BLUEPRINTS_READONLY", "blueprints:read", true},
		{"BLUEPRINTS_READONLY", "blueprints:write", false},
		{"PROFILE_FULL", "profile:write", true},
		{"PROFILE_FULL", "blueprints:read", false},
	}
	for _, tt := range tests {
		if got := p.Scopes.Allows([]string{tt.role}, tt.scope); got != tt.want {
			t.Errorf("%s grants %s = %v, want %v", tt.role, tt.scope, got, tt.want)
		}
	}
	if got := p.Scopes.Expand([]string{"BLUEPRINTS_FULL"}); !slices.Equal(got, []string{"BLUEPRINTS_FULL", "blueprints:*"}) {
		t.Errorf("Expand(BLUEPRINTS_FULL) = %q", got)
	}
	// The form offers roles, not the permissions they imply.
	if role.AllowsScope("blueprints:write") || role.AllowsScope("*") {
		t.Error("a role token may hold only a role")
	}
	// Even FULL cannot reach Keyward's own API: the audience refuses it there.
	if role.AcceptsAudience(KeywardAudience) || !role.AcceptsAudience("api") {
		t.Errorf("role audiences = %q", role.Audiences)
	}

	// Expiry from 1 week to 1 year.
	for _, tc := range []struct {
		d     time.Duration
		never bool
		want  string
	}{
		{Week, false, ""},
		{Year, false, ""},
		{90 * Day, false, ""},
		{6 * Day, false, "expiry must be between 1 week and 1 year"},
		{Year + Day, false, "expiry must be between 1 week and 1 year"},
		{0, true, "tokens of this type must expire; expiry must be between 1 week and 1 year"},
	} {
		if got := expiryMessage(role, tc.d, tc.never); got != tc.want {
			t.Errorf("ValidateExpiry(%s, %v) = %q, want %q", FormatDuration(tc.d), tc.never, got, tc.want)
		}
	}
}

func TestExampleSplitKeys(t *testing.T) {
	p := loadExample(t, "split-keys.yaml")
	customer := mustType(t, p, "customer")
	management := mustType(t, p, "management")
	if customer.Prefix != "lxc" || management.Prefix != "lxm" {
		t.Errorf("prefixes = %q, %q", customer.Prefix, management.Prefix)
	}
	// A customer key is refused by the management API and vice versa.
	tests := []struct {
		tt       *TokenType
		audience string
		want     bool
	}{
		{customer, "customer-api", true},
		{customer, "management-api", false},
		{management, "management-api", true},
		{management, "customer-api", false},
	}
	for _, tc := range tests {
		if got := tc.tt.AcceptsAudience(tc.audience); got != tc.want {
			t.Errorf("%s key at %s: accepted = %v, want %v", tc.tt.Name, tc.audience, got, tc.want)
		}
	}
	// The type is found from the token itself, before any database work.
	for _, tt := range []*TokenType{customer, management} {
		tok, err := NewTokenPlaintext(tt.Prefix, "abcd1234")
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ParseToken(tok)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := p.TypeByPrefix(parsed.Prefix); got != tt {
			t.Errorf("token %v maps to %v", parsed, got)
		}
		// Lists show the masked value, last 4 characters visible.
		if masked := MaskToken(tt.Prefix, "abcd1234", TokenLast4(tok)); masked != fmt.Sprintf("%s_abcd1234_••••%s", tt.Prefix, tok[len(tok)-4:]) {
			t.Errorf("masked = %q", masked)
		}
	}
	// Only admins and managers create, view and revoke keys.
	if got := typeNames(p.TypesForRole("member")); len(got) != 0 {
		t.Errorf("members may create %q", got)
	}
	for _, role := range []string{"admin", "manager"} {
		if got := typeNames(p.TypesForRole(role)); !slices.Equal(got, []string{"customer", "management", "service"}) {
			t.Errorf("%s may create %q", role, got)
		}
	}
	if got := expiryMessage(customer, 0, true); got != "" {
		t.Errorf("keys without expiry refused: %q", got)
	}
}

// TestExampleErrorsNameFileAndLine breaks each example in one place and checks
// that the error points at that line.
func TestExampleErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		file, old, new, wantMsg string
	}{
		{"role-tokens.yaml", "scopes: [BLUEPRINTS_FULL, BLUEPRINTS_READONLY", "scopes: [BLUEPRINTS_ALL, BLUEPRINTS_READONLY",
			`type "role": scope "BLUEPRINTS_ALL" is not declared in scopes`},
		{"role-tokens.yaml", "expiry: {default: 30d, min: 1w, max: 1y}", "expiry: {default: 30d, min: 1y, max: 1w}",
			`type "role": expiry.min (1y) is longer than expiry.max (7d)`},
		{"personal-tokens.yaml", "expiry: {default: 7d, min: 1d, max: 30d}", "expiry: {default: 60d, min: 1d, max: 30d}",
			`type "personal": expiry.default (60d) must be between 1 day and 30 days`},
		{"personal-tokens.yaml", "implies: [read, write,", "implies: [read, writ,",
			`scope "admin": implied scope "writ" is not declared in scopes`},
		{"activity-profile-read.yaml", "ip_allowlist: required", "ip_allowlist: always",
			`type "profile_read": ip_allowlist must be optional, required or none, not "always"`},
		{"activity-profile-read.yaml", "workspace_active_tokens: 5", "workspace_active_tokens: -5",
			`limits: workspace_active_tokens must not be negative (use 0 for no limit)`},
		{"workspace-keys.yaml", "default_plan: starter", "default_plan: free",
			`default_plan "free" is not declared in plans`},
		{"workspace-keys.yaml", "  PATCH: write", "  PATCH: writes",
			`method_scopes: PATCH: scope "writes" is not declared in scopes`},
		{"split-keys.yaml", "prefix: lxm", "prefix: lxc",
			`type "management": prefix "lxc" is already used by type "customer"`},
		{"split-keys.yaml", "audiences: [customer-api]", "audience: [customer-api]",
			`type "customer": unknown key "audience" (known keys: name, label, description, prefix, scopes, single_scope, min_scopes, expiry, ip_allowlist, attributes, terms, audiences, members, rate_limit)`},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.new, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "examples", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			src := string(data)
			if strings.Count(src, tt.old) != 1 {
				t.Fatalf("%q occurs %d times in %s", tt.old, strings.Count(src, tt.old), tt.file)
			}
			at := strings.Index(src, tt.old)
			line := strings.Count(src[:at], "\n") + 1
			broken := strings.Replace(src, tt.old, tt.new, 1)

			path := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = LoadPolicy(path)
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want *PolicyError", err)
			}
			if want := fmt.Sprintf("%s:%d: %s", path, line, tt.wantMsg); err.Error() != want {
				t.Errorf("error = %s\nwant    %s", err, want)
			}
			// The name given to ParsePolicy is what the message shows.
			_, err = ParsePolicy("examples/"+tt.file, []byte(broken))
			if want := fmt.Sprintf("examples/%s:%d: %s", tt.file, line, tt.wantMsg); err == nil || err.Error() != want {
				t.Errorf("error = %v\nwant    %s", err, want)
			}
		})
	}
}
