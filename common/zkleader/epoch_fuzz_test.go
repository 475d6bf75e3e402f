package zkleader

import (
	"strconv"
	"testing"
)

// FuzzParseEpoch checks that the epoch stored in ZooKeeper parses to a
// non-negative number that parses back from its decimal form.
func FuzzParseEpoch(f *testing.F) {
	for _, s := range []string{"", "0", "42\n", " 7 ", "-1", "9223372036854775807", "9223372036854775808", "+5", "0x10", "1e3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseEpoch(b)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseEpoch(%q) = %d", b, n)
		}
		if m, err := parseEpoch([]byte(strconv.FormatInt(n, 10))); err != nil || m != n {
			t.Fatalf("parseEpoch(%q) = %d, which does not parse back: %d, %v", b, n, m, err)
		}
	})
}
