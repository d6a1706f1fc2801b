package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// apiShowCaller answers GET /api/v1/token: the presented token describes itself.
func (h *Handler) apiShowCaller(c echo.Context) error {
	// The encoding was made when the token was cached.
	raw, err := apiCaller(c).Token.MarshalJSON()
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, raw)
}
