// Package retry runs an operation again, with exponential backoff and
// jitter, until it succeeds, fails with an error not worth retrying, or a
// time budget runs out. Clients use it around master RPCs (base 50ms, cap
// 3s, total 2min by default): each attempt finds the leader again.
package retry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults used for zero fields of Policy, and by Default.
const (
	DefaultBaseSleep   = 50 * time.Millisecond
	DefaultMaxSleep    = 3 * time.Second
	DefaultMaxDuration = 2 * time.Minute
)

// Policy is an exponential, time-bounded retry policy. The sleep before
// attempt n+1 is about BaseSleep*2^(n-1), capped at MaxSleep, with jitter.
type Policy struct {
	BaseSleep time.Duration // first sleep; 0 means DefaultBaseSleep
	MaxSleep  time.Duration // longest sleep; 0 means DefaultMaxSleep
	// MaxDuration bounds the time from the first attempt; no attempt starts
	// after it. 0 means no bound other than the context.
	MaxDuration time.Duration
}

// Default returns the client's default policy: 50ms, 3s, 2min.
func Default() Policy {
	return Policy{BaseSleep: DefaultBaseSleep, MaxSleep: DefaultMaxSleep, MaxDuration: DefaultMaxDuration}
}

// Backoff returns the sleep, before jitter, after failed attempt n (1-based).
func (p Policy) Backoff(n int) time.Duration {
	base, max := p.BaseSleep, p.MaxSleep
	if base <= 0 {
		base = DefaultBaseSleep
	}
	if max <= 0 {
		max = DefaultMaxSleep
	}
	if max < base {
		max = base
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// Do calls op with attempt = 1, 2, ... until it returns nil, an error for
// which retryable returns false (a nil retryable retries every error), the
// time budget would be exceeded by the next sleep, or ctx is done.
//
// A non-retryable error is returned as is. When giving up, Do returns the
// last error wrapped with the number of attempts and the time spent; when
// ctx ends, the error wraps both ctx.Err() and the last error.
func (p Policy) Do(ctx context.Context, op func(ctx context.Context, attempt int) error, retryable func(error) bool) error {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := op(ctx, attempt)
		if err == nil {
			return nil
		}
		if retryable != nil && !retryable(err) {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("retry: stopped after %d attempts in %v (%w): %w", attempt, since(start), cerr, err)
		}
		sleep := jitter(p.Backoff(attempt))
		if p.MaxDuration > 0 && time.Since(start)+sleep > p.MaxDuration {
			return fmt.Errorf("retry: gave up after %d attempts in %v: %w", attempt, since(start), err)
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("retry: stopped after %d attempts in %v (%w): %w", attempt, since(start), ctx.Err(), err)
		case <-t.C:
		}
	}
}

func since(t time.Time) time.Duration {
	return time.Since(t).Round(time.Millisecond)
}
