package models

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	if p.Source != "built-in" {
		t.Errorf("Source = %q", p.Source)
	}
	personal, ok := p.Type("personal")
	if !ok {
		t.Fatal("no personal type")
	}
	wantScopes := []string{"read", "write", "admin", "notes:create", "notes:update", "notes:delete", "notes:*", "workspaces:manage", "members:manage", "analytics:view"}
	if personal.Prefix != "pat" || !slices.Equal(personal.Scopes, wantScopes) {
		t.Errorf("personal = prefix %q scopes %q", personal.Prefix, personal.Scopes)
	}
	if personal.Expiry != (ExpiryRule{Default: 7 * Day, Min: Day, Max: 30 * Day}) || !personal.Members {
		t.Errorf("personal expiry %+v members %v", personal.Expiry, personal.Members)
	}
	if p.Limits.UserActiveTokens != 10 {
		t.Errorf("user cap = %d, want 10", p.Limits.UserActiveTokens)
	}
	service, ok := p.TypeByPrefix("svc")
	if !ok || service.Name != "service" {
		t.Fatal("no service type with prefix svc")
	}
	if !slices.Equal(service.Scopes, []string{"tokens:verify", "tokens:manage"}) || service.Members {
		t.Errorf("service scopes %q members %v", service.Scopes, service.Members)
	}
	if service.Expiry != (ExpiryRule{Default: 90 * Day, Min: Day, Max: Year, Never: true}) {
		t.Errorf("service expiry %+v", service.Expiry)
	}
	if !service.AcceptsAudience(KeywardAudience) || service.AcceptsAudience("api") {
		t.Error("service tokens are for Keyward's API only")
	}
	// No personal token, however privileged, may call Keyward's own API.
	if p.Scopes.Allows([]string{"admin"}, "tokens:verify") || p.Scopes.Allows([]string{"admin"}, "tokens:manage") {
		t.Error("admin must not imply the service scopes")
	}
}

func TestDefaultPolicyIsFreshEachTime(t *testing.T) {
	a, b := DefaultPolicy(), DefaultPolicy()
	a.Types[0].Scopes[0] = "changed"
	a.Limits.UserActiveTokens = 99
	if b.Types[0].Scopes[0] == "changed" || b.Limits.UserActiveTokens == 99 {
		t.Error("DefaultPolicy shares state between calls")
	}
}

func TestDefaultPolicyPanicsOnlyWhenBroken(t *testing.T) {
	defer func(saved []byte) { defaultPolicyYAML = saved }(defaultPolicyYAML)
	defaultPolicyYAML = []byte("types: oops")
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "policy_default.yaml:1: types: at least one token type") {
			t.Errorf("recover() = %v", r)
		}
	}()
	DefaultPolicy()
}

func TestLoadPolicy(t *testing.T) {
	p, err := LoadPolicy("")
	if err != nil || p.Source != "built-in" {
		t.Fatalf("LoadPolicy(\"\") = %v, %v", p, err)
	}
	if _, err := LoadPolicy(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v", err)
	}
	path := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(path, []byte("types:\n  - name: x\n    prefix: X\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadPolicy(path)
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.File != path || pe.Line != 3 {
		t.Fatalf("LoadPolicy(broken) error = %#v", err)
	}
	if want := path + `:3: type "x": prefix "X" must be 2 to 8 lowercase letters`; err.Error() != want {
		t.Errorf("error = %s, want %s", err, want)
	}
}

const minimalType = `
types:
  - name: t
    prefix: tt
    expiry: {never: true}
`

func TestParsePolicyDefaults(t *testing.T) {
	p, err := ParsePolicy("min.yaml", []byte(minimalType))
	if err != nil {
		t.Fatal(err)
	}
	tt := p.Types[0]
	if tt.Label != "t" || tt.IPRule != IPRuleOptional || tt.MinScopes != 0 || tt.Expiry != (ExpiryRule{Never: true}) {
		t.Errorf("defaults = %+v", tt)
	}
	if p.Plan("anything") != (Plan{}) {
		t.Errorf("no plans should mean no limits, got %+v", p.Plan("anything"))
	}
	if p.MethodScope("GET") != "" || p.Source != "min.yaml" {
		t.Errorf("MethodScope %q Source %q", p.MethodScope("GET"), p.Source)
	}
}

func TestParsePolicyFull(t *testing.T) {
	src := `
default_plan: pro
plans:
  starter: {daily: 100, per_minute: 10}
  pro: {daily: 1000, per_minute: 50}
limits: {workspace_active_tokens: 5, user_active_tokens: 2}
scopes:
  - read
  - {name: write}
  - {name: admin, description: Admin, implies: [read, write]}
method_scopes: {get: read, POST: write}
types:
  - name: a
    label: A token
    description: For A
    prefix: aa
    scopes: [read, write, admin]
    single_scope: false
    min_scopes: 2
    expiry: {default: 1w, min: 12h, max: 1y, never: false}
    ip_allowlist: required
    attributes: true
    terms: "Agree"
    audiences: [x-api, y]
    members: true
    rate_limit: {daily: 5, per_minute: 0}
`
	p, err := ParsePolicy("full.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := TokenType{
		Name: "a", Label: "A token", Description: "For A", Prefix: "aa",
		Scopes: []string{"read", "write", "admin"}, MinScopes: 2,
		Expiry: ExpiryRule{Default: Week, Min: 12 * time.Hour, Max: Year},
		IPRule: IPRuleRequired, Attributes: true, Terms: "Agree", Audiences: []string{"x-api", "y"},
		Members: true, RateLimit: Plan{Daily: 5},
	}
	got := p.Types[0]
	if got.Name != want.Name || got.Label != want.Label || got.Description != want.Description || got.Prefix != want.Prefix ||
		!slices.Equal(got.Scopes, want.Scopes) || got.MinScopes != want.MinScopes || got.Expiry != want.Expiry ||
		got.IPRule != want.IPRule || got.Attributes != want.Attributes || got.Terms != want.Terms ||
		!slices.Equal(got.Audiences, want.Audiences) || got.Members != want.Members || got.RateLimit != want.RateLimit {
		t.Errorf("type = %+v\nwant   %+v", got, want)
	}
	if p.DefaultPlan != "pro" || p.Plan("starter") != (Plan{Name: "starter", Daily: 100, PerMinute: 10}) {
		t.Errorf("plans = %+v default %q", p.Plans, p.DefaultPlan)
	}
	if p.Plan("gone") != p.Plans["pro"] || p.Plan("") != p.Plans["pro"] {
		t.Error("unknown plans must fall back to the default plan")
	}
	if !slices.Equal(p.PlanNames(), []string{"starter", "pro"}) {
		t.Errorf("PlanNames = %q", p.PlanNames())
	}
	if got := p.RateLimit("starter", &p.Types[0]); got != (Plan{Name: "starter", Daily: 5, PerMinute: 10}) {
		t.Errorf("RateLimit = %+v", got)
	}
	if got := p.RateLimit("pro", nil); got != p.Plans["pro"] {
		t.Errorf("RateLimit without type = %+v", got)
	}
	if p.Limits != (Limits{WorkspaceActiveTokens: 5, UserActiveTokens: 2}) {
		t.Errorf("limits = %+v", p.Limits)
	}
	if p.MethodScope("get") != "read" || p.MethodScope("POST") != "write" || p.MethodScope("DELETE") != "" {
		t.Errorf("method scopes = %v", p.MethodScopes)
	}
	if got := p.Scopes.Expand([]string{"admin"}); !slices.Equal(got, []string{"admin", "read", "write"}) {
		t.Errorf("Expand(admin) = %q", got)
	}
	if len(p.ScopeList) != 3 || p.ScopeList[2].Description != "Admin" {
		t.Errorf("ScopeList = %+v", p.ScopeList)
	}
}

func TestPolicyTypesForRole(t *testing.T) {
	p := DefaultPolicy()
	names := func(ts []*TokenType) []string {
		var out []string
		for _, tt := range ts {
			out = append(out, tt.Name)
		}
		return out
	}
	tests := []struct {
		role string
		want []string
	}{
		{"admin", []string{"personal", "service"}},
		{"manager", []string{"personal", "service"}},
		{"member", []string{"personal"}},
		{"", nil},
		{"owner", nil},
	}
	for _, tt := range tests {
		if got := names(p.TypesForRole(tt.role)); !slices.Equal(got, tt.want) {
			t.Errorf("TypesForRole(%q) = %q, want %q", tt.role, got, tt.want)
		}
	}
	// The pointers let callers read the policy's own types, not copies.
	if ts := p.TypesForRole("member"); ts[0] != &p.Types[0] {
		t.Error("TypesForRole must point into Types")
	}
}

func TestTokenTypeAllowsScope(t *testing.T) {
	tt := &TokenType{Scopes: []string{"read", "notes:*"}}
	tests := map[string]bool{
		"read": true, "notes:create": true, "notes:archive": true, "notes:*": true,
		"write": false, "notes": false, "*": false, "": false,
	}
	for s, want := range tests {
		if got := tt.AllowsScope(s); got != want {
			t.Errorf("AllowsScope(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestTokenTypeAcceptsAudience(t *testing.T) {
	any := &TokenType{}
	one := &TokenType{Audiences: []string{"customer-api"}}
	tests := []struct {
		tt   *TokenType
		aud  string
		want bool
	}{
		{any, "", true},
		{any, "management-api", true},
		{one, "", true},
		{one, "customer-api", true},
		{one, "management-api", false},
		{one, "Customer-API", false},
	}
	for _, tc := range tests {
		if got := tc.tt.AcceptsAudience(tc.aud); got != tc.want {
			t.Errorf("%v.AcceptsAudience(%q) = %v, want %v", tc.tt.Audiences, tc.aud, got, tc.want)
		}
	}
}

func TestTokenTypeValidateExpiry(t *testing.T) {
	bounded := &TokenType{Expiry: ExpiryRule{Default: 7 * Day, Min: Day, Max: 30 * Day}}
	roles := &TokenType{Expiry: ExpiryRule{Default: 30 * Day, Min: Week, Max: Year}}
	open := &TokenType{Expiry: ExpiryRule{Never: true}}
	maxOnly := &TokenType{Expiry: ExpiryRule{Default: Day, Max: 90 * Day}}
	minOnly := &TokenType{Expiry: ExpiryRule{Default: Week, Min: Week}}
	tests := []struct {
		name  string
		tt    *TokenType
		d     time.Duration
		never bool
		want  string
	}{
		{"within", bounded, 7 * Day, false, ""},
		{"at min", bounded, Day, false, ""},
		{"at max", bounded, 30 * Day, false, ""},
		{"below min", bounded, 23 * time.Hour, false, "expiry must be between 1 day and 30 days"},
		{"above max", bounded, 31 * Day, false, "expiry must be between 1 day and 30 days"},
		{"never refused", bounded, 0, true, "tokens of this type must expire; expiry must be between 1 day and 30 days"},
		{"zero", bounded, 0, false, "expiry must be between 1 day and 30 days"},
		{"weeks", roles, 6 * Day, false, "expiry must be between 1 week and 1 year"},
		{"past", open, -time.Hour, false, "expiry must be in the future"},
		{"never allowed", open, 0, true, ""},
		{"open ended", open, 100 * Year, false, ""},
		{"max only", maxOnly, 91 * Day, false, "expiry must be at most 90 days"},
		{"min only", minOnly, Day, false, "expiry must be at least 1 week"},
		{"never refused without bounds", &TokenType{Expiry: ExpiryRule{Default: Day}}, 0, true, "tokens of this type must expire"},
	}
	for _, tc := range tests {
		err := tc.tt.ValidateExpiry(tc.d, tc.never)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: ValidateExpiry(%v, %v) = %q, want %q", tc.name, tc.d, tc.never, got, tc.want)
		}
	}
}

func TestTokenTypeExpiryBounds(t *testing.T) {
	now := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	tt := &TokenType{Expiry: ExpiryRule{Min: Day, Max: 30 * Day}}
	earliest, latest := tt.ExpiryBounds(now)
	if !earliest.Equal(now.Add(Day)) || !latest.Equal(now.Add(30*Day)) {
		t.Errorf("ExpiryBounds = %v, %v", earliest, latest)
	}
	earliest, latest = (&TokenType{Expiry: ExpiryRule{Never: true}}).ExpiryBounds(now)
	if !earliest.Equal(now) || !latest.IsZero() {
		t.Errorf("unbounded ExpiryBounds = %v, %v", earliest, latest)
	}
}

// TestParsePolicyErrors proves that each kind of mistake is reported with the
// file, the line at fault and what is wrong.
func TestParsePolicyErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", "p.yaml: the policy is empty"},
		{"comments only", "# nothing\n", "p.yaml: the policy is empty"},
		{"null document", "---\n", "p.yaml: the policy is empty"},
		{"bad YAML", "types:\n  - name: [\n", "p.yaml:2: invalid YAML: did not find expected node content"},
		{"tab indentation", "types:\n\t- name: x\n", "p.yaml:2: invalid YAML: found character that cannot start any token"},
		{"two documents", minimalType + "---\ntypes: []\n", "p.yaml:6: a policy is one YAML document; remove the second \"---\""},
		{"not a mapping", "- a\n- b\n", "p.yaml:1: expected a mapping of keys to values"},
		{"unknown top-level key", "typez: []\n" + minimalType, `p.yaml:1: unknown key "typez" (known keys: default_plan, plans, limits, scopes, method_scopes, types)`},
		{"duplicate top-level key", minimalType + "types: []\n", `p.yaml:6: key "types" appears twice (first on line 2)`},
		{"no types", "limits: {user_active_tokens: 1}\n", "p.yaml:1: types: at least one token type is required"},
		{"empty types", "types: []\n", "p.yaml:1: types: at least one token type is required, as a list"},
		{"unknown type key", "types:\n  - name: t\n    prefix: tt\n    prefx: tt\n    expiry: {never: true}\n",
			`p.yaml:4: type "t": unknown key "prefx" (known keys: name, label, description, prefix, scopes, single_scope, min_scopes, expiry, ip_allowlist, attributes, terms, audiences, members, rate_limit)`},
		{"missing name", "types:\n  - prefix: tt\n    expiry: {never: true}\n", `p.yaml:2: type #1: name is required`},
		{"bad name", "types:\n  - name: My Type\n    prefix: tt\n    expiry: {never: true}\n", `p.yaml:2: type "My Type": name is not valid (use lowercase letters, digits, '_', '-' and '.', starting with a letter or digit)`},
		{"missing prefix", "types:\n  - name: t\n    expiry: {never: true}\n", `p.yaml:2: type "t": prefix is required`},
		{"bad prefix", "types:\n  - name: t\n    prefix: t1\n    expiry: {never: true}\n", `p.yaml:3: type "t": prefix "t1" must be 2 to 8 lowercase letters`},
		{"long prefix", "types:\n  - name: t\n    prefix: abcdefghi\n    expiry: {never: true}\n", `p.yaml:3: type "t": prefix "abcdefghi" must be 2 to 8 lowercase letters`},
		{"missing expiry", "types:\n  - name: t\n    prefix: tt\n", `p.yaml:2: type "t": expiry is required (write expiry: {never: true} for tokens that need not expire)`},
		{"duplicate type name", minimalType + "  - name: t\n    prefix: uu\n    expiry: {never: true}\n", `p.yaml:6: type "t" is declared twice (first on line 3)`},
		{"duplicate prefix", minimalType + "  - name: u\n    prefix: tt\n    expiry: {never: true}\n", `p.yaml:7: type "u": prefix "tt" is already used by type "t"`},
		{"undeclared type scope", "scopes: [read]\ntypes:\n  - name: t\n    prefix: tt\n    scopes:\n      - read\n      - writ\n    expiry: {never: true}\n", `p.yaml:7: type "t": scope "writ" is not declared in scopes`},
		{"scope matched only by wildcard", "scopes: [\"notes:*\"]\ntypes:\n  - name: t\n    prefix: tt\n    scopes: [\"notes:x\"]\n    expiry: {never: true}\n", `p.yaml:5: type "t": scope "notes:x" is not declared in scopes`},
		{"scope listed twice", "scopes: [read]\ntypes:\n  - name: t\n    prefix: tt\n    scopes: [read, read]\n    expiry: {never: true}\n", `p.yaml:5: type "t": scope "read" is listed twice`},
		{"scopes not a list", "scopes: [read]\ntypes:\n  - name: t\n    prefix: tt\n    scopes: read\n    expiry: {never: true}\n", `p.yaml:5: type "t": scopes must be a list, such as [a, b]`},
		{"invalid scope name", "scopes:\n  - name: \"a b\"\n" + minimalType, `p.yaml:2: scope "a b" is not a valid scope name (letters, digits, '_', '-', '.', segments joined by ':', an optional final ':*', at most 64 characters)`},
		{"scope declared twice", "scopes:\n  - read\n  - {name: read}\n" + minimalType, `p.yaml:3: scope "read" is declared twice (first on line 2)`},
		{"scope without name", "scopes:\n  - {description: x}\n" + minimalType, `p.yaml:2: scopes: every scope needs a name`},
		{"unknown scope key", "scopes:\n  - {name: a, implys: [b]}\n" + minimalType, `p.yaml:2: scopes: unknown key "implys" (known keys: name, description, implies)`},
		{"undeclared implication", "scopes:\n  - name: admin\n    implies:\n      - read\n" + minimalType, `p.yaml:4: scope "admin": implied scope "read" is not declared in scopes`},
		{"implication via wildcard", "scopes:\n  - \"notes:*\"\n  - {name: admin, implies: [\"notes:new\"]}\n" + minimalType, ""},
		{"implication cycle", "scopes:\n  - {name: a, implies: [b]}\n  - {name: b, implies: [a]}\n" + minimalType, ""},
		{"bad duration", "types:\n  - name: t\n    prefix: tt\n    expiry: {default: 7x}\n", `p.yaml:4: type "t": expiry.default: invalid duration "7x": unknown unit "x" (use s, m, h, d, w or y)`},
		{"negative duration", "types:\n  - name: t\n    prefix: tt\n    expiry:\n      default: 1d\n      min: -1d\n", `p.yaml:6: type "t": expiry.min must not be negative`},
		{"min above max", "types:\n  - name: t\n    prefix: tt\n    expiry:\n      default: 1d\n      min: 30d\n      max: 7d\n", `p.yaml:6: type "t": expiry.min (30d) is longer than expiry.max (7d)`},
		{"default above max", "types:\n  - name: t\n    prefix: tt\n    expiry:\n      default: 60d\n      max: 30d\n", `p.yaml:5: type "t": expiry.default (60d) must be at most 30 days`},
		{"default below min", "types:\n  - name: t\n    prefix: tt\n    expiry: {default: 1d, min: 1w, max: 1y}\n", `p.yaml:4: type "t": expiry.default (1d) must be between 1 week and 1 year`},
		{"no default without never", "types:\n  - name: t\n    prefix: tt\n    expiry: {max: 30d}\n", `p.yaml:4: type "t": expiry.default is required unless never: true`},
		{"never not bool", "types:\n  - name: t\n    prefix: tt\n    expiry: {never: yes}\n", `p.yaml:4: type "t": expiry.never must be true or false, not "yes"`},
		{"unknown expiry key", "types:\n  - name: t\n    prefix: tt\n    expiry: {never: true, maximum: 1y}\n", `p.yaml:4: type "t": expiry: unknown key "maximum" (known keys: default, min, max, never)`},
		{"bad ip rule", "types:\n  - name: t\n    prefix: tt\n    expiry: {never: true}\n    ip_allowlist: mandatory\n", `p.yaml:5: type "t": ip_allowlist must be optional, required or none, not "mandatory"`},
		{"bad audience", "types:\n  - name: t\n    prefix: tt\n    expiry: {never: true}\n    audiences: [\"Customer API\"]\n", `p.yaml:5: type "t": audience "Customer API" is not a valid name (use lowercase letters, digits, '_', '-' and '.', starting with a letter or digit)`},
		{"min_scopes above offer", "scopes: [a]\ntypes:\n  - name: t\n    prefix: tt\n    scopes: [a]\n    min_scopes: 2\n    expiry: {never: true}\n", `p.yaml:6: type "t": min_scopes is 2 but the type offers 1 scope(s)`},
		{"single_scope without scopes", "types:\n  - name: t\n    prefix: tt\n    single_scope: true\n    expiry: {never: true}\n", `p.yaml:2: type "t": single_scope needs at least one scope to choose from`},
		{"min_scopes not a number", "types:\n  - name: t\n    prefix: tt\n    min_scopes: one\n    expiry: {never: true}\n", `p.yaml:4: type "t": min_scopes must be a whole number, not "one"`},
		{"negative limit", "limits:\n  user_active_tokens: -1\n" + minimalType, `p.yaml:2: limits: user_active_tokens must not be negative (use 0 for no limit)`},
		{"unknown limit", "limits:\n  tokens_per_user: 1\n" + minimalType, `p.yaml:2: limits: unknown key "tokens_per_user" (known keys: workspace_active_tokens, user_active_tokens)`},
		{"negative rate", "types:\n  - name: t\n    prefix: tt\n    expiry: {never: true}\n    rate_limit: {daily: -5}\n", `p.yaml:5: type "t": rate_limit.daily must not be negative (use 0 for no limit)`},
		{"unknown default plan", "default_plan: gold\nplans:\n  starter: {daily: 1}\n" + minimalType, `p.yaml:1: default_plan "gold" is not declared in plans`},
		{"default plan without plans", "default_plan: gold\n" + minimalType, `p.yaml:1: default_plan "gold" is not declared in plans`},
		{"plans without default", "plans:\n  starter: {daily: 1}\n" + minimalType, `p.yaml:1: default_plan is required when plans are declared`},
		{"negative plan", "default_plan: s\nplans:\n  s: {daily: 10, per_minute: -1}\n" + minimalType, `p.yaml:3: plan "s": per_minute must not be negative (use 0 for no limit)`},
		{"plan not a number", "default_plan: s\nplans:\n  s: {daily: lots}\n" + minimalType, `p.yaml:3: plan "s": daily must be a whole number, not "lots"`},
		{"bad plan name", "default_plan: s\nplans:\n  S P: {daily: 1}\n" + minimalType, `p.yaml:3: plans: "S P" is not a valid plan name (use lowercase letters, digits, '_', '-' and '.', starting with a letter or digit)`},
		{"bad method", "scopes: [read]\nmethod_scopes: {FETCH: read}\n" + minimalType, `p.yaml:2: method_scopes: "FETCH" is not an HTTP method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)`},
		{"undeclared method scope", "scopes: [read]\nmethod_scopes:\n  GET: reed\n" + minimalType, `p.yaml:3: method_scopes: GET: scope "reed" is not declared in scopes`},
		{"wildcard method scope", "scopes: [\"notes:*\"]\nmethod_scopes:\n  GET: \"notes:*\"\n" + minimalType, `p.yaml:3: method_scopes: GET: a required scope cannot be a wildcard ("notes:*")`},
		{"method twice", "scopes: [read]\nmethod_scopes:\n  GET: read\n  get: read\n" + minimalType, `p.yaml:4: method_scopes: GET appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy("p.yaml", []byte(tt.src))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v (%T), want *PolicyError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %s\nwant    %s", err, tt.want)
			}
		})
	}
}

func TestParsePolicyAliases(t *testing.T) {
	src := `
scopes: [read]
types:
  - name: a
    prefix: aa
    scopes: &s [read]
    expiry: &e {default: 7d, max: 30d}
  - name: b
    prefix: bb
    scopes: *s
    expiry: *e
`
	p, err := ParsePolicy("alias.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Types[1].Expiry != p.Types[0].Expiry || !slices.Equal(p.Types[1].Scopes, []string{"read"}) {
		t.Errorf("aliases not followed: %+v", p.Types[1])
	}
}

// FuzzParsePolicy checks that no input makes the parser panic and that every
// refusal is a *PolicyError, so the server always starts with a readable message.
func FuzzParsePolicy(f *testing.F) {
	f.Add(string(defaultPolicyYAML))
	f.Add(minimalType)
	f.Add("scopes:\n  - {name: a, implies: [b]}\n  - {name: b, implies: [a]}\n" + minimalType)
	f.Add("types: &t [*t]\n")
	f.Add("default_plan: s\nplans: {s: {daily: 1}}\nmethod_scopes: {GET: x}\n")
	f.Fuzz(func(t *testing.T, src string) {
		p, err := ParsePolicy("f.yaml", []byte(src))
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.File != "f.yaml" {
				t.Fatalf("error %v (%T) is not a *PolicyError for f.yaml", err, err)
			}
			return
		}
		if len(p.Types) == 0 || p.Scopes == nil {
			t.Fatalf("accepted a policy without types or catalog: %+v", p)
		}
		for i := range p.Types {
			tt := &p.Types[i]
			if !ValidTokenPrefix(tt.Prefix) {
				t.Fatalf("accepted prefix %q", tt.Prefix)
			}
			if got, ok := p.TypeByPrefix(tt.Prefix); !ok || got != tt {
				t.Fatalf("prefix %q is ambiguous", tt.Prefix)
			}
			if tt.Expiry.Default > 0 && tt.ValidateExpiry(tt.Expiry.Default, false) != nil {
				t.Fatalf("type %q refuses its own default", tt.Name)
			}
		}
	})
}
