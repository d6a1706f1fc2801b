package handlers

import (
	"strings"

	"github.com/keyward/keyward/models"
	"github.com/labstack/echo/v4"
)

// Forms whose answer reveals a secret (new token, reset, new member) carry a
// one-time form id. Submitting the same rendering again — a reload of the
// answer, a double click — leads to the page of what the first submission
// made instead of making a second one and revealing another secret.

const onceKey = "once"
const onceRemembered = 20

func newFormID() string { return models.NewFormID() }

// formDone returns where an earlier submission of this form id led.
func (h *Handler) formDone(c echo.Context, id string) (string, bool) {
	if id == "" {
		return "", false
	}
	s, err := h.session(c)
	if err != nil {
		return "", false
	}
	list, _ := s.raw.Values[onceKey].([]string)
	for _, entry := range list {
		if got, path, ok := strings.Cut(entry, " "); ok && got == id {
			return path, true
		}
	}
	return "", false
}

// markFormDone remembers that form id led to path; call before the response body.
func (h *Handler) markFormDone(c echo.Context, id, path string) error {
	if id == "" {
		return nil
	}
	s, err := h.session(c)
	if err != nil {
		return err
	}
	list, _ := s.raw.Values[onceKey].([]string)
	list = append(list, id+" "+path)
	if len(list) > onceRemembered {
		list = list[len(list)-onceRemembered:]
	}
	s.raw.Values[onceKey] = list
	return h.saveSession(c, s)
}

// repeatedForm redirects a resubmitted form to what its first submission made.
func (h *Handler) repeatedForm(c echo.Context, path, msg string) error {
	if err := h.flash(c, msg, true); err != nil {
		return err
	}
	return c.Redirect(303, path)
}
