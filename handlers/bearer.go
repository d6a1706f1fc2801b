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

// requireToken authenticates an API request by its bearer token and puts the
// verification result in the context for apiCaller. Refusals become the JSON
// errors of DESIGN §4; the rate-limit headers are set either way.
func (h *Handler) requireToken(a apiAuth) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			c.Response().Header().Set("Cache-Control", "no-store")
			token, _ := models.ParseAuthorization(r.Header.Get(echo.HeaderAuthorization))
			res := h.verifier.Verify(r.Context(), token, models.VerifyRequest{
				IP: guard.ClientIP(c), Scope: a.scope, Audience: a.audience,
				Endpoint: r.Method + " " + c.Path(), SkipRateLimit: a.uncounted,
			})
			h.metrics.verify.WithLabelValues(res.Code).Inc()
			guard.SetHeaders(c.Response().Header(), &res)
			if !res.Valid {
				return verifyError(&res)
			}
			c.Set("api_caller", &res)
			return next(c)
		}
	}
}

// apiCaller is the verified token of the request.
func apiCaller(c echo.Context) *models.VerifyResult {
	res, _ := c.Get("api_caller").(*models.VerifyResult)
	return res
}

// verifyError turns a refused verification into the API error.
func verifyError(res *models.VerifyResult) *apiError {
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
