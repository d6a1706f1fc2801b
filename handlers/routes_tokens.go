package handlers

import (
	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// tokenRoutes are the workspace pages under /w/:slug. Members reach the token
// pages (and only their own tokens); managers and admins reach audit; admins
// reach settings.
func (h *Handler) tokenRoutes(ws *echo.Group) {
	ws.GET("/tokens", h.listTokens)
	ws.GET("/tokens/new", h.newToken)
	ws.POST("/tokens", h.createToken)
	ws.GET("/tokens/:id", h.showToken)
	ws.POST("/tokens/:id", h.updateToken)
	ws.GET("/tokens/:id/usage", h.tokenUsage)
	ws.GET("/tokens/:id/activity", h.tokenActivity)
	ws.GET("/tokens/:id/reset", h.confirmReset)
	ws.POST("/tokens/:id/reset", h.resetToken)
	ws.GET("/tokens/:id/revoke", h.confirmRevoke)
	ws.POST("/tokens/:id/revoke", h.revokeToken)

	managers := ws.Group("", requireRole(models.RoleAdmin, models.RoleManager))
	managers.GET("/audit", h.showAudit)
	managers.GET("/audit.csv", h.exportAudit)

	admins := ws.Group("", requireRole(models.RoleAdmin))
	admins.GET("/settings", h.showSettings)
	admins.POST("/settings", h.updateSettings)
}
