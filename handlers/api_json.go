package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// invalidRequest is the 400 for a request body or parameter that cannot be
// used; field, when known, names it.
func invalidRequest(field, msg string) *apiError {
	e := newAPIError(http.StatusBadRequest, "invalid_request", msg)
	if field != "" {
		e.Extra = map[string]any{"field": field}
	}
	return e
}

// decodeJSON reads one JSON object into v, refusing unknown fields so that a
// misspelt field is reported instead of silently ignored.
func decodeJSON(c echo.Context, v any) error {
	return decodeJSONFrom(c.Request().Body, v)
}

func decodeJSONFrom(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var he *echo.HTTPError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &he):
		return he // the body limit
	case errors.Is(err, io.EOF):
		return invalidRequest("", "The request body is empty; send a JSON object.")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return invalidRequest("", "The request body is not valid JSON.")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalidRequest("", "The request body must be a JSON object.")
		}
		return invalidRequest(typ.Field, fmt.Sprintf("%s must be a JSON %s.", typ.Field, jsonKind(typ.Type.Kind().String())))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidRequest(field, fmt.Sprintf("Unknown field %q.", field))
	default:
		return invalidRequest("", "The request body is not valid JSON.")
	}
	if dec.More() {
		return invalidRequest("", "The request body must hold a single JSON object.")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return "number"
}
