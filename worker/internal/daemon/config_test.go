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
