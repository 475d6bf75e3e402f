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
	mu       sync.Mutex
	mounts   []*alluxiopb.MountPointInfo
	fetched  time.Time
	lastOK   bool          // the last fetch succeeded
	fetching chan struct{} // closed when the fetch in flight ends; nil when none
}

// MountProperties returns the properties of the mount whose UFS holds
// ufsPath (a full UFS URI). It is nil when no mount holds it or the
// master's mount table cannot be fetched and none is cached: the UFS
// backend then uses its defaults (alluxio.underfs.hdfs.user: the
// worker's HADOOP_USER_NAME or OS user).
func (c *Client) MountProperties(ctx context.Context, ufsPath string) map[string]string {
	return c.mountTable.props(ctx, ufsPath, func(ctx context.Context) ([]*alluxiopb.MountPointInfo, error) {
		mounts, err := c.fetchMountTable(ctx)
		if err != nil {
			c.log.Debug("cannot fetch the master's mount table; using the cached one", "err", err)
		}
		return mounts, err
	})
}

// props is MountProperties with the table fetched by fetch. The fetch runs
// without the lock, one at a time: while it is in flight a path of a cached
// mount is answered from the cache at once (reads from the UFS must not
// wait on a master that is away), and a path of no cached mount waits for
// it.
func (t *mountTable) props(ctx context.Context, ufsPath string, fetch func(context.Context) ([]*alluxiopb.MountPointInfo, error)) map[string]string {
	t.mu.Lock()
	props, found := mountPropsFor(t.mounts, ufsPath)
	// A path of no cached mount is likely of a mount made since the last
	// fetch: fetch again then too, unless the last fetch failed (then only
	// after the TTL: a failed fetch is not retried before it either).
	if time.Since(t.fetched) <= mountTableTTL && (found || !t.lastOK) {
		t.mu.Unlock()
		return props
	}
	if ch := t.fetching; ch != nil {
		t.mu.Unlock()
		if found {
			return props
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return props
		}
		t.mu.Lock()
		props, _ = mountPropsFor(t.mounts, ufsPath)
		t.mu.Unlock()
		return props
	}
	ch := make(chan struct{})
	t.fetching = ch
	t.mu.Unlock()
	mounts, err := fetch(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		t.mounts = mounts
	}
	t.lastOK = err == nil
	t.fetched = time.Now()
	t.fetching = nil
	close(ch)
	props, _ = mountPropsFor(t.mounts, ufsPath)
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
