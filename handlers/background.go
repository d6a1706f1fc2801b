package handlers

import (
	"context"
	"sync"
	"time"
)

// Background runs the server's periodic jobs: the expiry sweep and session
// clean-up. Stop waits for them to finish their current round.
type Background struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stops  []func(context.Context)
}

// SweepInterval is how often expired tokens are revoked.
const SweepInterval = time.Minute

// Start launches the background jobs; they end when ctx ends or Stop is called.
func (h *Handler) Start(ctx context.Context) *Background {
	ctx, cancel := context.WithCancel(ctx)
	b := &Background{cancel: cancel}
	b.every(ctx, SweepInterval, func(ctx context.Context) {
		if n, err := h.store.SweepExpired(ctx); err != nil {
			h.log.Error("expiry sweep failed", "err", err)
		} else if n > 0 {
			h.log.Info("revoked expired tokens", "count", n)
		}
		if err := h.store.PurgeSessions(ctx, h.cfg.SessionIdle); err != nil {
			h.log.Error("session purge failed", "err", err)
		}
	})
	return b
}

func (b *Background) every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn(ctx)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}()
}

// Stop ends the jobs and runs their final steps (such as a last flush).
func (b *Background) Stop(ctx context.Context) {
	b.cancel()
	b.wg.Wait()
	for _, fn := range b.stops {
		fn(ctx)
	}
}
