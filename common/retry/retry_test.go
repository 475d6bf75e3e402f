package retry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var errTransient = errors.New("transient")
var errFatal = errors.New("fatal")

func isTransient(err error) bool { return errors.Is(err, errTransient) }

func TestDo(t *testing.T) {
	p := Policy{BaseSleep: time.Millisecond, MaxSleep: 4 * time.Millisecond, MaxDuration: 100 * time.Millisecond}
	tests := []struct {
		name         string
		fail         int   // attempts that fail before success (-1: always)
		err          error // the failure
		wantAttempts int
		wantErr      []error
		wantMsg      string
	}{
		{"first try", 0, errTransient, 1, nil, ""},
		{"succeeds after retries", 3, errTransient, 4, nil, ""},
		{"non-retryable", -1, errFatal, 1, []error{errFatal}, "fatal"},
		{"gives up", -1, errTransient, 0, []error{errTransient}, "retry: gave up after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attempts := 0
			start := time.Now()
			err := p.Do(context.Background(), func(ctx context.Context, attempt int) error {
				attempts++
				if attempt != attempts {
					t.Errorf("attempt = %d, want %d", attempt, attempts)
				}
				if tt.fail < 0 || attempt <= tt.fail {
					return tt.err
				}
				return nil
			}, isTransient)
			for _, w := range tt.wantErr {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			}
			if tt.wantErr == nil && err != nil {
				t.Errorf("err = %v", err)
			}
			if tt.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tt.wantMsg)) {
				t.Errorf("err = %v, want %q", err, tt.wantMsg)
			}
			if tt.wantAttempts > 0 && attempts != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", attempts, tt.wantAttempts)
			}
			if tt.wantAttempts == 0 {
				// Gave up: within the budget, after several attempts.
				if el := time.Since(start); el > p.MaxDuration+time.Second {
					t.Errorf("took %v, budget %v", el, p.MaxDuration)
				}
				if attempts < 5 {
					t.Errorf("only %d attempts", attempts)
				}
			}
		})
	}
}

func TestDoNilRetryable(t *testing.T) {
	p := Policy{BaseSleep: time.Microsecond, MaxSleep: time.Microsecond, MaxDuration: time.Second}
	n := 0
	err := p.Do(context.Background(), func(context.Context, int) error {
		n++
		if n < 3 {
			return errFatal
		}
		return nil
	}, nil)
	if err != nil || n != 3 {
		t.Fatalf("err %v after %d attempts", err, n)
	}
}

func TestDoContext(t *testing.T) {
	p := Policy{BaseSleep: time.Hour, MaxSleep: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Do(ctx, func(context.Context, int) error { return errTransient }, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errTransient) {
		t.Errorf("err = %v, want deadline and last error", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("did not respect ctx")
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	called := false
	err = p.Do(ctx, func(context.Context, int) error { called = true; return nil }, nil)
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("canceled ctx: err %v called %v", err, called)
	}
}

func TestBackoff(t *testing.T) {
	p := Policy{BaseSleep: 50 * time.Millisecond, MaxSleep: 3 * time.Second}
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 3000, 3000}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w*time.Millisecond {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := (Policy{}).Backoff(1); got != DefaultBaseSleep {
		t.Errorf("zero policy backoff %v", got)
	}
	if Default().MaxDuration != 2*time.Minute {
		t.Error("Default")
	}
	for i := 0; i < 100; i++ {
		if j := jitter(time.Second); j < 500*time.Millisecond || j > time.Second {
			t.Fatalf("jitter %v", j)
		}
	}
}
