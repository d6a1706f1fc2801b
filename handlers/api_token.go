package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// apiShowCaller answers GET /api/v1/token: the presented token describes itself.
func (h *Handler) apiShowCaller(c echo.Context) error {
	return c.JSON(http.StatusOK, apiCaller(c).Token)
}
