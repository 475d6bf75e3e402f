package conf

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

var durationUnits = map[string]time.Duration{
	"":     time.Millisecond,
	"ns":   time.Nanosecond,
	"us":   time.Microsecond,
	"ms":   time.Millisecond,
	"msec": time.Millisecond, "millis": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40,
	"p": 1 << 50, "pb": 1 << 50,
}

// splitNumber splits "1.5 GB" into "1.5" and "gb". The number is digits with
// an optional fraction; the unit is letters, lower-cased.
func splitNumber(s string) (num, unit string, ok bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 {
			return "", "", false
		}
		i = j
	}
	num = s[:i]
	if len(num) > 64 {
		return "", "", false
	}
	rest := strings.TrimLeft(s[i:], " \t")
	for k := 0; k < len(rest); k++ {
		c := rest[k] | 0x20
		if c < 'a' || c > 'z' {
			return "", "", false
		}
	}
	return num, strings.ToLower(rest), true
}

// scale returns num*unit truncated to an integer, or false on overflow.
func scale(num string, unit int64) (int64, bool) {
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, false
	}
	r.Mul(r, new(big.Rat).SetInt64(unit))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// ParseDuration parses an Alluxio duration: a non-negative number, optionally
// with a fraction, and a case-insensitive unit: ns, us, ms (millis), s (sec,
// second), m (min, minute), h (hr, hour), d (day), singular or plural. A bare
// number is milliseconds. Examples: "500ms", "60s", "60sec", "2min", "1h",
// "1day", "1.5s".
func ParseDuration(s string) (time.Duration, error) {
	num, unit, ok := splitNumber(s)
	if !ok {
		return 0, fmt.Errorf("conf: invalid duration %q (want e.g. 500ms, 60s, 2min, 1h)", s)
	}
	u, ok := durationUnits[unit]
	if !ok {
		return 0, fmt.Errorf("conf: invalid duration %q: unknown unit %q (want ms, s, min, h or day)", s, unit)
	}
	n, ok := scale(num, int64(u))
	if !ok {
		return 0, fmt.Errorf("conf: invalid duration %q: too large", s)
	}
	return time.Duration(n), nil
}

// ParseBytes parses an Alluxio size: a non-negative number, optionally with a
// fraction, and a case-insensitive unit B, KB, MB, GB, TB or PB (the B may be
// left out; units are powers of 1024). A bare number is bytes. Examples:
// "64MB", "1GB", "1.5GB", "512KB", "10B".
func ParseBytes(s string) (int64, error) {
	num, unit, ok := splitNumber(s)
	if !ok {
		return 0, fmt.Errorf("conf: invalid size %q (want e.g. 64MB, 1GB, 512KB)", s)
	}
	u, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("conf: invalid size %q: unknown unit %q (want B, KB, MB, GB, TB or PB)", s, unit)
	}
	n, ok := scale(num, u)
	if !ok {
		return 0, fmt.Errorf("conf: invalid size %q: too large", s)
	}
	return n, nil
}

// FormatBytes formats a size the way Alluxio prints one: two decimals and
// the largest unit that keeps the number at least 1, e.g. "10.00B",
// "1.00KB", "64.00MB", "1.50GB". ParseBytes accepts the result.
func FormatBytes(n int64) string {
	sign := ""
	v := float64(n)
	if n < 0 {
		sign = "-"
		v = -v
	}
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	// Do not print 1024.00KB when rounding reaches the next unit.
	if math.Round(v*100)/100 >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%s%.2f%s", sign, v, units[i])
}
