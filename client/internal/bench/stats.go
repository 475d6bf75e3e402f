package bench

import (
	"fmt"
	"sort"
	"time"
)

// Latencies summarises a set of operation latencies.
type Latencies struct {
	N              int
	P50, P99, P999 time.Duration
	Mean, Max      time.Duration
}

// summarize sorts d in place and returns its percentiles.
func summarize(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	pct := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.5) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(d) {
			i = len(d) - 1
		}
		return d[i]
	}
	return Latencies{N: len(d), P50: pct(0.50), P99: pct(0.99), P999: pct(0.999), Mean: sum / time.Duration(len(d)), Max: d[len(d)-1]}
}

// fmtDur prints a latency with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// fmtNum prints a rate or count with thousands separators.
func fmtNum(v float64) string {
	if v >= 100 {
		s := fmt.Sprintf("%.0f", v)
		var out []byte
		for i := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				out = append(out, ',')
			}
			out = append(out, s[i])
		}
		return string(out)
	}
	if v >= 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// fmtBytesRate prints bytes per second in MB/s or GB/s (decimal).
func fmtBytesRate(v float64) string {
	if v >= 1e9 {
		return fmt.Sprintf("%.2f GB/s", v/1e9)
	}
	return fmt.Sprintf("%.0f MB/s", v/1e6)
}

// fmtBytes prints a size in binary units.
func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
