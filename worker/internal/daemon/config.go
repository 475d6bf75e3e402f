package daemon

import (
	"fmt"
	"strings"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/worker/internal/blockstore"
)

// maxTiers is how many tiers the configuration table has keys for.
const maxTiers = 3

// StoreConfig builds the block store configuration from the
// alluxio.worker.tieredstore.* keys. dirs.quota holds one size for all the
// tier's directories or one per directory, comma-separated.
func StoreConfig(c *conf.Config) (blockstore.Config, error) {
	var cfg blockstore.Config
	levels := c.GetInt("alluxio.worker.tieredstore.levels")
	if levels < 1 || levels > maxTiers {
		return cfg, fmt.Errorf("alluxio.worker.tieredstore.levels=%d (from %s) must be between 1 and %d",
			levels, c.Source("alluxio.worker.tieredstore.levels"), maxTiers)
	}
	for i := range levels {
		p := fmt.Sprintf("alluxio.worker.tieredstore.level%d.", i)
		alias := strings.ToUpper(strings.TrimSpace(c.Get(p + "alias")))
		dirs := c.GetList(p + "dirs.path")
		if len(dirs) == 0 {
			return cfg, fmt.Errorf("%sdirs.path (from %s) names no directory", p, c.Source(p+"dirs.path"))
		}
		quotas := c.GetBytesList(p + "dirs.quota") // each a valid size: conf checked them
		if len(quotas) != 1 && len(quotas) != len(dirs) {
			return cfg, fmt.Errorf("%sdirs.quota (from %s) has %d sizes for the %d directories of %sdirs.path (from %s): give one size for all or one per directory",
				p, c.Source(p+"dirs.quota"), len(quotas), len(dirs), p, c.Source(p+"dirs.path"))
		}
		for j, q := range quotas {
			if q <= 0 {
				return cfg, fmt.Errorf("%sdirs.quota=%s (from %s): size %d is %d; want positive sizes such as 1GB",
					p, c.Get(p+"dirs.quota"), c.Source(p+"dirs.quota"), j+1, q)
			}
		}
		t := blockstore.TierConfig{
			Alias:         alias,
			HighWatermark: c.GetFloat(p + "watermark.high.ratio"),
			LowWatermark:  c.GetFloat(p + "watermark.low.ratio"),
		}
		if t.LowWatermark > t.HighWatermark {
			return cfg, fmt.Errorf("%swatermark.low.ratio=%v is above %swatermark.high.ratio=%v", p, t.LowWatermark, p, t.HighWatermark)
		}
		for j, d := range dirs {
			q := quotas[0]
			if len(quotas) > 1 {
				q = quotas[j]
			}
			t.Dirs = append(t.Dirs, blockstore.DirConfig{Path: d, Quota: q})
		}
		cfg.Tiers = append(cfg.Tiers, t)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}
