package models

import (
	"slices"
	"strings"
	"testing"
)

func TestScopeMatches(t *testing.T) {
	tests := []struct {
		pattern, scope string
		want           bool
	}{
		{"read", "read", true},
		{"read", "write", false},
		{"read", "reader", false},
		{"*", "read", true},
		{"*", "notes:create", true},
		{"*", "notes:*", true},
		{"notes:*", "notes:create", true},
		{"notes:*", "notes:archive", true}, // added after the token was issued
		{"notes:*", "notes:sub:thing", true},
		{"notes:*", "notes:*", true},
		{"notes:*", "notes:sub:*", true},
		{"notes:*", "notes", false},
		{"notes:*", "notes:", false},
		{"notes:*", "notesx:create", false},
		{"notes:*", "members:manage", false},
		{"notes:*", "*", false},
		{"notes:create", "notes:*", false},
		{"notes*", "notes:create", false}, // only ":*" is a wildcard
		{"FULL", "full", false},
		{"", "", false},
		{"*", "", false},
		{"", "read", false},
	}
	for _, tt := range tests {
		if got := ScopeMatches(tt.pattern, tt.scope); got != tt.want {
			t.Errorf("ScopeMatches(%q, %q) = %v, want %v", tt.pattern, tt.scope, got, tt.want)
		}
	}
}

func TestValidScopeName(t *testing.T) {
	valid := []string{"read", "*", "notes:*", "notes:create", "BLUEPRINTS_FULL", "a.b-c_d", "x:y:z", "x:y:*", "tokens:verify", strings.Repeat("a", 64)}
	invalid := []string{"", "notes*", "*:x", "a:*:b", "**", ":x", "x:", "x::y", "no space", "é", "a/b", "notes:**", strings.Repeat("a", 65)}
	for _, s := range valid {
		if !ValidScopeName(s) {
			t.Errorf("ValidScopeName(%q) = false, want true", s)
		}
	}
	for _, s := range invalid {
		if ValidScopeName(s) {
			t.Errorf("ValidScopeName(%q) = true, want false", s)
		}
	}
}

func testScopeCatalog(t *testing.T) *ScopeCatalog {
	t.Helper()
	c, err := NewScopeCatalog([]ScopeDef{
		{Name: "*"},
		{Name: "read"},
		{Name: "write"},
		{Name: "notes:*"},
		{Name: "notes:create"},
		{Name: "blueprints:*"},
		{Name: "blueprints:read"},
		{Name: "admin", Implies: []string{"read", "write", "notes:*"}},
		{Name: "owner", Implies: []string{"admin"}},
		{Name: "FULL", Implies: []string{"*"}},
		{Name: "BLUEPRINTS_FULL", Implies: []string{"blueprints:*"}},
		{Name: "BLUEPRINTS_READONLY", Implies: []string{"blueprints:read"}},
		{Name: "ping", Implies: []string{"pong"}},
		{Name: "pong", Implies: []string{"ping", "read"}},
		{Name: "self", Implies: []string{"self"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestScopeCatalogExpand(t *testing.T) {
	c := testScopeCatalog(t)
	tests := []struct {
		granted, want []string
	}{
		{nil, nil},
		{[]string{"read"}, []string{"read"}},
		{[]string{"admin"}, []string{"admin", "notes:*", "read", "write"}},
		{[]string{"owner"}, []string{"admin", "notes:*", "owner", "read", "write"}},
		{[]string{"write", "admin", "write"}, []string{"admin", "notes:*", "read", "write"}},
		{[]string{"FULL"}, []string{"*", "FULL"}},
		{[]string{"ping"}, []string{"ping", "pong", "read"}},
		{[]string{"pong"}, []string{"ping", "pong", "read"}},
		{[]string{"self"}, []string{"self"}},
		{[]string{"undeclared", ""}, []string{"undeclared"}},
	}
	for _, tt := range tests {
		if got := c.Expand(tt.granted); !slices.Equal(got, tt.want) {
			t.Errorf("Expand(%q) = %q, want %q", tt.granted, got, tt.want)
		}
	}
	var nilCatalog *ScopeCatalog
	if got := nilCatalog.Expand([]string{"b", "a", "b"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("nil catalog Expand = %q", got)
	}
}

func TestScopeCatalogAllows(t *testing.T) {
	c := testScopeCatalog(t)
	tests := []struct {
		granted  []string
		required string
		want     bool
	}{
		{[]string{"read"}, "read", true},
		{[]string{"read"}, "write", false},
		{[]string{"admin"}, "write", true},
		{[]string{"admin"}, "notes:delete", true},
		{[]string{"owner"}, "notes:anything-new", true},
		{[]string{"admin"}, "members:manage", false},
		{[]string{"notes:*"}, "notes:create", true},
		{[]string{"notes:*"}, "read", false},
		{[]string{"notes:create"}, "notes:update", false},
		{[]string{"FULL"}, "blueprints:write", true},
		{[]string{"FULL"}, "profile:read", true},
		{[]string{"BLUEPRINTS_FULL"}, "blueprints:delete", true},
		{[]string{"BLUEPRINTS_FULL"}, "profile:read", false},
		{[]string{"BLUEPRINTS_READONLY"}, "blueprints:read", true},
		{[]string{"BLUEPRINTS_READONLY"}, "blueprints:write", false},
		{[]string{"ping"}, "read", true},
		{[]string{"self"}, "read", false},
		{[]string{"*"}, "anything", true},
		{nil, "read", false},
		{[]string{"read"}, "", false},
	}
	for _, tt := range tests {
		if got := c.Allows(tt.granted, tt.required); got != tt.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", tt.granted, tt.required, got, tt.want)
		}
	}
	var nilCatalog *ScopeCatalog
	if !nilCatalog.Allows([]string{"notes:*"}, "notes:x") || nilCatalog.Allows([]string{"admin"}, "read") {
		t.Error("a nil catalog must apply wildcards and nothing else")
	}
}

func TestScopeCatalogWildcardDoesNotFollowImplications(t *testing.T) {
	c, err := NewScopeCatalog([]ScopeDef{
		{Name: "secret"},
		{Name: "notes:*"},
		{Name: "notes:admin", Implies: []string{"secret"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Allows([]string{"notes:*"}, "secret") {
		t.Error(`"notes:*" reached "secret" through an implication of a scope it matches`)
	}
	if !c.Allows([]string{"notes:admin"}, "secret") {
		t.Error("a named scope must still imply")
	}
}

func TestScopeCatalogAllowsDoesNotAllocate(t *testing.T) {
	c := testScopeCatalog(t)
	granted := []string{"read", "owner"}
	if n := testing.AllocsPerRun(100, func() { c.Allows(granted, "notes:create") }); n != 0 {
		t.Errorf("Allows allocates %v times", n)
	}
}

func TestScopeCatalogKnown(t *testing.T) {
	c, err := NewScopeCatalog([]ScopeDef{{Name: "read"}, {Name: "notes:*"}, {Name: "notes:create"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{
		"read": true, "notes:create": true, "notes:archive": true, "notes:*": true, "notes:a:*": true,
		"write": false, "notes": false, "*": false, "": false,
	}
	for s, want := range tests {
		if got := c.Known(s); got != want {
			t.Errorf("Known(%q) = %v, want %v", s, got, want)
		}
	}
	if !c.Declared("notes:*") || c.Declared("notes:archive") {
		t.Error("Declared must accept declared names only")
	}
	if d, ok := c.Def("read"); !ok || d.Name != "read" {
		t.Errorf("Def(read) = %v, %v", d, ok)
	}
}

func TestNewScopeCatalogErrors(t *testing.T) {
	tests := []struct {
		name string
		defs []ScopeDef
		want string
	}{
		{"bad name", []ScopeDef{{Name: "a b"}}, `"a b": not a valid scope name`},
		{"duplicate", []ScopeDef{{Name: "read"}, {Name: "read"}}, `"read" is declared twice`},
		{"undeclared implication", []ScopeDef{{Name: "admin", Implies: []string{"write"}}}, `implied scope "write" is not declared`},
		{"bad implication", []ScopeDef{{Name: "admin", Implies: []string{"x:"}}}, `implied scope "x:" is not a valid`},
	}
	for _, tt := range tests {
		_, err := NewScopeCatalog(tt.defs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// FuzzScopeMatches checks the wildcard rule's invariants on arbitrary strings:
// no panics, exact names match themselves, non-wildcards match only themselves,
// a namespace wildcard stays inside its namespace, and matching is transitive.
func FuzzScopeMatches(f *testing.F) {
	f.Add("notes:*", "notes:create", "notes:create")
	f.Add("*", "notes:*", "notes:a")
	f.Add("notes:*", "notes:sub:*", "notes:sub:x")
	f.Add("read", "read", "write")
	f.Add("", "*", "")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab := ScopeMatches(a, b)
		if a != "" && !ScopeMatches(a, a) {
			t.Fatalf("%q does not match itself", a)
		}
		if ab && (a == "" || b == "") {
			t.Fatalf("empty string matched: %q %q", a, b)
		}
		if ab && a != b && a != "*" && !strings.HasSuffix(a, ":*") {
			t.Fatalf("non-wildcard %q matched %q", a, b)
		}
		if ab && strings.HasSuffix(a, ":*") && !strings.HasPrefix(b, a[:len(a)-1]) {
			t.Fatalf("%q matched %q outside its namespace", a, b)
		}
		if ab && ScopeMatches(b, c) && !ScopeMatches(a, c) {
			t.Fatalf("not transitive: %q ⊇ %q ⊇ %q", a, b, c)
		}
		if ValidScopeName(a) && len(a) > MaxScopeNameLength {
			t.Fatalf("ValidScopeName accepted %d characters", len(a))
		}
	})
}
