package guard_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/keyward/keyward/guard"
	"github.com/keyward/keyward/models"
)

// TestAppendJSONMatchesEncodingJSON: the hand-written encoder of the verify
// answer writes exactly what encoding/json writes.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)
	info := &models.TokenInfo{ID: "abc12def", Name: `Ann's "CI" <bot> & co`, Type: "personal", Scopes: []string{"read"},
		Attributes: []string{}, Workspace: models.WorkspaceRef{ID: 7, Slug: "acme"}, ExpiresAt: &exp}
	for _, r := range []guard.VerifyResponse{
		{},
		{Valid: true, Code: "ok", Status: 200, Token: info, RateLimit: &models.RateLimit{Limit: 0, Reset: exp}},
		{Code: "expired_key", Status: 401, Message: "This API key expired at 2030.", ExpiredAt: &exp, Token: info,
			RateLimit: &models.RateLimit{Limit: 100, Remaining: 3, Reset: exp.Add(time.Hour), Window: "day"}},
		{Code: "rate_limited", Status: 429, RetryAfter: 30, Message: "tab\there\nnew \\ \"q\" \x01 \x7f é 漢 \u2028 \u2029 \xff \b\f"},
	} {
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
		}
	}
}
