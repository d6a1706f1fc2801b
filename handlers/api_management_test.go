package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

// apiTokenBody is a token as the management API shows it.
type apiTokenBody struct {
	ID                  string     `json:"id"`
	Name                string     `json:"name"`
	Description         string     `json:"description"`
	Type                string     `json:"type"`
	Masked              string     `json:"masked"`
	Status              string     `json:"status"`
	Scopes              []string   `json:"scopes"`
	IPAllowlist         []string   `json:"ip_allowlist"`
	ExpiresAt           *time.Time `json:"expires_at"`
	RevokedAt           *time.Time `json:"revoked_at"`
	OldSecretValidUntil *time.Time `json:"old_secret_valid_until"`
	Token               string     `json:"token"`
}

func TestAPIManagement(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		ctx := context.Background()
		_, mgr := srv.apiToken("service", nil)
		other, _ := srv.apiTokenIn(func() *models.Workspace { _, w := srv.apiWorkspace("other@example.com", "Other Co"); return w }(), "personal", nil)
		existing, _ := srv.apiToken("personal", nil)

		var created apiTokenBody
		t.Run("create", func(t *testing.T) {
			rec := srv.apiBearer(http.MethodPost, "/api/v1/tokens", mgr, map[string]any{
				"type": "personal", "name": "CI deploy", "scopes": []string{"read", "notes:create"},
				"expires_in": "14d", "ip_allowlist": []string{"203.0.113.0/24"},
			})
			if rec.Code != http.StatusCreated {
				t.Fatalf("status %d %s", rec.Code, rec.Body.String())
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			apiJSON(t, rec, &created)
			if !strings.HasPrefix(created.Token, "pat_"+created.ID+"_") || created.Status != "active" {
				t.Fatalf("created %+v", created)
			}
			if rec.Header().Get("Location") != "/api/v1/tokens/"+created.ID {
				t.Errorf("Location %q", rec.Header().Get("Location"))
			}
			if want := srv.now().Add(14 * 24 * time.Hour); created.ExpiresAt == nil || !created.ExpiresAt.Equal(want) {
				t.Errorf("expires_at %v, want %v", created.ExpiresAt, want)
			}
			// The new token works at once, and only from its range.
			_, svc := srv.apiToken("service", nil)
			if a := srv.apiVerify(svc, map[string]string{"token": created.Token, "scope": "notes:create", "ip": "203.0.113.4"}); !a.Valid {
				t.Fatalf("new token: %+v", a)
			}
			evs, _, err := srv.s.AuditEvents(ctx, models.AuditFilter{WorkspaceID: srv.ws.ID, Action: models.ActionTokenCreated, TargetID: created.ID})
			if err != nil || len(evs) != 1 || evs[0].ActorType != "token" || !strings.Contains(evs[0].ActorLabel, strings.Split(mgr, "_")[1]) {
				t.Fatalf("audit %+v %v", evs, err)
			}
			if strings.Contains(evs[0].Details, created.Token) {
				t.Fatal("the audit event holds the plaintext")
			}
		})
		t.Run("get and list never show the plaintext", func(t *testing.T) {
			rec := srv.apiBearer(http.MethodGet, "/api/v1/tokens/"+created.ID, mgr, nil)
			var got apiTokenBody
			apiJSON(t, rec, &got)
			if rec.Code != http.StatusOK || got.Token != "" || got.Name != "CI deploy" || !strings.Contains(got.Masked, "••••") {
				t.Fatalf("get %d %+v", rec.Code, got)
			}
			rec = srv.apiBearer(http.MethodGet, "/api/v1/tokens?per_page=100", mgr, nil)
			if strings.Contains(rec.Body.String(), created.Token) {
				t.Fatal("list shows a plaintext")
			}
			var list struct {
				Tokens []apiTokenBody `json:"tokens"`
				Total  int            `json:"total"`
			}
			apiJSON(t, rec, &list)
			ids := map[string]bool{}
			for _, tk := range list.Tokens {
				ids[tk.ID] = true
			}
			if !ids[created.ID] || !ids[existing.PublicID] || ids[other.PublicID] || list.Total != len(list.Tokens) {
				t.Fatalf("list %v (total %d)", ids, list.Total)
			}
			rec = srv.apiBearer(http.MethodGet, "/api/v1/tokens?status=bogus", mgr, nil)
			apiExpectError(t, rec, http.StatusBadRequest, "invalid_request")
		})
		t.Run("another workspace's token is not found", func(t *testing.T) {
			for _, req := range []struct{ method, path string }{
				{http.MethodGet, "/api/v1/tokens/" + other.PublicID},
				{http.MethodPatch, "/api/v1/tokens/" + other.PublicID},
				{http.MethodDelete, "/api/v1/tokens/" + other.PublicID},
				{http.MethodPost, "/api/v1/tokens/" + other.PublicID + "/reset"},
				{http.MethodGet, "/api/v1/tokens/not-an-id"},
			} {
				var body any
				if req.method == http.MethodPatch {
					body = map[string]string{"name": "stolen"}
				}
				rec := srv.apiBearer(req.method, req.path, mgr, body)
				apiExpectError(t, rec, http.StatusNotFound, "not_found")
			}
			if tok, err := srv.s.TokenByPublicID(ctx, other.WorkspaceID, other.PublicID); err != nil || tok.Name == "stolen" || tok.RevokedAt != nil {
				t.Fatalf("the other workspace's token changed: %+v %v", tok, err)
			}
		})
		t.Run("validation failures name each field", func(t *testing.T) {
			rec := srv.apiBearer(http.MethodPost, "/api/v1/tokens", mgr, map[string]any{
				"type": "personal", "name": "", "scopes": []string{"tokens:manage"}, "ip_allowlist": []string{"10.0.0.300"},
			})
			b := apiExpectError(t, rec, http.StatusUnprocessableEntity, "validation_failed")
			for _, f := range []string{"name", "scopes", "ip_allowlist"} {
				if b.Error.Fields[f] == "" {
					t.Errorf("no message for %s in %v", f, b.Error.Fields)
				}
			}
			rec = srv.apiBearer(http.MethodPost, "/api/v1/tokens", mgr, map[string]any{"type": "personal", "name": "x", "scopes": []string{"read"}, "expires_in": "forever"})
			if b := apiExpectError(t, rec, http.StatusUnprocessableEntity, "validation_failed"); b.Error.Fields["expires_in"] == "" {
				t.Errorf("fields %v", b.Error.Fields)
			}
			rec = srv.apiBearer(http.MethodPost, "/api/v1/tokens", mgr, map[string]any{"type": "nope", "name": "x"})
			if b := apiExpectError(t, rec, http.StatusUnprocessableEntity, "validation_failed"); b.Error.Fields["type"] == "" {
				t.Errorf("fields %v", b.Error.Fields)
			}
		})
		t.Run("bad bodies", func(t *testing.T) {
			for name, body := range map[string]string{
				"not json":      "name=x",
				"empty":         "",
				"array":         `["x"]`,
				"unknown field": `{"type":"personal","nmae":"x"}`,
				"wrong type":    `{"type":"personal","name":42}`,
				"two objects":   `{"name":"a"}{"name":"b"}`,
			} {
				rec := srv.apiBearer(http.MethodPost, "/api/v1/tokens", mgr, body) // sent as is
				if rec.Code == http.StatusInternalServerError {
					t.Fatalf("%s: 500", name)
				}
				apiExpectError(t, rec, http.StatusBadRequest, "invalid_request")
			}
		})
		t.Run("patch changes only what it names, effective at once", func(t *testing.T) {
			_, svc := srv.apiToken("service", nil)
			if a := srv.apiVerify(svc, map[string]string{"token": created.Token, "scope": "write", "ip": "203.0.113.4"}); a.Code != "insufficient_permissions" {
				t.Fatalf("before: %+v", a)
			}
			rec := srv.apiBearer(http.MethodPatch, "/api/v1/tokens/"+created.ID, mgr, map[string]any{"scopes": []string{"write"}})
			var got apiTokenBody
			apiJSON(t, rec, &got)
			if rec.Code != http.StatusOK || got.Name != "CI deploy" || len(got.IPAllowlist) != 1 || got.Scopes[0] != "write" {
				t.Fatalf("patch %d %s", rec.Code, rec.Body.String())
			}
			if a := srv.apiVerify(svc, map[string]string{"token": created.Token, "scope": "write", "ip": "203.0.113.4"}); !a.Valid {
				t.Fatalf("after: %+v", a)
			}
			rec = srv.apiBearer(http.MethodPatch, "/api/v1/tokens/"+created.ID, mgr, map[string]any{"type": "service", "expires_in": "1y"})
			b := apiExpectError(t, rec, http.StatusUnprocessableEntity, "validation_failed")
			if b.Error.Fields["type"] == "" || b.Error.Fields["expires_in"] == "" {
				t.Errorf("fields %v", b.Error.Fields)
			}
		})
		t.Run("reset", func(t *testing.T) {
			rec := srv.apiBearer(http.MethodPost, "/api/v1/tokens/"+created.ID+"/reset", mgr, map[string]string{"grace": "1h"})
			var got apiTokenBody
			apiJSON(t, rec, &got)
			if rec.Code != http.StatusOK || got.Token == "" || got.Token == created.Token || rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("reset %d %s", rec.Code, rec.Body.String())
			}
			if got.OldSecretValidUntil == nil {
				t.Error("no old_secret_valid_until with a grace period")
			}
			_, svc := srv.apiToken("service", nil)
			for _, p := range []string{created.Token, got.Token} {
				if a := srv.apiVerify(svc, map[string]string{"token": p, "ip": "203.0.113.4"}); !a.Valid {
					t.Fatalf("during grace: %+v", a)
				}
			}
			rec = srv.apiBearer(http.MethodPost, "/api/v1/tokens/"+created.ID+"/reset", mgr, nil)
			apiJSON(t, rec, &got)
			if rec.Code != http.StatusOK {
				t.Fatalf("reset without grace: %d", rec.Code)
			}
			if a := srv.apiVerify(svc, map[string]string{"token": created.Token, "ip": "203.0.113.4"}); a.Code != "invalid_key" {
				t.Fatalf("old secret after a reset without grace: %+v", a)
			}
			created.Token = got.Token
			rec = srv.apiBearer(http.MethodPost, "/api/v1/tokens/"+created.ID+"/reset", mgr, map[string]string{"grace": "2d"})
			apiExpectError(t, rec, http.StatusUnprocessableEntity, "validation_failed")
		})
		t.Run("delete revokes for good", func(t *testing.T) {
			rec := srv.apiBearer(http.MethodDelete, "/api/v1/tokens/"+created.ID, mgr, nil)
			var got apiTokenBody
			apiJSON(t, rec, &got)
			if rec.Code != http.StatusOK || got.RevokedAt == nil || got.Status != "revoked" {
				t.Fatalf("delete %d %s", rec.Code, rec.Body.String())
			}
			_, svc := srv.apiToken("service", nil)
			if a := srv.apiVerify(svc, map[string]string{"token": created.Token, "ip": "203.0.113.4"}); a.Code != "revoked_key" {
				t.Fatalf("after delete: %+v", a)
			}
			for _, req := range []struct {
				method, path string
				body         any
			}{
				{http.MethodDelete, "/api/v1/tokens/" + created.ID, nil},
				{http.MethodPost, "/api/v1/tokens/" + created.ID + "/reset", nil},
				{http.MethodPatch, "/api/v1/tokens/" + created.ID, map[string]string{"name": "again"}},
			} {
				apiExpectError(t, srv.apiBearer(req.method, req.path, mgr, req.body), http.StatusConflict, "already_revoked")
			}
			evs, _, err := srv.s.AuditEvents(ctx, models.AuditFilter{WorkspaceID: srv.ws.ID, TargetID: created.ID})
			if err != nil {
				t.Fatal(err)
			}
			actions := map[string]bool{}
			for _, ev := range evs {
				actions[ev.Action] = ev.ActorType == "token"
			}
			for _, a := range []string{models.ActionTokenCreated, models.ActionTokenUpdated, models.ActionTokenReset, models.ActionTokenRevoked} {
				if !actions[a] {
					t.Errorf("no %s event by a token actor: %v", a, actions)
				}
			}
		})
	})
}
