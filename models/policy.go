package models

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A policy file is the operator's description of their API's tokens: which token
// types exist, which scopes they may carry, how long they live, and the plans that
// rate-limit them. Everything pattern-specific lives there rather than in code, so
// the same Keyward serves very different APIs. policy_default.yaml documents the
// format.

//go:embed policy_default.yaml
var defaultPolicyYAML []byte

// The values a token type's ip_allowlist may take.
const (
	// IPRuleOptional lets the creator restrict a token to IP ranges or not.
	IPRuleOptional = "optional"
	// IPRuleRequired makes at least one IP address or range mandatory.
	IPRuleRequired = "required"
	// IPRuleNone means tokens of the type never carry an allowlist.
	IPRuleNone = "none"
)

// KeywardAudience is the audience of Keyward's own API (verify and management).
// The built-in service type accepts only it, so that a service token presented
// to an application's API is refused as the wrong key type.
const KeywardAudience = "keyward"

// Policy is a parsed and validated policy file. It is read-only once built and
// safe to share between goroutines.
type Policy struct {
	// DefaultPlan is the plan of workspaces whose plan is unknown or unset.
	DefaultPlan string
	// Plans maps plan name to its rate limits.
	Plans map[string]Plan
	// Limits caps how many active tokens may exist.
	Limits Limits
	// Scopes is the catalog of declared scopes with their implications.
	Scopes *ScopeCatalog
	// ScopeList holds the declared scopes in file order, for forms and docs.
	ScopeList []ScopeDef
	// MethodScopes maps an upper-case HTTP method to the scope a request needs
	// when the route itself names none.
	MethodScopes map[string]string
	// Types holds the token types in file order, the order forms offer them.
	Types []TokenType
	// Source says where the policy came from: a file path or "built-in".
	Source string

	planOrder []string
}

// Plan is a set of rate limits. Zero means no limit.
type Plan struct {
	Name      string
	Daily     int
	PerMinute int
}

// Limits caps the number of active (not revoked, not expired) tokens. Zero means
// no cap.
type Limits struct {
	WorkspaceActiveTokens int
	UserActiveTokens      int
}

// TokenType describes one kind of token: what its plaintext looks like, what it
// may be granted, and what its creator must supply.
type TokenType struct {
	// Name identifies the type in URLs, the CLI and the API.
	Name string
	// Label is the name people see in the dashboard.
	Label       string
	Description string
	// Prefix starts every token of the type, which is how a presented token's
	// type is known before any database lookup.
	Prefix string
	// Scopes are the scopes the form offers; a wildcard among them also lets a
	// token hold any scope it matches.
	Scopes []string
	// SingleScope makes every token hold exactly one scope, for role tokens.
	SingleScope bool
	// MinScopes is the fewest scopes a token may hold; 0 allows a token with
	// none, whose only permission is being accepted by its audiences.
	MinScopes int
	Expiry    ExpiryRule
	// IPRule is IPRuleOptional, IPRuleRequired or IPRuleNone.
	IPRule string
	// Attributes means tokens carry exposed attributes and a linking attribute.
	Attributes bool
	// Terms, when set, must be agreed to before a token is created.
	Terms string
	// Audiences are the APIs that accept this type; empty means any.
	Audiences []string
	// Members lets workspace members create tokens of this type for themselves.
	Members bool
	// RateLimit overrides the plan's limits field by field where non-zero.
	RateLimit Plan
}

// ExpiryRule bounds a token type's lifetime. Zero Min or Max means no bound;
// zero Default means "never expires" and is allowed only with Never.
type ExpiryRule struct {
	Default time.Duration
	Min     time.Duration
	Max     time.Duration
	Never   bool
}

// PolicyError reports a problem in a policy file at the line that causes it, in
// the form editors and CI logs link to: `examples/roles.yaml:14: type "role":
// scope "BLUEPRINTS_ALL" is not declared in scopes`.
type PolicyError struct {
	File string
	Line int // 0 when the problem has no single line
	Msg  string
}

// Error returns "file:line: message".
func (e *PolicyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// DefaultPolicy returns the built-in policy: personal access tokens and service
// tokens for resource servers. Each call returns a fresh copy. It panics only if
// the embedded file is broken, which the tests rule out.
func DefaultPolicy() *Policy {
	p, err := ParsePolicy("policy_default.yaml", defaultPolicyYAML)
	if err != nil {
		panic(fmt.Sprintf("models: built-in policy is broken: %v", err))
	}
	p.Source = "built-in"
	return p
}

// LoadPolicy reads and validates the policy file at path; an empty path means the
// built-in default. It returns an error if the file cannot be read, or a
// *PolicyError naming the line at fault.
func LoadPolicy(path string) (*Policy, error) {
	if path == "" {
		return DefaultPolicy(), nil
	}
	data, err := os.ReadFile(path) // #nosec G304 -- the operator names this file in KEYWARD_POLICY; reading it is the point
	if err != nil {
		return nil, fmt.Errorf("policy: unable to read %s: %w", path, err)
	}
	return ParsePolicy(path, data)
}

// ParsePolicy parses and validates a policy; name is used in error messages and
// as the policy's Source. It returns a *PolicyError for the first problem found:
// bad YAML, an unknown key, a duplicate type name or prefix, a scope or plan that
// is not declared, a bad duration or bound, a bad ip_allowlist value, a negative
// limit.
func ParsePolicy(name string, data []byte) (*Policy, error) {
	pp := &policyParser{file: name}
	p, err := pp.parse(data)
	if err != nil {
		return nil, err
	}
	p.Source = name
	return p, nil
}

// Type returns the token type called name.
func (p *Policy) Type(name string) (*TokenType, bool) {
	for i := range p.Types {
		if p.Types[i].Name == name {
			return &p.Types[i], true
		}
	}
	return nil, false
}

// TypeByPrefix returns the token type whose tokens start with prefix.
func (p *Policy) TypeByPrefix(prefix string) (*TokenType, bool) {
	for i := range p.Types {
		if p.Types[i].Prefix == prefix {
			return &p.Types[i], true
		}
	}
	return nil, false
}

// Plan returns the named plan, or the default plan when name is unknown or empty
// (a workspace whose plan was removed from the policy keeps working). With no
// plans declared it returns an unlimited Plan.
func (p *Policy) Plan(name string) Plan {
	if pl, ok := p.Plans[name]; ok {
		return pl
	}
	return p.Plans[p.DefaultPlan]
}

// PlanNames returns the plan names in file order, for the plan picker.
func (p *Policy) PlanNames() []string {
	return slices.Clone(p.planOrder)
}

// RateLimit returns the limits for a token of type t in a workspace on plan:
// the type's non-zero limits win over the plan's.
func (p *Policy) RateLimit(plan string, t *TokenType) Plan {
	l := p.Plan(plan)
	if t != nil {
		if t.RateLimit.Daily > 0 {
			l.Daily = t.RateLimit.Daily
		}
		if t.RateLimit.PerMinute > 0 {
			l.PerMinute = t.RateLimit.PerMinute
		}
	}
	return l
}

// MethodScope returns the scope a request with this HTTP method needs when its
// route names none, or "" when the policy sets none.
func (p *Policy) MethodScope(method string) string {
	return p.MethodScopes[strings.ToUpper(method)]
}

// TypesForRole returns the token types a workspace role may create: admins and
// managers may create every type, members only the types marked members: true,
// and unknown roles none.
func (p *Policy) TypesForRole(role string) []*TokenType {
	var out []*TokenType
	for i := range p.Types {
		switch {
		case role == "admin", role == "manager":
		case role == "member" && p.Types[i].Members:
		default:
			continue
		}
		out = append(out, &p.Types[i])
	}
	return out
}

// AllowsScope reports whether a token of this type may hold scope s: s is one of
// the type's scopes or is matched by a wildcard among them.
func (t *TokenType) AllowsScope(s string) bool {
	for _, ts := range t.Scopes {
		if ScopeMatches(ts, s) {
			return true
		}
	}
	return false
}

// AcceptsAudience reports whether an API identifying itself as a accepts tokens of
// this type. An API that names no audience, or a type that lists none, accepts.
func (t *TokenType) AcceptsAudience(a string) bool {
	return a == "" || len(t.Audiences) == 0 || slices.Contains(t.Audiences, a)
}

// ExpiryBounds returns the earliest and latest expiry a token created at now may
// have, for a date picker's min and max. latest is zero when there is no maximum.
func (t *TokenType) ExpiryBounds(now time.Time) (earliest, latest time.Time) {
	earliest = now.Add(t.Expiry.Min)
	if t.Expiry.Max > 0 {
		latest = now.Add(t.Expiry.Max)
	}
	return earliest, latest
}

// ValidateExpiry checks a requested lifetime d, or "never expires" when never is
// true, against the type's rule. Its error reads as a sentence beside the form
// field, such as "expiry must be between 1 day and 30 days".
func (t *TokenType) ValidateExpiry(d time.Duration, never bool) error {
	r := t.Expiry
	if never {
		if r.Never {
			return nil
		}
		if b := r.Describe(); b != "" {
			return fmt.Errorf("tokens of this type must expire; expiry must be %s", b)
		}
		return errors.New("tokens of this type must expire")
	}
	if d <= 0 && r.Min <= 0 {
		return errors.New("expiry must be in the future")
	}
	if d < r.Min || (r.Max > 0 && d > r.Max) {
		return fmt.Errorf("expiry must be %s", r.Describe())
	}
	return nil
}

// Describe phrases the rule's bounds for messages and hints: "between 1 day and
// 30 days", "at least 1 week", "at most 1 year", or "" when there are none.
func (r ExpiryRule) Describe() string {
	switch {
	case r.Min > 0 && r.Max > 0:
		return "between " + HumanDuration(r.Min) + " and " + HumanDuration(r.Max)
	case r.Min > 0:
		return "at least " + HumanDuration(r.Min)
	case r.Max > 0:
		return "at most " + HumanDuration(r.Max)
	}
	return ""
}

// policyParser walks the YAML node tree by hand rather than decoding into
// structs: that is what lets every error carry the line of the value at fault and
// say which type or scope it belongs to.
type policyParser struct {
	file string
}

func (pp *policyParser) fail(n *yaml.Node, format string, args ...any) error {
	e := &PolicyError{File: pp.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line = n.Line
	}
	return e
}

// yamlError turns a syntax error from the YAML library ("yaml: line 3: …") into a
// PolicyError with the same line.
func (pp *policyParser) yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return &PolicyError{File: pp.file, Line: line, Msg: "invalid YAML: " + msg}
}

func yamlDeref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func withContext(ctx, msg string) string {
	if ctx == "" {
		return msg
	}
	return ctx + ": " + msg
}

// fields calls fn for each key of mapping n, refusing keys that appear twice or
// that are not in known, the policy's equivalent of strict decoding.
func (pp *policyParser) fields(n *yaml.Node, ctx string, known []string, fn func(key string, k, v *yaml.Node) error) error {
	n = yamlDeref(n)
	if n.Kind != yaml.MappingNode {
		return pp.fail(n, "%s", withContext(ctx, "expected a mapping of keys to values"))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlDeref(n.Content[i]), yamlDeref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return pp.fail(k, "%s", withContext(ctx, "keys must be plain names"))
		}
		if line, dup := seen[k.Value]; dup {
			return pp.fail(k, "%s", withContext(ctx, fmt.Sprintf("key %q appears twice (first on line %d)", k.Value, line)))
		}
		seen[k.Value] = k.Line
		if known != nil && !slices.Contains(known, k.Value) {
			return pp.fail(k, "%s", withContext(ctx, fmt.Sprintf("unknown key %q (known keys: %s)", k.Value, strings.Join(known, ", "))))
		}
		if err := fn(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (pp *policyParser) str(v *yaml.Node, what string) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", pp.fail(v, "%s must be a single value", what)
	}
	if v.Tag == "!!null" {
		return "", nil
	}
	return strings.TrimSpace(v.Value), nil
}

func (pp *policyParser) boolean(v *yaml.Node, what string) (bool, error) {
	var b bool
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Decode(&b) != nil {
		return false, pp.fail(v, "%s must be true or false, not %s", what, yamlNodeText(v))
	}
	return b, nil
}

func (pp *policyParser) count(v *yaml.Node, what string) (int, error) {
	var n int
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&n) != nil {
		return 0, pp.fail(v, "%s must be a whole number, not %s", what, yamlNodeText(v))
	}
	if n < 0 {
		return 0, pp.fail(v, "%s must not be negative (use 0 for no limit)", what)
	}
	return n, nil
}

func (pp *policyParser) duration(v *yaml.Node, what string) (time.Duration, error) {
	s, err := pp.str(v, what)
	if err != nil {
		return 0, err
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, pp.fail(v, "%s: %v", what, err)
	}
	if d < 0 {
		return 0, pp.fail(v, "%s must not be negative", what)
	}
	return d, nil
}

// list returns the items of a sequence of single values; null counts as empty.
func (pp *policyParser) list(v *yaml.Node, what string) ([]*yaml.Node, error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, pp.fail(v, "%s must be a list, such as [a, b]", what)
	}
	items := make([]*yaml.Node, len(v.Content))
	for i, it := range v.Content {
		items[i] = yamlDeref(it)
		if items[i].Kind != yaml.ScalarNode {
			return nil, pp.fail(items[i], "%s: each entry must be a single value", what)
		}
	}
	return items, nil
}

func yamlNodeText(v *yaml.Node) string {
	switch v.Kind {
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", v.Value)
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "nothing"
}

// validName is the rule for names that appear in URLs, the CLI and API requests:
// type, plan and audience names.
func validPolicyName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}

const policyNameRule = "use lowercase letters, digits, '_', '-' and '.', starting with a letter or digit"

func (pp *policyParser) parse(data []byte) (*Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, pp.fail(nil, "the policy is empty")
		}
		return nil, pp.yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, pp.fail(&extra, "a policy is one YAML document; remove the second \"---\"")
	} else if !errors.Is(err, io.EOF) {
		return nil, pp.yamlError(err)
	}
	if len(doc.Content) == 0 {
		return nil, pp.fail(nil, "the policy is empty")
	}
	root := yamlDeref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, pp.fail(nil, "the policy is empty")
	}

	top := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	known := []string{"default_plan", "plans", "limits", "scopes", "method_scopes", "types"}
	if err := pp.fields(root, "", known, func(key string, k, v *yaml.Node) error {
		top[key], keys[key] = v, k
		return nil
	}); err != nil {
		return nil, err
	}

	p := &Policy{Plans: map[string]Plan{}, MethodScopes: map[string]string{}}
	var err error
	if v := top["scopes"]; v != nil {
		if p.ScopeList, err = pp.scopes(v); err != nil {
			return nil, err
		}
	}
	if p.Scopes, err = NewScopeCatalog(p.ScopeList); err != nil {
		// pp.scopes has already checked everything NewScopeCatalog checks.
		return nil, pp.fail(keys["scopes"], "scopes: %v", err)
	}
	if v := top["plans"]; v != nil {
		if err := pp.plans(v, p); err != nil {
			return nil, err
		}
	}
	if v := top["default_plan"]; v != nil {
		if p.DefaultPlan, err = pp.str(v, "default_plan"); err != nil {
			return nil, err
		}
		if _, ok := p.Plans[p.DefaultPlan]; !ok && p.DefaultPlan != "" {
			return nil, pp.fail(v, "default_plan %q is not declared in plans", p.DefaultPlan)
		}
	}
	if p.DefaultPlan == "" && len(p.Plans) > 0 {
		return nil, pp.fail(keys["plans"], "default_plan is required when plans are declared")
	}
	if v := top["limits"]; v != nil {
		if err := pp.limits(v, p); err != nil {
			return nil, err
		}
	}
	if v := top["method_scopes"]; v != nil {
		if err := pp.methodScopes(v, p); err != nil {
			return nil, err
		}
	}
	v := top["types"]
	if v == nil {
		return nil, pp.fail(root, "types: at least one token type is required")
	}
	if err := pp.types(v, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (pp *policyParser) scopes(v *yaml.Node) ([]ScopeDef, error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, pp.fail(v, "scopes must be a list of {name, description, implies}")
	}
	var defs []ScopeDef
	declared := map[string]int{}
	type implication struct {
		from string
		node *yaml.Node
	}
	var implied []implication
	for _, item := range v.Content {
		item = yamlDeref(item)
		var d ScopeDef
		nameNode := item
		if item.Kind == yaml.ScalarNode {
			// A bare name is a scope without description or implications.
			d.Name = strings.TrimSpace(item.Value)
		} else {
			var impliesNodes []*yaml.Node
			err := pp.fields(item, "scopes", []string{"name", "description", "implies"}, func(key string, k, v *yaml.Node) error {
				var err error
				switch key {
				case "name":
					nameNode = v
					d.Name, err = pp.str(v, "scope name")
				case "description":
					d.Description, err = pp.str(v, "scope description")
				case "implies":
					impliesNodes, err = pp.list(v, "implies")
				}
				return err
			})
			if err != nil {
				return nil, err
			}
			if d.Name == "" {
				return nil, pp.fail(item, "scopes: every scope needs a name")
			}
			for _, n := range impliesNodes {
				d.Implies = append(d.Implies, strings.TrimSpace(n.Value))
				implied = append(implied, implication{d.Name, n})
			}
		}
		if !ValidScopeName(d.Name) {
			return nil, pp.fail(nameNode, "scope %q is not a valid scope name (letters, digits, '_', '-', '.', segments joined by ':', an optional final ':*', at most %d characters)", d.Name, MaxScopeNameLength)
		}
		if line, dup := declared[d.Name]; dup {
			return nil, pp.fail(nameNode, "scope %q is declared twice (first on line %d)", d.Name, line)
		}
		declared[d.Name] = nameNode.Line
		defs = append(defs, d)
	}
	names, err := NewScopeCatalog(scopeNamesOnly(defs))
	if err != nil {
		return nil, pp.fail(v, "scopes: %v", err)
	}
	for _, im := range implied {
		target := strings.TrimSpace(im.node.Value)
		if !ValidScopeName(target) {
			return nil, pp.fail(im.node, "scope %q: implied scope %q is not a valid scope name", im.from, target)
		}
		if !names.Known(target) {
			return nil, pp.fail(im.node, "scope %q: implied scope %q is not declared in scopes", im.from, target)
		}
	}
	return defs, nil
}

func scopeNamesOnly(defs []ScopeDef) []ScopeDef {
	out := make([]ScopeDef, len(defs))
	for i, d := range defs {
		out[i] = ScopeDef{Name: d.Name}
	}
	return out
}

func (pp *policyParser) plans(v *yaml.Node, p *Policy) error {
	return pp.fields(v, "plans", nil, func(name string, k, v *yaml.Node) error {
		if !validPolicyName(name) {
			return pp.fail(k, "plans: %q is not a valid plan name (%s)", name, policyNameRule)
		}
		ctx := fmt.Sprintf("plan %q", name)
		pl := Plan{Name: name}
		err := pp.fields(v, ctx, []string{"daily", "per_minute"}, func(key string, k, v *yaml.Node) error {
			var err error
			switch key {
			case "daily":
				pl.Daily, err = pp.count(v, ctx+": daily")
			case "per_minute":
				pl.PerMinute, err = pp.count(v, ctx+": per_minute")
			}
			return err
		})
		if err != nil {
			return err
		}
		p.Plans[name] = pl
		p.planOrder = append(p.planOrder, name)
		return nil
	})
}

func (pp *policyParser) limits(v *yaml.Node, p *Policy) error {
	return pp.fields(v, "limits", []string{"workspace_active_tokens", "user_active_tokens"}, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "workspace_active_tokens":
			p.Limits.WorkspaceActiveTokens, err = pp.count(v, "limits: workspace_active_tokens")
		case "user_active_tokens":
			p.Limits.UserActiveTokens, err = pp.count(v, "limits: user_active_tokens")
		}
		return err
	})
}

var policyHTTPMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func (pp *policyParser) methodScopes(v *yaml.Node, p *Policy) error {
	return pp.fields(v, "method_scopes", nil, func(key string, k, v *yaml.Node) error {
		method := strings.ToUpper(key)
		if !slices.Contains(policyHTTPMethods, method) {
			return pp.fail(k, "method_scopes: %q is not an HTTP method (%s)", key, strings.Join(policyHTTPMethods, ", "))
		}
		if _, dup := p.MethodScopes[method]; dup {
			return pp.fail(k, "method_scopes: %s appears twice", method)
		}
		ctx := "method_scopes: " + method
		s, err := pp.str(v, ctx)
		if err != nil {
			return err
		}
		switch {
		case s == "":
			return pp.fail(v, "%s: a scope is required", ctx)
		case strings.HasSuffix(s, "*"):
			// A request needs one concrete permission; "needs notes:*" would refuse
			// every token that holds only notes:create, which is never the intent.
			return pp.fail(v, "%s: a required scope cannot be a wildcard (%q)", ctx, s)
		case !p.Scopes.Known(s):
			return pp.fail(v, "%s: scope %q is not declared in scopes", ctx, s)
		}
		p.MethodScopes[method] = s
		return nil
	})
}

var tokenTypeKeys = []string{
	"name", "label", "description", "prefix", "scopes", "single_scope", "min_scopes",
	"expiry", "ip_allowlist", "attributes", "terms", "audiences", "members", "rate_limit",
}

func (pp *policyParser) types(v *yaml.Node, p *Policy) error {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		return pp.fail(v, "types: at least one token type is required, as a list")
	}
	names := map[string]int{}
	prefixes := map[string]string{}
	for i, item := range v.Content {
		t, nameNode, prefixNode, err := pp.tokenType(yamlDeref(item), i+1, p.Scopes)
		if err != nil {
			return err
		}
		if line, dup := names[t.Name]; dup {
			return pp.fail(nameNode, "type %q is declared twice (first on line %d)", t.Name, line)
		}
		names[t.Name] = nameNode.Line
		if other, dup := prefixes[t.Prefix]; dup {
			return pp.fail(prefixNode, "type %q: prefix %q is already used by type %q", t.Name, t.Prefix, other)
		}
		prefixes[t.Prefix] = t.Name
		p.Types = append(p.Types, t)
	}
	return nil
}

func (pp *policyParser) tokenType(n *yaml.Node, index int, cat *ScopeCatalog) (t TokenType, nameNode, prefixNode *yaml.Node, err error) {
	ctx := fmt.Sprintf("type #%d", index)
	if n.Kind == yaml.MappingNode {
		// Find the name first so every later message can say which type it is about.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := yamlDeref(n.Content[i]), yamlDeref(n.Content[i+1]); k.Value == "name" && v.Kind == yaml.ScalarNode && v.Value != "" {
				ctx = fmt.Sprintf("type %q", v.Value)
			}
		}
	}
	t.IPRule = IPRuleOptional
	var (
		scopeNodes []*yaml.Node
		minNode    *yaml.Node
		expiryNode *yaml.Node
	)
	err = pp.fields(n, ctx, tokenTypeKeys, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "name":
			nameNode = v
			t.Name, err = pp.str(v, ctx+": name")
		case "label":
			t.Label, err = pp.str(v, ctx+": label")
		case "description":
			t.Description, err = pp.str(v, ctx+": description")
		case "prefix":
			prefixNode = v
			t.Prefix, err = pp.str(v, ctx+": prefix")
		case "scopes":
			scopeNodes, err = pp.list(v, ctx+": scopes")
			if err == nil && scopeNodes == nil {
				scopeNodes = []*yaml.Node{}
			}
		case "single_scope":
			t.SingleScope, err = pp.boolean(v, ctx+": single_scope")
		case "min_scopes":
			minNode = v
			t.MinScopes, err = pp.count(v, ctx+": min_scopes")
		case "expiry":
			expiryNode = v
			t.Expiry, err = pp.expiry(v, ctx)
		case "ip_allowlist":
			t.IPRule, err = pp.str(v, ctx+": ip_allowlist")
			if err == nil && t.IPRule != IPRuleOptional && t.IPRule != IPRuleRequired && t.IPRule != IPRuleNone {
				err = pp.fail(v, "%s: ip_allowlist must be optional, required or none, not %q", ctx, t.IPRule)
			}
		case "attributes":
			t.Attributes, err = pp.boolean(v, ctx+": attributes")
		case "terms":
			t.Terms, err = pp.str(v, ctx+": terms")
		case "audiences":
			var items []*yaml.Node
			items, err = pp.list(v, ctx+": audiences")
			for _, it := range items {
				a := strings.TrimSpace(it.Value)
				if !validPolicyName(a) {
					return pp.fail(it, "%s: audience %q is not a valid name (%s)", ctx, a, policyNameRule)
				}
				if slices.Contains(t.Audiences, a) {
					return pp.fail(it, "%s: audience %q is listed twice", ctx, a)
				}
				t.Audiences = append(t.Audiences, a)
			}
		case "members":
			t.Members, err = pp.boolean(v, ctx+": members")
		case "rate_limit":
			t.RateLimit, err = pp.rateLimit(v, ctx)
		}
		return err
	})
	if err != nil {
		return t, nil, nil, err
	}

	switch {
	case nameNode == nil || t.Name == "":
		return t, nil, nil, pp.fail(n, "%s: name is required", ctx)
	case !validPolicyName(t.Name):
		return t, nil, nil, pp.fail(nameNode, "%s: name is not valid (%s)", ctx, policyNameRule)
	case prefixNode == nil || t.Prefix == "":
		return t, nil, nil, pp.fail(n, "%s: prefix is required", ctx)
	case !ValidTokenPrefix(t.Prefix):
		return t, nil, nil, pp.fail(prefixNode, "%s: prefix %q must be 2 to 8 lowercase letters", ctx, t.Prefix)
	case expiryNode == nil:
		return t, nil, nil, pp.fail(n, "%s: expiry is required (write expiry: {never: true} for tokens that need not expire)", ctx)
	}
	if t.Label == "" {
		t.Label = t.Name
	}
	for _, sn := range scopeNodes {
		s := strings.TrimSpace(sn.Value)
		if !cat.Declared(s) {
			// Only declared scopes: the form shows each with its description.
			return t, nil, nil, pp.fail(sn, "%s: scope %q is not declared in scopes", ctx, s)
		}
		if slices.Contains(t.Scopes, s) {
			return t, nil, nil, pp.fail(sn, "%s: scope %q is listed twice", ctx, s)
		}
		t.Scopes = append(t.Scopes, s)
	}
	if minNode == nil && len(t.Scopes) > 0 {
		t.MinScopes = 1
	}
	switch {
	case t.SingleScope && len(t.Scopes) == 0:
		return t, nil, nil, pp.fail(n, "%s: single_scope needs at least one scope to choose from", ctx)
	case t.SingleScope && t.MinScopes > 1:
		return t, nil, nil, pp.fail(minNode, "%s: min_scopes cannot exceed 1 with single_scope: true", ctx)
	case t.MinScopes > len(t.Scopes):
		return t, nil, nil, pp.fail(minNode, "%s: min_scopes is %d but the type offers %d scope(s)", ctx, t.MinScopes, len(t.Scopes))
	}
	if t.SingleScope {
		t.MinScopes = 1
	}
	return t, nameNode, prefixNode, nil
}

func (pp *policyParser) expiry(v *yaml.Node, ctx string) (ExpiryRule, error) {
	var r ExpiryRule
	nodes := map[string]*yaml.Node{}
	err := pp.fields(v, ctx+": expiry", []string{"default", "min", "max", "never"}, func(key string, k, v *yaml.Node) error {
		nodes[key] = v
		var err error
		switch key {
		case "default":
			r.Default, err = pp.duration(v, ctx+": expiry.default")
		case "min":
			r.Min, err = pp.duration(v, ctx+": expiry.min")
		case "max":
			r.Max, err = pp.duration(v, ctx+": expiry.max")
		case "never":
			r.Never, err = pp.boolean(v, ctx+": expiry.never")
		}
		return err
	})
	if err != nil {
		return r, err
	}
	at := func(key string) *yaml.Node {
		if n := nodes[key]; n != nil {
			return n
		}
		return v
	}
	switch {
	case r.Max > 0 && r.Min > r.Max:
		return r, pp.fail(at("min"), "%s: expiry.min (%s) is longer than expiry.max (%s)", ctx, FormatDuration(r.Min), FormatDuration(r.Max))
	case r.Default == 0 && !r.Never:
		return r, pp.fail(at("default"), "%s: expiry.default is required unless never: true", ctx)
	case r.Default > 0 && (r.Default < r.Min || (r.Max > 0 && r.Default > r.Max)):
		return r, pp.fail(at("default"), "%s: expiry.default (%s) must be %s", ctx, FormatDuration(r.Default), r.Describe())
	}
	return r, nil
}

func (pp *policyParser) rateLimit(v *yaml.Node, ctx string) (Plan, error) {
	var pl Plan
	err := pp.fields(v, ctx+": rate_limit", []string{"daily", "per_minute"}, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "daily":
			pl.Daily, err = pp.count(v, ctx+": rate_limit.daily")
		case "per_minute":
			pl.PerMinute, err = pp.count(v, ctx+": rate_limit.per_minute")
		}
		return err
	})
	return pl, err
}
