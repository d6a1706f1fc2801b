package models

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Token lifetimes are counted in days and years, which time.ParseDuration does not
// know. A day is 24 hours and a year 365 days: expiry is a length of time, not a
// calendar date, so leap years and daylight saving do not come into it.
const (
	// Day is 24 hours.
	Day = 24 * time.Hour
	// Week is 7 days.
	Week = 7 * Day
	// Year is 365 days.
	Year = 365 * Day
)

// ParseDuration parses what time.ParseDuration accepts plus the units d (day),
// w (week) and y (year, 365 days), alone or combined: "7d", "1w", "1y", "12h",
// "90m", "1d12h". Days, weeks and years take whole numbers only.
//
// Its errors are written for the person who typed the value, because policy files
// and the CLI's --expires-in pass them straight through.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	if s == "" {
		return 0, fmt.Errorf("invalid duration %q: empty (use a number and a unit such as 7d, 12h or 1y)", orig)
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("invalid duration %q: missing number", orig)
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q: expected a number before %q", orig, s)
		}
		num := s[:i]
		s = s[i:]
		j := 0
		for j < len(s) && !(s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		unit := s[:j]
		s = s[j:]
		if unit == "" {
			return 0, fmt.Errorf("invalid duration %q: missing unit after %s (use m, h, d, w or y)", orig, num)
		}
		var d, per time.Duration
		switch unit {
		case "d":
			per = Day
		case "w":
			per = Week
		case "y":
			per = Year
		}
		if per != 0 {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				if strings.Contains(num, ".") {
					return 0, fmt.Errorf("invalid duration %q: %s%s must be a whole number (use hours for fractions of a day)", orig, num, unit)
				}
				return 0, fmt.Errorf("invalid duration %q: too long", orig)
			}
			if n > math.MaxInt64/int64(per) {
				return 0, fmt.Errorf("invalid duration %q: too long", orig)
			}
			d = time.Duration(n) * per
		} else {
			var err error
			d, err = time.ParseDuration(num + unit)
			if err != nil {
				if strings.Contains(err.Error(), "unknown unit") {
					return 0, fmt.Errorf("invalid duration %q: unknown unit %q (use s, m, h, d, w or y)", orig, unit)
				}
				if num == "." || strings.Count(num, ".") > 1 {
					return 0, fmt.Errorf("invalid duration %q: %q is not a number", orig, num)
				}
				return 0, fmt.Errorf("invalid duration %q: too long", orig)
			}
		}
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("invalid duration %q: too long", orig)
		}
		total += d
	}
	if neg {
		total = -total
	}
	return total, nil
}

// FormatDuration writes d in the shortest form ParseDuration reads back exactly:
// whole years as "1y", whole days as "7d" or "30d", then hours, then minutes,
// and anything finer as time.Duration.String does. Days are preferred to weeks
// so that policy files and forms show the numbers people think in ("30d").
func FormatDuration(d time.Duration) string {
	if d < 0 {
		if d == math.MinInt64 {
			return d.String()
		}
		return "-" + FormatDuration(-d)
	}
	switch {
	case d == 0:
		return "0s"
	case d%Year == 0:
		return strconv.FormatInt(int64(d/Year), 10) + "y"
	case d%Day == 0:
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// HumanDuration writes d in words for messages and form hints: "1 day",
// "30 days", "1 week", "1 year", "12 hours". Weeks are used here, unlike in
// FormatDuration, because "between 1 week and 1 year" reads better than
// "between 7 days and 1 year".
func HumanDuration(d time.Duration) string {
	plural := func(n time.Duration, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(int64(n), 10) + " " + unit + "s"
	}
	switch {
	case d <= 0:
		return d.String()
	case d%Year == 0:
		return plural(d/Year, "year")
	case d%Week == 0:
		return plural(d/Week, "week")
	case d%Day == 0:
		return plural(d/Day, "day")
	case d%time.Hour == 0:
		return plural(d/time.Hour, "hour")
	case d%time.Minute == 0:
		return plural(d/time.Minute, "minute")
	}
	return d.String()
}
