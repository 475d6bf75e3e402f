package masterclient

import (
	"context"
	"errors"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// mountTableTTL is how long a fetched mount table answers MountProperties:
// a mount made again with other options is seen within this time.
const mountTableTTL = 2 * time.Second

// mountTableTimeout bounds a fetch of the mount table.
const mountTableTimeout = 2 * time.Second

var errNotConnected = errors.New("masterclient: not connected to a master")

// mountTable caches the master's mount table, for the properties (HDFS
// user, Hadoop configuration, timeouts) with which the worker opens the
// UFS of a mount, as the master does.
type mountTable struct {
	mu      sync.Mutex
	mounts  []*alluxiopb.MountPointInfo
	fetched time.Time
	lastOK  bool // the last fetch succeeded
}

// MountProperties returns the properties of the mount whose UFS holds
// ufsPath (a full UFS URI). It is nil when no mount holds it or the
// master's mount table cannot be fetched and none is cached: the UFS
// backend then uses its defaults (alluxio.underfs.hdfs.user: the
// worker's HADOOP_USER_NAME or OS user).
func (c *Client) MountProperties(ctx context.Context, ufsPath string) map[string]string {
	t := &c.mountTable
	t.mu.Lock()
	defer t.mu.Unlock()
	props, found := mountPropsFor(t.mounts, ufsPath)
	// A path of no cached mount is likely of a mount made since the
	// last fetch: fetch again then too, unless the last fetch failed
	// (then only after the TTL).
	if time.Since(t.fetched) > mountTableTTL || !found && t.lastOK {
		// A failed fetch is not retried before the TTL either: reads
		// from the UFS must not wait on a master that is away.
		mounts, err := c.fetchMountTable(ctx)
		if err != nil {
			c.log.Debug("cannot fetch the master's mount table; using the cached one", "err", err, "cached", len(t.mounts))
		} else {
			t.mounts = mounts
		}
		t.lastOK = err == nil
		t.fetched = time.Now()
		props, _ = mountPropsFor(t.mounts, ufsPath)
	}
	return props
}

func (c *Client) fetchMountTable(ctx context.Context) ([]*alluxiopb.MountPointInfo, error) {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return nil, errNotConnected
	}
	ctx, cancel := context.WithTimeout(ctx, min(c.cfg.RPCTimeout, mountTableTimeout))
	defer cancel()
	resp, err := alluxiopb.NewFileSystemMasterClientServiceClient(conn).GetMountTable(ctx, &alluxiopb.GetMountTableRequest{})
	if err != nil {
		return nil, err
	}
	return resp.GetMountPoints(), nil
}

// mountPropsFor returns the properties of the mount of mounts whose UFS
// URI is ufsPath or an ancestor of it (the deepest, should UFS locations
// nest), and whether there is one.
func mountPropsFor(mounts []*alluxiopb.MountPointInfo, ufsPath string) (map[string]string, bool) {
	u, err := ufs.ParseURI(ufsPath)
	if err != nil {
		return nil, false
	}
	var best *alluxiopb.MountPointInfo
	bestLen := -1
	for _, m := range mounts {
		mu, err := ufs.ParseURI(m.GetUfsUri())
		if err != nil || !sameScheme(mu.Scheme, u.Scheme) || !strings.EqualFold(mu.Host, u.Host) {
			continue
		}
		root := path.Clean("/" + mu.Path)
		p := path.Clean("/" + u.Path)
		if root != "/" && p != root && !strings.HasPrefix(p, root+"/") {
			continue
		}
		if len(root) > bestLen {
			best, bestLen = m, len(root)
		}
	}
	if best == nil {
		return nil, false
	}
	if len(best.GetProperties()) == 0 {
		return nil, true
	}
	return best.GetProperties(), true
}

func sameScheme(a, b string) bool {
	norm := func(s string) string {
		if s == "file" {
			return ""
		}
		return strings.ToLower(s)
	}
	return norm(a) == norm(b)
}
