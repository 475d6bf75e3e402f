package daemon

import (
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/common/conf"
)

func TestStoreConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		props   map[string]string
		wantErr string
		check   func(t *testing.T, tiers int, dirs []int)
	}{
		{name: "defaults", props: map[string]string{}, check: func(t *testing.T, tiers int, dirs []int) {
			if tiers != 1 || dirs[0] != 1 {
				t.Fatalf("tiers=%d dirs=%v", tiers, dirs)
			}
		}},
		{name: "two tiers, two dirs", props: map[string]string{
			"alluxio.worker.tieredstore.levels":           "2",
			"alluxio.worker.tieredstore.level1.dirs.path": "/a, /b",
		}, check: func(t *testing.T, tiers int, dirs []int) {
			if tiers != 2 || dirs[1] != 2 {
				t.Fatalf("tiers=%d dirs=%v", tiers, dirs)
			}
		}},
		{name: "too many levels", props: map[string]string{"alluxio.worker.tieredstore.levels": "4"}, wantErr: "levels"},
		{name: "zero levels", props: map[string]string{"alluxio.worker.tieredstore.levels": "0"}, wantErr: "levels"},
		{name: "no dirs", props: map[string]string{"alluxio.worker.tieredstore.level0.dirs.path": " , "}, wantErr: "dirs.path"},
		{name: "low above high", props: map[string]string{
			"alluxio.worker.tieredstore.level0.watermark.low.ratio":  "0.9",
			"alluxio.worker.tieredstore.level0.watermark.high.ratio": "0.5",
		}, wantErr: "watermark"},
		{name: "zero quota", props: map[string]string{"alluxio.worker.tieredstore.level0.dirs.quota": "0"}, wantErr: "quota"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := conf.FromMap(tc.props)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := StoreConfig(c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want mention of %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var dirs []int
			for _, tier := range cfg.Tiers {
				dirs = append(dirs, len(tier.Dirs))
			}
			tc.check(t, len(cfg.Tiers), dirs)
		})
	}
}

// dirs.quota: one size for all directories, one per directory, or an error
// naming both keys.
func TestStoreConfigQuotas(t *testing.T) {
	const p = "alluxio.worker.tieredstore.level1."
	base := map[string]string{"alluxio.worker.tieredstore.levels": "2", p + "dirs.path": "/ssd1,/ssd2"}
	with := func(quota string) map[string]string {
		m := map[string]string{p + "dirs.quota": quota}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		quota string
		want  []int64
	}{
		{"100GB", []int64{100 << 30, 100 << 30}},
		{"100GB,200GB", []int64{100 << 30, 200 << 30}},
	} {
		c, err := conf.FromMap(with(tc.quota))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := StoreConfig(c)
		if err != nil {
			t.Fatalf("%s: %v", tc.quota, err)
		}
		var got []int64
		for _, d := range cfg.Tiers[1].Dirs {
			got = append(got, d.Quota)
		}
		if len(got) != 2 || got[0] != tc.want[0] || got[1] != tc.want[1] {
			t.Errorf("dirs.quota=%s: quotas %v, want %v", tc.quota, got, tc.want)
		}
	}
	c, err := conf.FromMap(with("1GB,2GB,3GB"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = StoreConfig(c)
	if err == nil || !strings.Contains(err.Error(), p+"dirs.quota") || !strings.Contains(err.Error(), p+"dirs.path") ||
		!strings.Contains(err.Error(), "3 sizes for the 2 directories") || strings.Contains(err.Error(), "\n") {
		t.Errorf("3 quotas for 2 dirs: err = %v; want one line naming both keys and the counts", err)
	}
	if _, err := conf.FromMap(with("1GB,2XB")); err == nil || !strings.Contains(err.Error(), `item 2: invalid size "2XB"`) {
		t.Errorf("a bad size: err = %v", err)
	}
}
