package models

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"0s", 0},
		{"7d", 7 * 24 * time.Hour},
		{"1w", 7 * 24 * time.Hour},
		{"1y", 365 * 24 * time.Hour},
		{"30d", 30 * 24 * time.Hour},
		{"90d", 90 * 24 * time.Hour},
		{"12h", 12 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"1y1d", 366 * 24 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"500ms", 500 * time.Millisecond},
		{"2µs", 2 * time.Microsecond},
		{"-7d", -7 * 24 * time.Hour},
		{"+2w", 14 * 24 * time.Hour},
		{"292y", 292 * Year},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	tests := []struct {
		in, wantMsg string
	}{
		{"", "empty"},
		{"-", "missing number"},
		{"d", "expected a number"},
		{"7", "missing unit"},
		{"7x", `unknown unit "x"`},
		{"7 d", `unknown unit " d"`},
		{"7days", `unknown unit "days"`},
		{"1.5d", "whole number"},
		{"1..5h", "is not a number"},
		{"293y", "too long"},
		{"100000000000000000000d", "too long"},
		{"99999999999999999999h", "too long"},
		{"200y200y", "too long"},
		{"--1d", "expected a number"},
	}
	for _, tt := range tests {
		_, err := ParseDuration(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("ParseDuration(%q) error = %v, want it to mention %q", tt.in, err, tt.wantMsg)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{7 * Day, "7d"},
		{Week, "7d"},
		{30 * Day, "30d"},
		{90 * Day, "90d"},
		{Year, "1y"},
		{2 * Year, "2y"},
		{366 * Day, "366d"},
		{12 * time.Hour, "12h"},
		{36 * time.Hour, "36h"},
		{90 * time.Minute, "90m"},
		{90 * time.Second, "1m30s"},
		{1500 * time.Millisecond, "1.5s"},
		{-7 * Day, "-7d"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{Day, "1 day"},
		{30 * Day, "30 days"},
		{Week, "1 week"},
		{2 * Week, "2 weeks"},
		{Year, "1 year"},
		{90 * Day, "90 days"},
		{time.Hour, "1 hour"},
		{12 * time.Hour, "12 hours"},
		{90 * time.Minute, "90 minutes"},
		{90 * time.Second, "1m30s"},
	}
	for _, tt := range tests {
		if got := HumanDuration(tt.in); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzFormatDuration checks that every duration survives FormatDuration and
// ParseDuration unchanged, so values written back into forms and policy files
// mean what they meant.
func FuzzFormatDuration(f *testing.F) {
	for _, d := range []int64{0, 1, int64(Day), int64(Year), int64(90 * time.Minute), -int64(Week), math.MaxInt64, math.MinInt64 + 1} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		if n == math.MinInt64 {
			return // has no positive counterpart, so no "-" form; Go cannot parse its String either
		}
		d := time.Duration(n)
		s := FormatDuration(d)
		got, err := ParseDuration(s)
		if err != nil || got != d {
			t.Fatalf("ParseDuration(FormatDuration(%d) = %q) = %d, %v", n, s, got, err)
		}
	})
}

// FuzzParseDuration checks that ParseDuration never panics and that what it
// accepts formats back to the same value.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"7d", "1w", "1y", "1d12h", "-1.5h", "0", "", "7x", "9999999999y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d == math.MinInt64 {
			return
		}
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("%q parsed to %v but its formatted form %q gives %v, %v", s, d, FormatDuration(d), back, err)
		}
	})
}
