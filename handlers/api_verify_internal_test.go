package handlers

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/keyward/keyward/guard"
)

// FuzzParseVerifyBody: whenever the hand-written parser accepts a body,
// encoding/json (strict, as the fallback runs it) reads the same values.
func FuzzParseVerifyBody(f *testing.F) {
	for _, s := range []string{
		`{"token":"pat_abc12def_x","scope":"read"}`,
		` { "token" : "a" , "ip":"192.0.2.1", "endpoint":"GET /x", "method":"GET", "audience":"notes" } `,
		`{}`, `{"token":"a","token":"b"}`, `{"Token":"a"}`, `{"token":"a\"b"}`, `{"token":null}`,
		`{"token":"é"}`, "{\"token\":\"\xff\"}", `{"token":"a"}x`, `{"token":"a",}`, `[]`, `{"scopes":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast guard.VerifyRequestBody
		if !parseVerifyBody(data, &fast) {
			return
		}
		var slow guard.VerifyRequestBody
		if err := decodeJSONFrom(bytes.NewReader(data), &slow); err != nil {
			t.Fatalf("fast parser accepted %q, encoding/json refused: %v", data, err)
		}
		if fast != slow {
			a, _ := json.Marshal(fast)
			b, _ := json.Marshal(slow)
			t.Fatalf("%q: fast %s, encoding/json %s", data, a, b)
		}
	})
}
