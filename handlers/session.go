package handlers

import (
	"github.com/gorilla/sessions"
	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

const sessionName = "keyward_session"

// webSession is the typed view of a gorilla session: handlers never use
// string keys into the bag directly.
type webSession struct {
	raw *sessions.Session
}

func (s webSession) UserID() int64 {
	id, _ := s.raw.Values[models.SessionUserKey].(int64)
	return id
}

func (s webSession) setFlash(msg string, isError bool) {
	s.raw.Values["flash"] = msg
	s.raw.Values["flash_error"] = isError
}

// popFlash returns and clears the one-time message set before a redirect.
func (s webSession) popFlash() (string, bool) {
	msg, _ := s.raw.Values["flash"].(string)
	isErr, _ := s.raw.Values["flash_error"].(bool)
	if msg != "" {
		delete(s.raw.Values, "flash")
		delete(s.raw.Values, "flash_error")
	}
	return msg, isErr
}

func (h *Handler) session(c echo.Context) (webSession, error) {
	if s, ok := c.Get("session").(webSession); ok {
		return s, nil
	}
	raw, err := h.sessions.Get(c.Request(), sessionName)
	if err != nil {
		return webSession{}, err
	}
	s := webSession{raw: raw}
	c.Set("session", s)
	return s, nil
}

func (h *Handler) saveSession(c echo.Context, s webSession) error {
	return s.raw.Save(c.Request(), c.Response())
}

// flash stores a message for the page the next redirect lands on.
func (h *Handler) flash(c echo.Context, msg string, isError bool) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	s.setFlash(msg, isError)
	return h.saveSession(c, s)
}

// startSession replaces any session with a new one for the user: a fresh id
// at sign-in defeats session fixation.
func (h *Handler) startSession(c echo.Context, userID int64) error {
	if old, err := h.session(c); err == nil && old.raw.ID != "" {
		if err := h.store.DeleteSession(c.Request().Context(), old.raw.ID); err != nil {
			return err
		}
	}
	raw := sessions.NewSession(h.sessions, sessionName)
	opts := h.sessions.Options
	raw.Options = &opts
	raw.IsNew = true
	raw.Values[models.SessionUserKey] = userID
	s := webSession{raw: raw}
	c.Set("session", s)
	return h.saveSession(c, s)
}

// endSession deletes the session row and clears the cookie.
func (h *Handler) endSession(c echo.Context) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	s.raw.Options.MaxAge = -1
	return h.saveSession(c, s)
}
