// Package guard protects the routes of an Echo service with Keyward tokens.
//
// A Guard asks a Verifier about the bearer token of each request: in process,
// a *models.Verifier reading Keyward's database directly; over the network, a
// *Client calling Keyward's POST /api/v1/verify with a service token. Either
// way refused requests get Keyward's JSON errors and every response to a
// token-authenticated request carries X-RateLimit-Limit, -Remaining and -Reset.
//
//	g := guard.New(verifier, guard.Options{Audience: "notes"})
//	e.GET("/notes", listNotes, g.Require("read"))
//	e.POST("/notes", createNote, g.Require("notes:create"))
//
// A handler behind Require reads the verified token with guard.Token(c).
package guard

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// Verifier answers whether a presented token may make a request.
// *models.Verifier and *Client implement it.
type Verifier interface {
	Verify(ctx context.Context, token string, req models.VerifyRequest) models.VerifyResult
}

// Options configure a Guard.
type Options struct {
	// Audience is the name of the API being guarded. Token types that list
	// audiences are accepted only by the APIs they name; others get
	// wrong_key_type.
	Audience string
	// Endpoint names a request in the token's usage statistics. The default is
	// the method and route pattern, such as "GET /notes/:id".
	Endpoint func(c echo.Context) string
	// Logger receives failures to reach Keyward; nil discards them.
	Logger *slog.Logger
}

// Guard makes middleware that admits requests with a good token.
type Guard struct {
	v   Verifier
	opt Options
}

// New returns a Guard asking v.
func New(v Verifier, opt Options) *Guard {
	if opt.Endpoint == nil {
		opt.Endpoint = func(c echo.Context) string { return c.Request().Method + " " + c.Path() }
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Guard{v: v, opt: opt}
}

const contextKey = "keyward.guard.result"

// Require admits a request whose bearer token is valid, presented from an
// allowed address, of a type this API accepts, within its rate limit, and
// holding scope (directly, by implication or by wildcard). With an empty
// scope, a verifier that knows the policy applies its method scopes (read for
// GET and so on) when the policy declares them.
func (g *Guard) Require(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			token, _ := models.ParseAuthorization(r.Header.Get(echo.HeaderAuthorization))
			res := g.v.Verify(r.Context(), token, models.VerifyRequest{
				IP: ClientIP(c), Scope: scope, Method: r.Method, Audience: g.opt.Audience, Endpoint: g.opt.Endpoint(c),
			})
			SetHeaders(c.Response().Header(), &res)
			if !res.Valid {
				if res.Code == models.CodeUnavailable {
					g.opt.Logger.Error("guard: token could not be checked", "message", res.Message)
				}
				return c.JSON(res.Status, ErrorBody(&res))
			}
			c.Set(contextKey, &res)
			return next(c)
		}
	}
}

// Token returns the verified token of a request that passed Require, or nil.
func Token(c echo.Context) *models.TokenInfo {
	if res := Result(c); res != nil {
		return res.Token
	}
	return nil
}

// Result returns the whole verification result of a request that passed
// Require, or nil.
func Result(c echo.Context) *models.VerifyResult {
	res, _ := c.Get(contextKey).(*models.VerifyResult)
	return res
}

// ClientIP is the request's client address as Echo's IPExtractor reports it
// (configure e.IPExtractor for a service behind a proxy), or the zero Addr.
func ClientIP(c echo.Context) netip.Addr {
	a, err := netip.ParseAddr(c.RealIP())
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// Unlimited is the value of X-RateLimit-Limit and X-RateLimit-Remaining when
// no rate limit applies.
const Unlimited = "unlimited"

// SetHeaders writes the rate-limit headers of a verification result (when it
// has one: not for a missing or invalid key) and Retry-After on rate_limited.
// X-RateLimit-Reset is a Unix time in seconds. Header names are case-blind;
// Go sends them as X-Ratelimit-Limit and so on.
func SetHeaders(h http.Header, res *models.VerifyResult) {
	// The map is written directly with canonical keys: this runs on every
	// request, and Header.Set would canonicalise the names each time.
	if rl := res.RateLimit; rl != nil {
		var v []string
		if rl.Unlimited() {
			v = unlimitedHeaders(rl.Reset.Unix())
		} else {
			// One allocation holds all three values.
			v = []string{strconv.Itoa(rl.Limit), strconv.Itoa(rl.Remaining), strconv.FormatInt(rl.Reset.Unix(), 10)}
		}
		h["X-Ratelimit-Limit"] = v[0:1:1]
		h["X-Ratelimit-Remaining"] = v[1:2:2]
		h["X-Ratelimit-Reset"] = v[2:3:3]
	}
	if res.Code == models.CodeRateLimited {
		h["Retry-After"] = []string{strconv.Itoa(int(max(res.RetryAfter, time.Second) / time.Second))}
	}
}

// unlimitedHeaders returns the header values of an unlimited rate limit that
// resets at reset. They are the same for a whole day, so they are made once
// and shared (capacity-capped, so nothing appends into them).
func unlimitedHeaders(reset int64) []string {
	if c := unlimitedCache.Load(); c != nil && c.reset == reset {
		return c.values
	}
	c := &unlimitedValues{reset: reset, values: []string{Unlimited, Unlimited, strconv.FormatInt(reset, 10)}}
	unlimitedCache.Store(c)
	return c.values
}

type unlimitedValues struct {
	reset  int64
	values []string
}

var unlimitedCache atomic.Pointer[unlimitedValues]

// ErrorResponse is the body of every refused request:
// {"error":{"code":"…","message":"…"}}, with expired_at for expired_key.
type ErrorResponse struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of an ErrorResponse.
type ErrorDetail struct {
	Code      string     `json:"code"`
	Message   string     `json:"message"`
	ExpiredAt *time.Time `json:"expired_at,omitempty"`
	// Field names the request field at fault in an invalid_request error.
	Field string `json:"field,omitempty"`
}

// ErrorBody returns the JSON error body for a refused verification.
func ErrorBody(res *models.VerifyResult) ErrorResponse {
	return ErrorResponse{Error: ErrorDetail{Code: res.Code, Message: res.Message, ExpiredAt: res.ExpiredAt}}
}
