package conf

import (
	"slices"
	"strings"
	"testing"
)

// dirs.quota is a bytes list: one size, or one per directory of dirs.path.
func TestBytesList(t *testing.T) {
	const key = "alluxio.worker.tieredstore.level1.dirs.quota"
	for _, tc := range []struct {
		value, wantGet string
		want           []int64
	}{
		{"100GB", "100GB", []int64{100 << 30}},
		{"100GB,200GB", "100GB,200GB", []int64{100 << 30, 200 << 30}},
		{" 1MB , 1.5KB,10 ", "1MB,1.5KB,10", []int64{1 << 20, 1536, 10}},
	} {
		c, err := FromMap(map[string]string{key: tc.value})
		if err != nil {
			t.Fatalf("%q: %v", tc.value, err)
		}
		if got := c.GetBytesList(key); !slices.Equal(got, tc.want) {
			t.Errorf("GetBytesList(%q) = %v, want %v", tc.value, got, tc.want)
		}
		if got := c.Get(key); got != tc.wantGet {
			t.Errorf("Get(%q) = %q, want %q", tc.value, got, tc.wantGet)
		}
	}
	if p, _ := Lookup(key); p.Type != TypeBytesList || p.Type.String() != "bytes list" {
		t.Errorf("%s is a %v", key, p.Type)
	}
	for _, tc := range []struct{ value, want string }{
		{"100GB,20XB", `conf: invalid value "100GB,20XB" for ` + key + ` (want comma separated sizes such as 100GB,200GB; item 2: invalid size "20XB": unknown unit "xb" (want B, KB, MB, GB, TB or PB)) from runtime`},
		{"lots", `item 1: invalid size "lots" (want e.g. 64MB, 1GB, 512KB)`},
		{"1GB,,2GB", `item 2: invalid size ""`},
		{"", `item 1: invalid size ""`},
	} {
		_, err := FromMap(map[string]string{key: tc.value})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err = %v, want one line with %q", tc.value, err, tc.want)
		}
	}
	c, _ := FromMap(nil)
	defer func() {
		if recover() == nil {
			t.Error("GetBytes of a bytes list did not panic")
		}
	}()
	c.GetBytes(key)
}
