package handlers

import (
	"github.com/keyward/keyward/guard"
	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiAuth says what a route of Keyward's own API asks of the caller's token.
type apiAuth struct {
	scope    string
	audience string
	// uncounted routes report the caller's rate limit without using it up.
	uncounted bool
}

// authenticate checks an API request's bearer token. It returns the result of
// an accepted token; for a refused one it returns nil and the JSON error of
// DESIGN §4 to answer with. The rate-limit headers are set either way.
func (h *Handler) authenticate(c echo.Context, a apiAuth) (*models.VerifyResult, error) {
	r := c.Request()
	c.Response().Header()["Cache-Control"] = apiNoStore
	token, _ := models.ParseAuthorization(r.Header.Get(echo.HeaderAuthorization))
	ctx := r.Context()
	memo, _ := ctx.Value(tokenMemoKey{}).(*models.TokenMemo) // nil unless served by e.Server or e.TLSServer
	res := h.verifier.Verify(ctx, token, models.VerifyRequest{
		IP: guard.ClientIP(c), Scope: a.scope, Audience: a.audience,
		Endpoint: r.Method + " " + c.Path(), SkipRateLimit: a.uncounted, Memo: memo,
	})
	h.countVerify(res.Code)
	guard.SetHeaders(c.Response().Header(), &res)
	if !res.Valid {
		return nil, h.verifyError(c, &res)
	}
	return &res, nil
}

// requireToken authenticates every route of a group; the handlers find the
// result with apiCaller.
func (h *Handler) requireToken(a apiAuth) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res, err := h.authenticate(c, a)
			if res == nil {
				return err
			}
			c.Set("api_caller", res)
			return next(c)
		}
	}
}

// withToken authenticates one route and hands the handler the result. The
// verify and self-description routes use it: they run on every call of a
// guarded service, and storing the result in the context allocates a map.
func (h *Handler) withToken(a apiAuth, next func(echo.Context, *models.VerifyResult) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		res, err := h.authenticate(c, a)
		if res == nil {
			return err
		}
		return next(c, res)
	}
}

// apiNoStore is shared by every API response; nothing appends to it.
var apiNoStore = []string{"no-store"}

// countVerify counts a verification outcome for /metrics.
func (h *Handler) countVerify(code string) {
	if c, ok := h.verifyCounts[code]; ok {
		c.Inc()
		return
	}
	h.metrics.verify.WithLabelValues(code).Inc()
}

// apiCaller is the verified token of the request.
func apiCaller(c echo.Context) *models.VerifyResult {
	res, _ := c.Get("api_caller").(*models.VerifyResult)
	return res
}

// statusClientGone answers a request whose client hung up before the token
// could be checked (nginx's convention): nobody reads it, and it is not a
// server failure to log.
const statusClientGone = 499

// verifyError turns a refused verification into the API error.
func (h *Handler) verifyError(c echo.Context, res *models.VerifyResult) error {
	if res.Code == models.CodeUnavailable && c.Request().Context().Err() != nil {
		return c.NoContent(statusClientGone)
	}
	e := newAPIError(res.Status, res.Code, res.Message)
	if res.ExpiredAt != nil {
		e.Extra = map[string]any{"expired_at": res.ExpiredAt}
	}
	return e
}

// apiActor is the caller's token as the audit log names it.
func apiActor(c echo.Context) models.Actor {
	t := apiCaller(c).Token
	return models.Actor{Type: "token", ID: t.ID, Label: t.Name + " (" + t.ID + ")", IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
}
