package journalstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestPollBound: poll gives up at its limit, once: a done that never
// reports true, and a done stuck in a call (an RPC that does not answer),
// which gets the limited context and is cut short by it.
func TestPollBound(t *testing.T) {
	const limit = 200 * time.Millisecond
	for _, tc := range []struct {
		name string
		done func(ctx context.Context) (bool, error)
	}{
		{"never done", func(context.Context) (bool, error) { return false, nil }},
		{"stuck call", func(ctx context.Context) (bool, error) {
			<-ctx.Done()
			return false, ctx.Err()
		}},
	} {
		start := time.Now()
		err := poll(context.Background(), limit, tc.done)
		took := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not done within 200ms") {
			t.Errorf("%s: err = %v; want one saying it was not done within the limit, wrapping DeadlineExceeded", tc.name, err)
		}
		if took < limit || took > limit+time.Second {
			t.Errorf("%s: poll took %v; want the limit %v once", tc.name, took, limit)
		}
	}
}

// TestPollDone: poll returns as soon as done does, with done's error as
// is, and the caller's cancellation as is (not as the limit).
func TestPollDone(t *testing.T) {
	calls := 0
	if err := poll(context.Background(), time.Minute, func(context.Context) (bool, error) {
		calls++
		return calls == 3, nil
	}); err != nil || calls != 3 {
		t.Errorf("poll = %v after %d calls; want nil after 3", err, calls)
	}
	boom := errors.New("boom")
	if err := poll(context.Background(), time.Minute, func(context.Context) (bool, error) { return false, boom }); err != boom {
		t.Errorf("poll = %v; want done's error as is", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := poll(ctx, time.Minute, func(ctx context.Context) (bool, error) { return false, ctx.Err() })
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "not done within") {
		t.Errorf("poll with a canceled context = %v; want context.Canceled as is", err)
	}
}
