package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestNotesService(t *testing.T) {
	s := models.OpenTestSQLite(t)
	p := models.DefaultPolicy()
	_, ws, err := s.CreateAdmin(context.Background(), models.NewUser{Email: "notes@example.com", Name: "N", Password: "correct-horse-battery"}, "Notes Co", p.DefaultPlan)
	if err != nil {
		t.Fatal(err)
	}
	token := func(typ string, scopes ...string) string {
		_, plain, err := s.CreateToken(context.Background(), p, ws, nil, models.SystemActor, models.TokenInput{Type: typ, Name: typ, Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return plain
	}
	writer, reader, svc := token("personal", "notes:create", "read"), token("personal", "read"), token("service", "tokens:verify")
	e := newServer(models.NewVerifier(s, p, models.VerifierOptions{}), slog.New(slog.DiscardHandler))
	do := func(method, path, tok, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		method, path, token, body string
		status                    int
		want                      string
	}{
		{http.MethodPost, "/notes", writer, `{"text":"hello"}`, 201, `"workspace":"notes-co"`},
		{http.MethodGet, "/notes", reader, "", 200, `"text":"hello"`},
		{http.MethodPost, "/notes", reader, `{"text":"no"}`, 403, "Missing required permission: notes:create"},
		{http.MethodDelete, "/notes/1", writer, "", 403, "notes:delete"},
		{http.MethodGet, "/notes", svc, "", 403, "wrong_key_type"},
		{http.MethodGet, "/notes", "nope", "", 401, "invalid_key"},
	} {
		rec := do(tc.method, tc.path, tc.token, tc.body)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.method, tc.path, rec.Code, rec.Body.String(), tc.status, tc.want)
		}
	}
}
