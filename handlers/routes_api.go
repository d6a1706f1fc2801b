package handlers

import "github.com/labstack/echo/v4"

// apiRoutes are the token-authenticated JSON endpoints under /api/v1.
func (h *Handler) apiRoutes(e *echo.Echo) {}
