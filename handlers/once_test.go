package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward/models"
)

var formIDInput = regexp.MustCompile(`name="form_id" value="([^"]+)"`)

// A form whose answer reveals a secret, sent twice (a reload of the answer,
// a double click), makes one token and reveals one secret.
func TestSecretFormsAreOneTime(t *testing.T) {
	eachServer(t, nil, func(t *testing.T, srv *testServer) {
		_, ws := srv.seedAdmin("admin@example.com", "Acme")
		c := srv.client()
		c.signIn("admin@example.com", testPassword)
		page := body(c.get("/w/acme/tokens/new?type=personal"))
		m := formIDInput.FindStringSubmatch(page)
		if m == nil {
			t.Fatal("new-token form has no form_id")
		}
		form := url.Values{"form_id": {m[1]}, "type": {"personal"}, "name": {"once"}, "scopes": {"read"}, "expires_in": {"7d"}}
		first := c.post("/w/acme/tokens", form)
		if first.Code != http.StatusCreated || !strings.Contains(body(first), "token-value") {
			t.Fatalf("first submission: %d", first.Code)
		}
		second := c.post("/w/acme/tokens", form)
		if second.Code != http.StatusSeeOther || strings.Contains(body(second), "token-value") {
			t.Fatalf("second submission: %d, want a redirect without a secret", second.Code)
		}
		if loc := second.Header().Get("Location"); !strings.HasPrefix(loc, "/w/acme/tokens/") {
			t.Errorf("second submission goes to %q, want the token's page", loc)
		}
		n, err := srv.Store.ActiveTokenCount(context.Background(), ws.ID, 0)
		if err != nil || n != 1 {
			t.Fatalf("tokens: %d, %v; want 1", n, err)
		}
		toks, _, _ := srv.Store.TokensByWorkspace(context.Background(), models.TokenQuery{WorkspaceID: ws.ID})
		path := "/w/acme/tokens/" + toks[0].PublicID + "/reset"
		m = formIDInput.FindStringSubmatch(body(c.get(path)))
		if m == nil {
			t.Fatal("reset confirmation has no form_id")
		}
		reset := url.Values{"form_id": {m[1]}, "grace": {"0"}}
		if rec := c.post(path, reset); rec.Code != http.StatusOK {
			t.Fatalf("reset: %d", rec.Code)
		}
		after, _ := srv.Store.TokenByPublicID(context.Background(), ws.ID, toks[0].PublicID)
		if rec := c.post(path, reset); rec.Code != http.StatusSeeOther {
			t.Fatalf("repeated reset: %d, want 303", rec.Code)
		}
		again, _ := srv.Store.TokenByPublicID(context.Background(), ws.ID, toks[0].PublicID)
		if again.SecretHash != after.SecretHash {
			t.Error("a repeated reset changed the secret again")
		}
	})
}
