package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

func TestAPIVerify(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		_, svc := srv.apiToken("service", nil)
		tok, user := srv.apiToken("personal", func(in *models.TokenInput) { in.Scopes = []string{"notes:*"} })

		rec := srv.apiBearer(http.MethodPost, "/api/v1/verify", svc, map[string]string{
			"token": user, "scope": "notes:create", "audience": "notes", "ip": "198.51.100.3", "endpoint": "POST /notes",
		})
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d %s", rec.Code, rec.Body.String())
		}
		var raw map[string]any
		apiJSON(t, rec, &raw)
		for _, k := range []string{"valid", "code", "message", "token", "ratelimit"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("answer lacks %q: %s", k, rec.Body.String())
			}
		}
		var a apiVerifyAnswer
		apiJSON(t, rec, &a)
		if !a.Valid || a.Code != "ok" || a.Status != 200 || a.Token == nil || a.RateLimit == nil {
			t.Fatalf("answer %+v", a)
		}
		if a.Token.ID != tok.PublicID || a.Token.Type != "personal" || a.Token.Workspace.Slug != srv.ws.Slug || a.Token.Scopes[0] != "notes:*" {
			t.Errorf("token %+v", a.Token)
		}
		if strings.Contains(rec.Body.String(), user) {
			t.Error("the answer repeats the plaintext")
		}
		apiExpectRateHeaders(t, rec)
	})
}

// TestAPIVerifyBadInput: each malformed request gets its code, never a 500.
func TestAPIVerifyBadInput(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		_, svc := srv.apiToken("service", nil)
		_, user := srv.apiToken("personal", nil)
		for name, tc := range map[string]struct {
			body  string
			field string
		}{
			"not json":      {body: "token=" + user},
			"empty":         {body: ""},
			"truncated":     {body: `{"token":"` + user},
			"array":         {body: `[1,2]`},
			"string token":  {body: `{"token":42}`, field: "token"},
			"unknown field": {body: `{"token":"x","scopes":["read"]}`, field: "scopes"},
			"bad ip":        {body: `{"token":"` + user + `","ip":"300.1.1.1"}`, field: "ip"},
			"ip with port":  {body: `{"token":"` + user + `","ip":"192.0.2.1:80"}`, field: "ip"},
			"unknown scope": {body: `{"token":"` + user + `","scope":"nope"}`, field: "scope"},
			"unicode scope": {body: `{"token":"` + user + `","scope":"nötes"}`, field: "scope"},
		} {
			rec := srv.apiBearer(http.MethodPost, "/api/v1/verify", svc, tc.body)
			b := apiExpectError(t, rec, http.StatusBadRequest, "invalid_request")
			if b.Error.Field != tc.field {
				t.Errorf("%s: field %q, want %q", name, b.Error.Field, tc.field)
			}
		}
		a := srv.apiVerify(svc, `{"token":"`+user+`","endpoint":"`+strings.Repeat("é", 500)+`"}`)
		if !a.Valid {
			t.Errorf("long endpoint: %+v", a)
		}
	})
}

// TestAPIVerifyFailsClosed: with the database gone, an uncached token is
// never valid.
func TestAPIVerifyFailsClosed(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		_, svc := srv.apiToken("service", nil)
		_, user := srv.apiToken("personal", nil)
		srv.apiVerify(svc, map[string]string{"token": user}) // the service token is now cached
		if err := srv.s.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := srv.s.WorkspaceByID(context.Background(), srv.ws.ID)
		if err == nil {
			t.Fatal("store still answers")
		}
		srv.v.Invalidate(strings.Split(user, "_")[1])
		rec := srv.apiBearer(http.MethodPost, "/api/v1/verify", svc, map[string]string{"token": user})
		apiExpectError(t, rec, http.StatusServiceUnavailable, "unavailable")
		if strings.Contains(rec.Body.String(), `"valid":true`) {
			t.Fatal("valid while the database is down")
		}
	})
}
