package handlers

import (
	"context"
	"sync"
	"time"

	"github.com/keyward/keyward/models"
)

// Background runs the server's periodic jobs: the expiry sweep, session
// clean-up, usage flushes and the token-change listener. Stop waits for them
// to finish their current round, then writes the last usage counts.
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
	if h.usage != nil {
		b.every(ctx, models.UsageFlushInterval, func(ctx context.Context) {
			if err := h.usage.Flush(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("usage flush failed; will retry", "err", err)
			}
		})
		b.stops = append(b.stops, func(ctx context.Context) { _ = h.usage.Stop(ctx) })
	}
	if h.listener != nil {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			_ = h.listener.Run(ctx)
		}()
	}
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
