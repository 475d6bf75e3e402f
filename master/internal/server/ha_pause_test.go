package server

import (
	"testing"
	"time"
)

func TestFailedTermPause(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 5 * time.Second}, {50, 5 * time.Second}} {
		if got := failedTermPause(tt.n); got != tt.want {
			t.Errorf("failedTermPause(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}
