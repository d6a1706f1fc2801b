package handlers_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

// planPolicy is the built-in policy with the starter plan's limits.
func planPolicy() *models.Policy {
	p := models.DefaultPolicy()
	p.Plans["standard"] = models.Plan{Name: "standard", Daily: 3, PerMinute: 10}
	return p
}

func TestAPIRateLimited(t *testing.T) {
	apiEachServer(t, planPolicy(), func(t *testing.T, srv *apiServer) {
		_, plain := srv.apiToken("personal", nil)
		midnight := models.NextMidnightUTC(srv.now())
		for i := 1; i <= 3; i++ {
			rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("call %d: %d", i, rec.Code)
			}
			limit, remaining, reset := apiExpectRateHeaders(t, rec)
			if limit != "3" || remaining != strconv.Itoa(3-i) || !reset.Equal(midnight) {
				t.Fatalf("call %d: limit %s remaining %s reset %s", i, limit, remaining, reset)
			}
		}
		rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil)
		b := apiExpectError(t, rec, http.StatusTooManyRequests, "rate_limited")
		if !strings.Contains(b.Error.Message, "Resets at "+midnight.Format(time.RFC3339)) {
			t.Errorf("message %q does not name the reset time", b.Error.Message)
		}
		wantRetry := strconv.Itoa(int(midnight.Sub(srv.now()).Seconds()))
		if got := rec.Header().Get("Retry-After"); got != wantRetry {
			t.Errorf("Retry-After %q, want %s", got, wantRetry)
		}
		if _, remaining, _ := apiExpectRateHeaders(t, rec); remaining != "0" {
			t.Errorf("remaining %s", remaining)
		}

		// Refusals for other reasons carry the headers and use nothing up.
		rec = srv.apiBearer(http.MethodGet, "/api/v1/tokens", plain, nil)
		apiExpectError(t, rec, http.StatusForbidden, "insufficient_permissions")
		apiExpectRateHeaders(t, rec)

		// A new UTC day, a new quota.
		srv.advance(midnight.Sub(srv.now()))
		if rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil); rec.Code != http.StatusOK {
			t.Fatalf("after midnight: %d", rec.Code)
		}
	})
}

func TestAPIRateLimitPerMinute(t *testing.T) {
	p := models.DefaultPolicy()
	p.Plans["standard"] = models.Plan{Name: "standard", PerMinute: 2}
	srv := apiNewServer(t, models.OpenTestSQLite(t), p, nil)
	_, plain := srv.apiToken("personal", nil)
	for range 2 {
		if rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil); rec.Code != http.StatusOK {
			t.Fatal(rec.Code)
		}
	}
	rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil)
	apiExpectError(t, rec, http.StatusTooManyRequests, "rate_limited")
	if got := rec.Header().Get("Retry-After"); got != "30" {
		t.Errorf("Retry-After %q, want 30", got)
	}
	if limit, _, _ := apiExpectRateHeaders(t, rec); limit != "2" {
		t.Errorf("limit %s, want the minute's 2", limit)
	}
}

// TestAPIVerifyCountsTheVerifiedToken: through the verify endpoint the quota
// used is the presented token's; the calling service's own is not touched.
func TestAPIVerifyCountsTheVerifiedToken(t *testing.T) {
	apiEachServer(t, planPolicy(), func(t *testing.T, srv *apiServer) {
		_, svc := srv.apiToken("service", nil)
		_, ws2 := srv.apiWorkspace("other-rl@example.com", "Rate Other")
		_, user := srv.apiTokenIn(ws2, "personal", nil)
		for i := 1; i <= 3; i++ {
			a := srv.apiVerify(svc, map[string]string{"token": user})
			if !a.Valid || a.RateLimit == nil || a.RateLimit.Remaining != 3-i || a.RateLimit.Limit != 3 {
				t.Fatalf("call %d: %+v %+v", i, a, a.RateLimit)
			}
		}
		rec := srv.apiBearer(http.MethodPost, "/api/v1/verify", svc, map[string]string{"token": user})
		var a apiVerifyAnswer
		apiJSON(t, rec, &a)
		if a.Valid || a.Code != "rate_limited" || a.Status != 429 || a.RetryAfter <= 0 || !strings.Contains(a.Message, "Resets at") {
			t.Fatalf("4th: %+v", a)
		}
		// The service's headers describe its own quota, still untouched.
		if limit, remaining, _ := apiExpectRateHeaders(t, rec); limit != "3" || remaining != "3" {
			t.Errorf("service quota: limit %s remaining %s", limit, remaining)
		}

		// A service whose own workspace has used up its quota still gets answers.
		_, local := srv.apiToken("personal", nil)
		for range 3 {
			srv.apiVerify(svc, map[string]string{"token": local})
		}
		if a := srv.apiVerify(svc, map[string]string{"token": local}); a.Code != "rate_limited" {
			t.Fatalf("local token: %+v", a)
		}
		if a := srv.apiVerify(svc, map[string]string{"token": user}); a.Code != "rate_limited" {
			t.Fatalf("the verify endpoint refused the service itself: %+v", a)
		}
	})
}

func TestAPIUnlimitedHeaders(t *testing.T) {
	srv := apiNewServer(t, models.OpenTestSQLite(t), nil, nil)
	_, plain := srv.apiToken("personal", nil)
	rec := srv.apiBearer(http.MethodGet, "/api/v1/token", plain, nil)
	limit, remaining, reset := apiExpectRateHeaders(t, rec)
	if limit != "unlimited" || remaining != "unlimited" || !reset.Equal(models.NextMidnightUTC(srv.now())) {
		t.Errorf("unlimited plan: %s %s %s", limit, remaining, reset)
	}
}
