package masterclient

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

func TestMountPropsFor(t *testing.T) {
	mounts := []*alluxiopb.MountPointInfo{
		{AlluxioPath: "/", UfsUri: "hdfs://nn:8020/root", Properties: map[string]string{"who": "root-mount"}},
		{AlluxioPath: "/a", UfsUri: "hdfs://nn:8020/data/alice/", Properties: map[string]string{"who": "alice"}},
		{AlluxioPath: "/b", UfsUri: "hdfs://other:8020/", Properties: map[string]string{"who": "other"}},
		{AlluxioPath: "/l", UfsUri: "/tmp/ufs"},
	}
	for _, c := range []struct {
		path, want string
		found      bool
	}{
		{"hdfs://nn:8020/root/x/y", "root-mount", true},
		{"hdfs://NN:8020/data/alice/f 100%.txt", "alice", true},
		{"hdfs://nn:8020/data/alice", "alice", true},
		{"hdfs://nn:8020/data/alicex/f", "", false}, // not under /data/alice
		{"hdfs://other:8020/anything", "other", true},
		{"hdfs://third:8020/root/x", "", false},
		{"file:///tmp/ufs/f", "", true}, // a mount without properties
		{"s3://nn:8020/root/x", "", false},
	} {
		props, found := mountPropsFor(mounts, c.path)
		if got := props["who"]; got != c.want || found != c.found {
			t.Errorf("mountPropsFor(%q) = %q, %v; want %q, %v", c.path, got, found, c.want, c.found)
		}
	}
}

// TestMountTableFetchOutsideLock checks that while a fetch of the mount
// table is in flight (a master that is away) a path of a cached mount is
// answered from the cache at once, and a path of no cached mount waits for
// that fetch instead of starting another.
func TestMountTableFetchOutsideLock(t *testing.T) {
	ctx := context.Background()
	old := []*alluxiopb.MountPointInfo{{AlluxioPath: "/", UfsUri: "hdfs://nn:8020/root", Properties: map[string]string{"who": "root"}}}
	cur := append(old, &alluxiopb.MountPointInfo{AlluxioPath: "/n", UfsUri: "hdfs://nn:8020/new", Properties: map[string]string{"who": "new"}})
	var fetches atomic.Int32
	var tb mountTable
	if got := tb.props(ctx, "hdfs://nn:8020/root/f", func(context.Context) ([]*alluxiopb.MountPointInfo, error) {
		fetches.Add(1)
		return old, nil
	}); got["who"] != "root" {
		t.Fatalf("first lookup = %v", got)
	}
	tb.mu.Lock()
	tb.fetched = time.Now().Add(-time.Hour) // stale: the next lookup fetches
	tb.mu.Unlock()

	started, release := make(chan struct{}), make(chan struct{})
	slow := func(context.Context) ([]*alluxiopb.MountPointInfo, error) {
		fetches.Add(1)
		close(started)
		<-release
		return cur, nil
	}
	noFetch := func(context.Context) ([]*alluxiopb.MountPointInfo, error) {
		t.Error("a second fetch started while one was in flight")
		return nil, errors.New("unexpected")
	}
	first := make(chan map[string]string, 1)
	go func() { first <- tb.props(ctx, "hdfs://nn:8020/root/a", slow) }()
	<-started

	cached := make(chan map[string]string, 1)
	go func() { cached <- tb.props(ctx, "hdfs://nn:8020/root/b", noFetch) }()
	select {
	case got := <-cached:
		if got["who"] != "root" {
			t.Errorf("lookup during the fetch = %v, want the cached root mount's", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lookup of a cached mount waited for the fetch in flight")
	}

	waiter := make(chan map[string]string, 1)
	go func() { waiter <- tb.props(ctx, "hdfs://nn:8020/new/f", noFetch) }()
	close(release)
	if got := <-waiter; got["who"] != "new" {
		t.Errorf("lookup of a new mount = %v, want the fetched table's", got)
	}
	if got := <-first; got["who"] != "root" {
		t.Errorf("fetching lookup = %v", got)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}
