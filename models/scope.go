package models

import (
	"fmt"
	"slices"
	"strings"
)

// A scope names something a token may do ("read", "notes:create"). Two rules make
// scopes go further than exact names:
//
//   - Wildcards: "*" grants every scope, and "notes:*" every scope that starts with
//     "notes:", including ones an API adds after the token was issued.
//   - Implications: a scope may imply others ("admin" implies "read" and "write"),
//     which is how a role is modelled: "FULL" is a scope that implies "*".

// MaxScopeNameLength bounds a scope name so that names stay readable in forms and
// a request cannot smuggle in an arbitrarily long string.
const MaxScopeNameLength = 64

// ScopeMatches reports whether holding pattern grants scope, by the wildcard rule
// alone (no implications): "*" matches any scope, "p:*" matches any scope that
// starts with "p:", and anything else matches only itself. A wildcard also matches
// a narrower wildcard ("*" matches "notes:*", "notes:*" matches "notes:sub:*"),
// so asking whether one grant covers another gives the natural answer. Empty
// strings match nothing.
func ScopeMatches(pattern, scope string) bool {
	if pattern == "" || scope == "" {
		return false
	}
	if pattern == scope || pattern == "*" {
		return true
	}
	if strings.HasSuffix(pattern, ":*") {
		prefix := pattern[:len(pattern)-1]
		return len(scope) > len(prefix) && strings.HasPrefix(scope, prefix)
	}
	return false
}

// ValidScopeName reports whether s can name a scope: 1 to 64 characters, segments
// of letters, digits, '_', '-' and '.' separated by ':', where the last segment
// (or the whole name) may be the wildcard '*'. Empty segments are refused because
// "notes::create" or "notes:" is always a typo.
func ValidScopeName(s string) bool {
	if s == "" || len(s) > MaxScopeNameLength {
		return false
	}
	if s == "*" {
		return true
	}
	segStart := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ':' {
			c := s[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
			case c == '*' && i == len(s)-1 && i == segStart && i > 0:
			default:
				return false
			}
			continue
		}
		if i == segStart {
			return false
		}
		segStart = i + 1
	}
	return true
}

// ScopeDef declares one scope in a policy: its name, the description shown next to
// it in the token form, and the scopes it implies.
type ScopeDef struct {
	Name        string
	Description string
	Implies     []string
}

// ScopeCatalog holds a policy's declared scopes and their implications, with each
// scope's implications already followed to the end so that checking a request
// does not walk the graph. A nil catalog knows no scopes and applies the wildcard
// rule only.
type ScopeCatalog struct {
	defs      map[string]ScopeDef
	closure   map[string][]string // every scope reachable through implications, sorted, self excluded
	wildcards []string            // declared names that are wildcards, for Known
}

// NewScopeCatalog builds a catalog from declarations. Implications are followed
// transitively; cycles are allowed (two scopes that imply each other are simply
// equivalent) and do not loop.
//
// It returns an error if a name is invalid or declared twice, or if an
// implication names a scope that is neither declared nor covered by a declared
// wildcard. Policy files are checked with line numbers before this is called, so
// these errors matter mostly to code that builds catalogs by hand.
func NewScopeCatalog(defs []ScopeDef) (*ScopeCatalog, error) {
	c := &ScopeCatalog{defs: make(map[string]ScopeDef, len(defs)), closure: make(map[string][]string, len(defs))}
	for _, d := range defs {
		if !ValidScopeName(d.Name) {
			return nil, fmt.Errorf("scope %q: not a valid scope name", d.Name)
		}
		if _, dup := c.defs[d.Name]; dup {
			return nil, fmt.Errorf("scope %q is declared twice", d.Name)
		}
		d.Implies = slices.Clone(d.Implies)
		c.defs[d.Name] = d
		if strings.HasSuffix(d.Name, "*") {
			c.wildcards = append(c.wildcards, d.Name)
		}
	}
	for _, d := range defs {
		for _, imp := range d.Implies {
			if !ValidScopeName(imp) {
				return nil, fmt.Errorf("scope %q: implied scope %q is not a valid scope name", d.Name, imp)
			}
			if !c.Known(imp) {
				return nil, fmt.Errorf("scope %q: implied scope %q is not declared", d.Name, imp)
			}
		}
	}
	for _, d := range defs {
		c.closure[d.Name] = c.reach(d.Name)
	}
	return c, nil
}

// reach follows implications from name depth-first; the seen set is what keeps a
// cycle from looping.
func (c *ScopeCatalog) reach(name string) []string {
	seen := map[string]bool{name: true}
	var out []string
	stack := []string{name}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, imp := range c.defs[cur].Implies {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			out = append(out, imp)
			stack = append(stack, imp)
		}
	}
	slices.Sort(out)
	return out
}

// Expand returns the granted scopes together with everything they imply, sorted
// and without duplicates. Implications follow named scopes only: a wildcard
// grants the scopes it matches but not what those scopes imply, so "notes:*" can
// never reach outside "notes:" however the catalog is written.
func (c *ScopeCatalog) Expand(granted []string) []string {
	out := slices.Clone(granted)
	if c != nil {
		for _, g := range granted {
			out = append(out, c.closure[g]...)
		}
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// Allows reports whether a token holding granted may use required, following
// implications and wildcards. It does not allocate, because it runs on every
// verified request. An empty required scope is never allowed; callers that have
// no scope to check should not ask.
func (c *ScopeCatalog) Allows(granted []string, required string) bool {
	for _, g := range granted {
		if ScopeMatches(g, required) {
			return true
		}
		if c == nil {
			continue
		}
		for _, imp := range c.closure[g] {
			if ScopeMatches(imp, required) {
				return true
			}
		}
	}
	return false
}

// Known reports whether scope is declared, or is covered by a declared wildcard
// (with "notes:*" declared, "notes:archive" is known even if nobody declared it).
func (c *ScopeCatalog) Known(scope string) bool {
	if c == nil {
		return false
	}
	if _, ok := c.defs[scope]; ok {
		return true
	}
	for _, w := range c.wildcards {
		if ScopeMatches(w, scope) {
			return true
		}
	}
	return false
}

// Declared reports whether scope is declared by name. Token types may offer only
// declared scopes, because the form shows each one with its description.
func (c *ScopeCatalog) Declared(scope string) bool {
	if c == nil {
		return false
	}
	_, ok := c.defs[scope]
	return ok
}

// Def returns the declaration of scope, for its description.
func (c *ScopeCatalog) Def(scope string) (ScopeDef, bool) {
	if c == nil {
		return ScopeDef{}, false
	}
	d, ok := c.defs[scope]
	return d, ok
}
