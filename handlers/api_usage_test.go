package handlers_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/keyward/keyward/models"
)

// TestAPIUsageSurvivesShutdown: calls counted in memory are written when the
// background jobs stop, as at graceful shutdown.
func TestAPIUsageSurvivesShutdown(t *testing.T) {
	apiEachServer(t, nil, func(t *testing.T, srv *apiServer) {
		bg := srv.h.Start(context.Background())
		_, svc := srv.apiToken("service", nil)
		tok, user := srv.apiToken("personal", nil)
		const n = 120
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				scope := "read"
				if i%3 == 0 {
					scope = "write"
				}
				srv.apiVerify(svc, map[string]string{"token": user, "scope": scope, "endpoint": "GET /notes", "ip": "198.51.100.20"})
			})
		}
		wg.Wait()
		bg.Stop(context.Background())
		total, err := srv.s.UsageTotal(context.Background(), tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if total != n {
			t.Fatalf("usage total %d, want %d", total, n)
		}
		rows, err := srv.s.UsageByToken(context.Background(), tok.ID, srv.now())
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[string]int64{}
		for _, r := range rows {
			outcomes[r.Outcome] += r.Count
		}
		if outcomes["ok"] != n*2/3 || outcomes[models.CodeInsufficientPermissions] != n/3 {
			t.Errorf("outcomes %v", outcomes)
		}
		got, err := srv.s.TokenByPublicID(context.Background(), srv.ws.ID, tok.PublicID)
		if err != nil || got.LastUsedAt == nil || got.LastUsedIP != "198.51.100.20" {
			t.Fatalf("last use %+v %v", got, err)
		}
		if rec := srv.apiBearer(http.MethodGet, "/api/v1/token", svc, nil); rec.Code != http.StatusOK {
			t.Fatal(rec.Code)
		}
	})
}
