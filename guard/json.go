package guard

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the answer's JSON encoding to b. It produces what
// encoding/json would for the same value, without reflection, since it runs
// once per verified request.
func (r *VerifyResponse) AppendJSON(b []byte) []byte {
	b = append(b, `{"valid":`...)
	b = strconv.AppendBool(b, r.Valid)
	b = append(b, `,"code":`...)
	b = appendString(b, r.Code)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"message":`...)
	b = appendString(b, r.Message)
	if r.ExpiredAt != nil {
		b = append(b, `,"expired_at":`...)
		b = appendTime(b, *r.ExpiredAt)
	}
	if r.RetryAfter != 0 {
		b = append(b, `,"retry_after":`...)
		b = strconv.AppendInt(b, int64(r.RetryAfter), 10)
	}
	b = append(b, `,"token":`...)
	if r.Token == nil {
		b = append(b, "null"...)
	} else if raw, err := r.Token.MarshalJSON(); err == nil {
		b = append(b, raw...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"ratelimit":`...)
	if rl := r.RateLimit; rl == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"limit":`...)
		b = strconv.AppendInt(b, int64(rl.Limit), 10)
		b = append(b, `,"remaining":`...)
		b = strconv.AppendInt(b, int64(rl.Remaining), 10)
		b = append(b, `,"reset":`...)
		b = appendTime(b, rl.Reset)
		if rl.Window != "" {
			b = append(b, `,"window":`...)
			b = appendString(b, rl.Window)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		// Outside what RFC 3339 can say; encoding/json would fail. Say nothing.
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString appends s as a JSON string, escaping as encoding/json does:
// quotes, backslashes, control characters, <, > and &, U+2028 and U+2029, and
// invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
