package models

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// MaxIPAllowlistEntries bounds an allowlist: Contains is a linear scan on every
// verified request, and a list longer than this is better expressed as wider
// ranges.
const MaxIPAllowlistEntries = 100

// IPAllowlist is the set of address ranges a token may be used from. Every entry
// is masked and IPv4 addresses are held as IPv4 (never IPv4-mapped IPv6), so the
// same range always has the same form and duplicates are easy to spot.
type IPAllowlist []netip.Prefix

// IPListError reports the first entry of an allowlist that could not be used,
// phrased for the person who typed it: the form shows it next to the field.
type IPListError struct {
	Line   int    // 1-based line in the text
	Value  string // the entry as typed, trimmed
	Reason string // what is wrong, completing the sentence after the value
}

// Error reads like `line 3: "10.0.0.300/8" is not an IP address or CIDR range`.
func (e *IPListError) Error() string {
	return fmt.Sprintf("line %d: %q %s", e.Line, e.Value, e.Reason)
}

// ParseIPAllowlist reads one IPv4 or IPv6 address or CIDR range per line; commas
// also separate entries, and blank lines and surrounding spaces are ignored, so
// both a pasted column and a pasted comma list work. A bare address allows only
// itself (/32 or /128). Ranges written with host bits set ("10.1.2.3/8") are
// masked rather than refused, since the intent is plain. Duplicates are dropped
// and the order of first appearance kept.
//
// It returns an empty list for empty text, and an *IPListError for an entry that
// is not an address or range, or once the list grows past MaxIPAllowlistEntries.
func ParseIPAllowlist(text string) (IPAllowlist, error) {
	var list IPAllowlist
	seen := map[netip.Prefix]bool{}
	lineNo := 0
	for line := range strings.SplitSeq(text, "\n") {
		lineNo++
		for field := range strings.SplitSeq(line, ",") {
			v := strings.TrimSpace(field)
			if v == "" {
				continue
			}
			p, reason := parseIPEntry(v)
			if reason != "" {
				return nil, &IPListError{Line: lineNo, Value: shortIPValue(v), Reason: reason}
			}
			if seen[p] {
				continue
			}
			if len(list) == MaxIPAllowlistEntries {
				return nil, &IPListError{Line: lineNo, Value: shortIPValue(v), Reason: fmt.Sprintf("is one entry too many (at most %d)", MaxIPAllowlistEntries)}
			}
			seen[p] = true
			list = append(list, p)
		}
	}
	return list, nil
}

// shortIPValue cuts an entry that is too long to be an address, so that a pasted
// blob does not fill the page when the error is shown beside the field.
func shortIPValue(v string) string {
	const max = 50 // longer than any IPv6 CIDR range
	if len(v) <= max {
		return v
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "…"
}

// parseIPEntry returns the canonical prefix for one entry, or why it is refused.
func parseIPEntry(v string) (netip.Prefix, string) {
	const notIP = "is not an IP address or CIDR range"
	if strings.Contains(v, "%") {
		// Zones name a local interface and cannot match a remote client.
		return netip.Prefix{}, "has an IPv6 zone, which an allowlist cannot use"
	}
	var p netip.Prefix
	if strings.Contains(v, "/") {
		var err error
		if p, err = netip.ParsePrefix(v); err != nil {
			return netip.Prefix{}, notIP
		}
	} else {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return netip.Prefix{}, notIP
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p = p.Masked()
	// Clients are matched after unmapping, so an IPv4-mapped range has to become
	// the IPv4 range it stands for or it would never match anything.
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, ""
}

// Contains reports whether ip may use the token. IPv4-mapped IPv6 addresses (as
// dual-stack listeners report IPv4 clients) are unmapped first. An empty list
// allows every address: whether a token may have no list is the token type's
// rule, checked when the token is saved, not here.
func (l IPAllowlist) Contains(ip netip.Addr) bool {
	if len(l) == 0 {
		return true
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range l {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Strings returns the entries in their canonical text form; a single address is
// written without its /32 or /128, as people type it. ParseIPAllowlist reads
// every string back to the same entry.
func (l IPAllowlist) Strings() []string {
	out := make([]string, len(l))
	for i, p := range l {
		if p.IsSingleIP() {
			out[i] = p.Addr().String()
		} else {
			out[i] = p.String()
		}
	}
	return out
}

// Text returns the entries one per line, for re-filling a textarea.
func (l IPAllowlist) Text() string {
	return strings.Join(l.Strings(), "\n")
}
