package models

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseIPAllowlist(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"blank lines", "\n  \n\t\n", nil},
		{"single IPv4", "203.0.113.7", []string{"203.0.113.7"}},
		{"single IPv6", "2001:db8::1", []string{"2001:db8::1"}},
		{"CIDRs", "10.0.0.0/8\n2001:db8::/32", []string{"10.0.0.0/8", "2001:db8::/32"}},
		{"host bits masked", "10.1.2.3/8", []string{"10.0.0.0/8"}},
		{"IPv6 host bits masked", "2001:db8::1/32", []string{"2001:db8::/32"}},
		{"commas and spaces", " 10.0.0.1 , 10.0.0.2,\n\n 192.168.0.0/16 ", []string{"10.0.0.1", "10.0.0.2", "192.168.0.0/16"}},
		{"CRLF", "10.0.0.1\r\n10.0.0.2\r\n", []string{"10.0.0.1", "10.0.0.2"}},
		{"duplicates removed in order", "10.0.0.2\n10.0.0.1\n10.0.0.2/32\n10.0.0.1", []string{"10.0.0.2", "10.0.0.1"}},
		{"masked duplicates", "10.0.0.0/8\n10.9.9.9/8", []string{"10.0.0.0/8"}},
		{"IPv4-mapped address", "::ffff:10.0.0.1", []string{"10.0.0.1"}},
		{"IPv4-mapped range", "::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
		{"IPv4-mapped dedupes with IPv4", "10.0.0.1\n::ffff:10.0.0.1", []string{"10.0.0.1"}},
		{"everything", "0.0.0.0/0\n::/0", []string{"0.0.0.0/0", "::/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIPAllowlist(tt.in)
			if err != nil {
				t.Fatalf("ParseIPAllowlist(%q): %v", tt.in, err)
			}
			if !slices.Equal(got.Strings(), tt.want) {
				t.Errorf("ParseIPAllowlist(%q) = %q, want %q", tt.in, got.Strings(), tt.want)
			}
		})
	}
}

func TestParseIPAllowlistErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"10.0.0.1\n10.0.0.2\n10.0.0.300/8", `line 3: "10.0.0.300/8" is not an IP address or CIDR range`},
		{"example.com", `line 1: "example.com" is not an IP address or CIDR range`},
		{"10.0.0.1, 10.0.0.0/33", `line 1: "10.0.0.0/33" is not an IP address or CIDR range`},
		{"\n\n2001:db8::/129", `line 3: "2001:db8::/129" is not an IP address or CIDR range`},
		{"10.0.0.1 10.0.0.2", `line 1: "10.0.0.1 10.0.0.2" is not an IP address or CIDR range`},
		{"10.0.0.1/", `line 1: "10.0.0.1/" is not an IP address or CIDR range`},
		{"/8", `line 1: "/8" is not an IP address or CIDR range`},
		{"010.0.0.1", `line 1: "010.0.0.1" is not an IP address or CIDR range`},
		{"fe80::1%eth0", `line 1: "fe80::1%eth0" has an IPv6 zone, which an allowlist cannot use`},
		{strings.Repeat("x", 500), `line 1: "` + strings.Repeat("x", 50) + `…" is not an IP address or CIDR range`},
	}
	for _, tt := range tests {
		_, err := ParseIPAllowlist(tt.in)
		var le *IPListError
		if !errors.As(err, &le) {
			t.Errorf("ParseIPAllowlist(%q) error = %v, want *IPListError", tt.in, err)
			continue
		}
		if err.Error() != tt.wantErr {
			t.Errorf("ParseIPAllowlist(%q) error = %s, want %s", tt.in, err, tt.wantErr)
		}
	}
}

func TestParseIPAllowlistLimit(t *testing.T) {
	var lines []string
	for i := 0; i < MaxIPAllowlistEntries; i++ {
		lines = append(lines, fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	// Duplicates do not count towards the limit.
	l, err := ParseIPAllowlist(strings.Join(append(lines, lines[0]), "\n"))
	if err != nil || len(l) != MaxIPAllowlistEntries {
		t.Fatalf("100 entries: len %d, err %v", len(l), err)
	}
	_, err = ParseIPAllowlist(strings.Join(append(lines, "192.0.2.1"), "\n"))
	want := `line 101: "192.0.2.1" is one entry too many (at most 100)`
	if err == nil || err.Error() != want {
		t.Errorf("101 entries: error = %v, want %s", err, want)
	}
}

func TestIPAllowlistContains(t *testing.T) {
	l, err := ParseIPAllowlist("10.0.0.0/8\n203.0.113.7\n2001:db8::/32\n::ffff:198.51.100.0/120")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip   string
		want bool
	}{
		{"10.1.2.3", true},
		{"11.0.0.1", false},
		{"203.0.113.7", true},
		{"203.0.113.8", false},
		{"::ffff:10.1.2.3", true}, // an IPv4 client seen by a dual-stack listener
		{"::ffff:11.0.0.1", false},
		{"198.51.100.9", true},
		{"2001:db8:1::5", true},
		{"2001:db9::1", false},
		{"fe80::1%eth0", false},
		{"2001:db8::1%eth0", true},
	}
	for _, tt := range tests {
		if got := l.Contains(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	if l.Contains(netip.Addr{}) {
		t.Error("the zero address must not be allowed by a non-empty list")
	}
	var empty IPAllowlist
	if !empty.Contains(netip.MustParseAddr("192.0.2.1")) {
		t.Error("an empty list allows every address")
	}
}

func TestIPAllowlistTextRoundTrip(t *testing.T) {
	l, err := ParseIPAllowlist("10.1.2.3/8, 2001:db8::1\n::ffff:1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Text(), "10.0.0.0/8\n2001:db8::1\n1.2.3.4"; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	again, err := ParseIPAllowlist(l.Text())
	if err != nil || !slices.Equal(again, l) {
		t.Errorf("re-parsing Text() gave %v, %v", again, err)
	}
	if (IPAllowlist{}).Text() != "" {
		t.Error("an empty list has empty text")
	}
}

// FuzzParseIPAllowlist checks that parsing never panics, that errors are the
// documented type with a line number inside the text, and that accepted lists are
// canonical and survive a trip through Text.
func FuzzParseIPAllowlist(f *testing.F) {
	f.Add("10.0.0.0/8\n2001:db8::/32")
	f.Add("10.1.2.3/8, ::ffff:10.0.0.1 ,\n\n")
	f.Add("10.0.0.300/8")
	f.Add("fe80::1%eth0")
	f.Add("::ffff:0.0.0.0/95")
	f.Fuzz(func(t *testing.T, text string) {
		l, err := ParseIPAllowlist(text)
		if err != nil {
			var le *IPListError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not an *IPListError", err)
			}
			if le.Line < 1 || le.Line > strings.Count(text, "\n")+1 {
				t.Fatalf("error line %d outside the text", le.Line)
			}
			return
		}
		if len(l) > MaxIPAllowlistEntries {
			t.Fatalf("%d entries accepted", len(l))
		}
		seen := map[netip.Prefix]bool{}
		for _, p := range l {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" {
				t.Fatalf("entry %v is not canonical", p)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				t.Fatalf("entry %v is still IPv4-mapped", p)
			}
			if seen[p] {
				t.Fatalf("duplicate entry %v", p)
			}
			seen[p] = true
			if !l.Contains(p.Addr()) {
				t.Fatalf("list does not contain its own entry %v", p)
			}
		}
		again, err := ParseIPAllowlist(l.Text())
		if err != nil || !slices.Equal(again, l) {
			t.Fatalf("Text() %q re-parsed to %v, %v", l.Text(), again, err)
		}
	})
}
