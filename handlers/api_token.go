package handlers

import (
	"net/http"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// apiShowCaller answers GET /api/v1/token: the presented token describes itself.
func (h *Handler) apiShowCaller(c echo.Context, caller *models.VerifyResult) error {
	// The encoding was made when the token was cached.
	raw, err := caller.Token.MarshalJSON()
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, raw)
}
