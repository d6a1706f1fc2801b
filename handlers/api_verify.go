package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"unicode/utf8"

	"github.com/keyward/keyward/guard"
	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiVerify answers POST /api/v1/verify for resource servers, once the calling
// service's own token has been accepted. Every
// verification that could be made is a 200 whose body says whether the token
// is valid and, if not, which code and status the resource server should
// answer with; a store failure is a 503, so nothing is ever valid by accident.
//
// It is the hottest route, so it reads the body into a pooled buffer, parses
// the common shape by hand (anything else goes to encoding/json, which also
// words the errors) and writes the answer without reflection.
func (h *Handler) apiVerify(c echo.Context, _ *models.VerifyResult) error {
	buf := verifyBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 64<<10 { // let an odd huge body go
			verifyBuffers.Put(buf)
		}
	}()
	data, err := readAllInto((*buf)[:0], c.Request().Body)
	*buf = data[:0]
	if err != nil {
		return bodyReadError(err)
	}
	var in guard.VerifyRequestBody
	if !parseVerifyBody(data, &in) {
		// A copy, so that only this rarer path allocates the body struct.
		var decoded guard.VerifyRequestBody
		if err := decodeJSONFrom(bytes.NewReader(data), &decoded); err != nil {
			return err
		}
		in = decoded
	}
	req := models.VerifyRequest{Scope: in.Scope, Audience: in.Audience, Endpoint: in.Endpoint, Method: in.Method}
	if in.IP != "" {
		ip, err := netip.ParseAddr(in.IP)
		if err != nil {
			return invalidRequest("ip", fmt.Sprintf("ip %q is not an IPv4 or IPv6 address.", apiTruncate(in.IP, 60)))
		}
		req.IP = ip
	}
	if in.Scope != "" && (!models.ValidScopeName(in.Scope) || !h.policy.Scopes.Known(in.Scope)) {
		return invalidRequest("scope", fmt.Sprintf("Unknown scope %q: the policy declares no such scope.", apiTruncate(in.Scope, 80)))
	}
	res := h.verifier.Verify(c.Request().Context(), in.Token, req)
	h.countVerify(res.Code)
	if res.Code == models.CodeUnavailable {
		return h.verifyError(c, &res)
	}
	answer := guard.NewVerifyResponse(&res)
	return c.JSONBlob(http.StatusOK, answer.AppendJSON(data[:0]))
}

// bodyReadError is the answer to a body that could not be read: the body
// limit's own error, or invalid_request.
func bodyReadError(err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he
	}
	return invalidRequest("", "The request body could not be read.")
}

var verifyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// readAllInto appends everything r holds to b.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// parseVerifyBody reads the body resource servers send, an object of known
// fields with plain string values. It reports false for anything else
// (escapes, null, numbers, unknown or differently cased names, bad UTF-8), and
// the caller then decodes with encoding/json, which accepts or refuses
// exactly as it would have anyway.
func parseVerifyBody(data []byte, in *guard.VerifyRequestBody) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		key, j, ok := plainJSONString(data, i)
		if !ok {
			return false
		}
		i = skipSpace(data, j)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		val, j, ok := plainJSONString(data, skipSpace(data, i+1))
		if !ok {
			return false
		}
		switch string(key) {
		case "token":
			in.Token = string(val)
		case "scope":
			in.Scope = string(val)
		case "audience":
			in.Audience = string(val)
		case "ip":
			in.IP = string(val)
		case "endpoint":
			in.Endpoint = string(val)
		case "method":
			in.Method = string(val)
		default:
			return false
		}
		i = skipSpace(data, j)
		switch {
		case i >= len(data):
			return false
		case data[i] == ',':
			i = skipSpace(data, i+1)
		case data[i] == '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

// plainJSONString returns the contents of the string starting at data[i] if
// it needs no unescaping.
func plainJSONString(data []byte, i int) ([]byte, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			s := data[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// apiTruncate shortens caller input quoted back in a message.
func apiTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
