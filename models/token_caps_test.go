package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward/models"
)

// TestCreateTokenCapsUnderConcurrency fires 50 creates at once against a cap
// and checks exactly the cap succeeds, the rest are refused with the cap
// message, and every refusal left nothing behind.
func TestCreateTokenCapsUnderConcurrency(t *testing.T) {
	tests := []struct {
		name      string
		policy    string
		typ       string
		cap       int
		perMember bool
	}{
		{"workspace cap of 5", "activity-profile-read.yaml", "activity", 5, false},
		{"user cap of 10", "personal-tokens.yaml", "personal", 10, true},
	}
	const attempts = 50
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			models.EachTestStore(t, func(t *testing.T, s *models.Store) {
				ctx := context.Background()
				f := newTokenFixture(t, s, tc.policy)
				in := f.input(tc.typ)
				var (
					wg      sync.WaitGroup
					mu      sync.Mutex
					created int
					capped  int
					other   []error
				)
				start := make(chan struct{})
				for i := range attempts {
					wg.Add(1)
					go func() {
						defer wg.Done()
						in := in
						in.Name = fmt.Sprintf("concurrent %d", i)
						<-start
						_, _, err := s.CreateToken(ctx, f.p, f.ws, f.admin, f.actor, in)
						mu.Lock()
						defer mu.Unlock()
						var fe models.FieldErrors
						switch {
						case err == nil:
							created++
						case errors.As(err, &fe) && fe["cap"] != "":
							capped++
						default:
							other = append(other, err)
						}
					}()
				}
				close(start)
				wg.Wait()
				if len(other) > 0 {
					t.Fatalf("unexpected errors: %v", other)
				}
				if created != tc.cap || capped != attempts-tc.cap {
					t.Errorf("created %d, refused %d; want %d and %d", created, capped, tc.cap, attempts-tc.cap)
				}
				if n := f.rows("tokens"); n != int64(tc.cap) {
					t.Errorf("%d token rows, want %d", n, tc.cap)
				}
				evs := f.events(models.ActionTokenCreated, "")
				if len(evs) != tc.cap {
					t.Errorf("%d token.created events, want %d", len(evs), tc.cap)
				}
				creator := int64(0)
				if tc.perMember {
					creator = f.admin.ID
				}
				if n, err := s.ActiveTokenCount(ctx, f.ws.ID, creator); err != nil || n != int64(tc.cap) {
					t.Errorf("ActiveTokenCount = %d, %v", n, err)
				}

				// The message explains the cap; a revoked token frees a place.
				_, _, err := s.CreateToken(ctx, f.p, f.ws, f.admin, f.actor, in)
				if fe := tokFieldErrors(t, err); fe["cap"] == "" {
					t.Errorf("one more create: %v", fe)
				} else if want := fmt.Sprintf("%d active tokens", tc.cap); !strings.Contains(fe["cap"], want) {
					t.Errorf("cap message %q does not say %q", fe["cap"], want)
				}
				list, _, _ := s.TokensByWorkspace(ctx, models.TokenQuery{WorkspaceID: f.ws.ID})
				if _, err := s.RevokeToken(ctx, f.ws.ID, list[0].PublicID, f.actor, models.RevokeManual); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.CreateToken(ctx, f.p, f.ws, f.admin, f.actor, in); err != nil {
					t.Errorf("create after a revoke: %v", err)
				}

				if tc.perMember {
					// The cap is per person: someone else still has room.
					other := f.seedMember(fmt.Sprintf("second%d@example.com", tokFixtureSeq.Add(1)), models.RoleManager)
					if _, _, err := s.CreateToken(ctx, f.p, f.ws, other, f.actor, in); err != nil {
						t.Errorf("another user's create: %v", err)
					}
				} else {
					// The workspace cap counts every creator.
					other := f.seedMember(fmt.Sprintf("second%d@example.com", tokFixtureSeq.Add(1)), models.RoleManager)
					_, _, err := s.CreateToken(ctx, f.p, f.ws, other, f.actor, in)
					if fe := tokFieldErrors(t, err); fe["cap"] == "" {
						t.Errorf("another user's create passed the workspace cap: %v", fe)
					}
					// ...and only this workspace's tokens.
					_, otherWS := f.seedAdmin(fmt.Sprintf("third%d@example.com", tokFixtureSeq.Add(1)), fmt.Sprintf("Elsewhere %d", tokFixtureSeq.Add(1)))
					if _, _, err := s.CreateToken(ctx, f.p, otherWS, f.admin, f.actor, in); err != nil {
						t.Errorf("create in another workspace: %v", err)
					}
				}
			})
		})
	}
}
