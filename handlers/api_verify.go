package handlers

import (
	"fmt"
	"net/http"
	"net/netip"
	"unicode/utf8"

	"github.com/keyward/keyward/guard"
	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiVerify answers POST /api/v1/verify for resource servers. Every
// verification that could be made is a 200 whose body says whether the token
// is valid and, if not, which code and status the resource server should
// answer with; a store failure is a 503, so nothing is ever valid by accident.
func (h *Handler) apiVerify(c echo.Context) error {
	var in guard.VerifyRequestBody
	if err := decodeJSON(c, &in); err != nil {
		return err
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
	h.metrics.verify.WithLabelValues(res.Code).Inc()
	if res.Code == models.CodeUnavailable {
		return verifyError(&res)
	}
	return c.JSON(http.StatusOK, guard.NewVerifyResponse(&res))
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
