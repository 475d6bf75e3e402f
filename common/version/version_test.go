package version

import (
	"runtime"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	s := String()
	if !strings.HasPrefix(s, Version+" (") || !strings.Contains(s, runtime.Version()) {
		t.Errorf("String() = %q", s)
	}
	if Get().Version != "dev" {
		t.Errorf("Version = %q, want dev in tests", Get().Version)
	}
}
