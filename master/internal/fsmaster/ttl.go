package fsmaster

import (
	"context"
	"errors"
	"time"

	"github.com/alluxio-go/alluxio/common/pathutil"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// CheckTTL applies the TTL action of every inode whose time to live has
// passed (creation time + ttl): DELETE removes it (and its UFS copy), FREE
// evicts its blocks and clears the TTL. It returns the paths acted on.
func (m *Master) CheckTTL(ctx context.Context) []string {
	if m.Writable() != nil {
		return nil
	}
	now := m.cfg.Now().UnixMilli()
	type expired struct {
		path   string
		action uint8
	}
	var due []expired
	m.mu.RLock()
	_ = walk(m.root, func(n *inode) error {
		if n != m.root && n.ttl > 0 && n.ttl <= now-n.ctime {
			due = append(due, expired{pathOf(n), n.ttlAction})
		}
		return nil
	})
	m.mu.RUnlock()
	var done, removed []string
	for _, e := range due {
		if underAny(e.path, removed) {
			continue // removed with an ancestor
		}
		var err error
		if ttlActions[e.action] == "FREE" {
			if err = m.Free(ctx, &alluxiopb.FreeRequest{Path: e.path, Recursive: true, Forced: true}); err == nil {
				noTTL := int64(-1)
				err = m.SetAttribute(ctx, &alluxiopb.SetAttributeRequest{Path: e.path, Ttl: &noTTL})
			}
		} else {
			err = m.Remove(ctx, &alluxiopb.DeleteRequest{Path: e.path, Recursive: true})
			removed = append(removed, e.path)
		}
		if err != nil && !errors.Is(err, rpcstatus.ErrNotFound) {
			m.log.Warn("TTL action failed", "path", e.path, "action", ttlActions[e.action], "err", err)
			continue
		}
		m.log.Info("TTL expired", "path", e.path, "action", ttlActions[e.action])
		done = append(done, e.path)
	}
	return done
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if pathutil.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// RunTTLChecker runs CheckTTL every interval until ctx ends.
func (m *Master) RunTTLChecker(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.CheckTTL(ctx)
		}
	}
}
