package conf

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"500ms", 500 * time.Millisecond},
		{"500", 500 * time.Millisecond},
		{"60s", time.Minute},
		{"60sec", time.Minute},
		{"60 SEC", time.Minute},
		{"2min", 2 * time.Minute},
		{"2m", 2 * time.Minute},
		{"1h", time.Hour},
		{"1hour", time.Hour},
		{"1day", 24 * time.Hour},
		{"1d", 24 * time.Hour},
		{"1.5s", 1500 * time.Millisecond},
		{"3Sec", 3 * time.Second},
		{"0", 0},
		{" 5s ", 5 * time.Second},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "abc", "-1s", "1x", "1.s", ".5s", "s", "1e3", "99999999999999999999d", "1 2s"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want error", bad, d)
		}
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"10B", 10},
		{"10", 10},
		{"512KB", 512 << 10},
		{"512kb", 512 << 10},
		{"64MB", 64 << 20},
		{"64m", 64 << 20},
		{"1GB", 1 << 30},
		{"1.5GB", 3 << 29},
		{"10GB", 10 << 30},
		{"1TB", 1 << 40},
		{"2PB", 2 << 50},
		{"1.00KB", 1024},
		{"0", 0},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseBytes(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "MB", "-1MB", "1XB", "1.MB", "10000000PB", "1 2"} {
		if n, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) = %v, want error", bad, n)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0.00B"},
		{10, "10.00B"},
		{1023, "1023.00B"},
		{1024, "1.00KB"},
		{64 << 20, "64.00MB"},
		{3 << 29, "1.50GB"},
		{1<<20 - 1, "1.00MB"},
		{-2048, "-2.00KB"},
		{1 << 62, "4096.00PB"},
	}
	for _, tt := range tests {
		if got := FormatBytes(tt.in); got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"500ms", "60s", "2min", "1.5h", "1day", "", "x", "9999999999999999999s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v < 0", s, d)
		}
	})
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"64MB", "1.5GB", "10", "1b", "", "pb", "8388608PB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseBytes(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseBytes(%q) = %d < 0", s, n)
		}
		if n > 1<<62 {
			return // FormatBytes may round up past the largest int64
		}
		// FormatBytes output parses back to within rounding of two decimals.
		back, err := ParseBytes(FormatBytes(n))
		if err != nil {
			t.Fatalf("ParseBytes(FormatBytes(%d)=%q): %v", n, FormatBytes(n), err)
		}
		if diff := float64(back - n); n > 0 && (diff/float64(n) > 0.01 || diff/float64(n) < -0.01) {
			t.Fatalf("round trip of %d gave %d", n, back)
		}
	})
}
