package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/retry"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/uri"
)

type countingInquire struct {
	addr  string
	calls atomic.Int32
}

func (c *countingInquire) GetPrimaryRPCAddress(context.Context) (string, error) {
	c.calls.Add(1)
	return c.addr, nil
}

func TestRetryNotLeaderAsksInquireAgain(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	ic := &countingInquire{addr: c.Addr()}
	f := newFS(t, c, nil, WithMasterInquireClient(ic))
	c.FailNext("GetStatus", 3, status.Error(codes.Unavailable, rpcstatus.ReasonNotLeader+": standby"))
	if _, err := f.GetStatus(context.Background(), "/"); err != nil {
		t.Fatal(err)
	}
	if n := ic.calls.Load(); n != 4 {
		t.Errorf("inquire calls = %d, want 4 (one per attempt)", n)
	}
	if n := c.Calls("GetStatus"); n != 4 {
		t.Errorf("GetStatus calls = %d, want 4", n)
	}
}

func TestRetryGivesUpAndKeepsKind(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil, WithRetryPolicy(retry.Policy{BaseSleep: time.Millisecond, MaxSleep: time.Millisecond, MaxDuration: 30 * time.Millisecond}))
	c.FailNext("GetStatus", 1000, status.Error(codes.Unavailable, "down"))
	_, err := f.GetStatus(context.Background(), "/")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestNonRetryableIsNotRetried(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	_, err := f.GetStatus(context.Background(), "/nope")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if n := c.Calls("GetStatus"); n != 1 {
		t.Errorf("GetStatus calls = %d, want 1", n)
	}
}

func TestMutationRetryIsDeduplicated(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	ctx := context.Background()
	// The first attempt applies but its answer is lost; the retry carries the
	// same operation id and must not report AlreadyExists.
	c.DropResponse("CreateDirectory", 1)
	if err := f.CreateDirectory(ctx, "/d"); err != nil {
		t.Fatalf("create directory: %v", err)
	}
	c.DropResponse("CreateFile", 1)
	c.DropResponse("CompleteFile", 1)
	writeFile(t, f, "/d/f", []byte("x"))
	c.DropResponse("Rename", 1)
	if err := f.Rename(ctx, "/d/f", "/d/g"); err != nil {
		t.Fatalf("rename: %v", err)
	}
	c.DropResponse("Remove", 1)
	if err := f.Delete(ctx, "/d", Recursive()); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if n := c.Calls("Remove"); n != 2 {
		t.Errorf("Remove calls = %d, want 2", n)
	}
}

func TestMetadataOperations(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	ctx := context.Background()

	if err := f.CreateDirectory(ctx, "/a/b/c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("mkdir without parents: %v", err)
	}
	if err := f.CreateDirectory(ctx, "/a/b/c", Recursive()); err != nil {
		t.Fatal(err)
	}
	if err := f.CreateDirectory(ctx, "/a/b/c"); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("mkdir existing: %v", err)
	}
	if err := f.CreateDirectory(ctx, "/a/b/c", AllowExists()); err != nil {
		t.Errorf("mkdir existing with AllowExists: %v", err)
	}
	writeFile(t, f, "/a/b/f1", []byte("one"))
	writeFile(t, f, "/a/f2", []byte("two"))

	list, err := f.ListStatus(ctx, "/a")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(list); !equal(got, []string{"/a/b", "/a/f2"}) {
		t.Errorf("list /a = %v", got)
	}
	list, err = f.ListStatus(ctx, "/a", Recursive())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(list); !equal(got, []string{"/a/b", "/a/b/c", "/a/b/f1", "/a/f2"}) {
		t.Errorf("list -R /a = %v", got)
	}

	if err := f.Delete(ctx, "/a/b"); !errors.Is(err, ErrDirectoryNotEmpty) {
		t.Errorf("delete non-empty: %v", err)
	}
	if err := f.Rename(ctx, "/a/b", "/a/z"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, f, "/a/z/f1"); string(got) != "one" {
		t.Errorf("after rename: %q", got)
	}
	if ok, _ := f.Exists(ctx, "/a/b"); ok {
		t.Error("/a/b exists after rename")
	}

	mode := uint32(0o600)
	if err := f.SetAttribute(ctx, "/a/f2", SetAttributeOptions{Mode: &mode, Owner: Ptr("bob"), Group: Ptr("staff"), Pinned: Ptr(true), TTL: Ptr(time.Hour), TTLAction: Ptr("free")}); err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStatus(ctx, "/a/f2")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != 0o600 || st.Owner != "bob" || st.Group != "staff" || !st.Pinned || st.TTL != time.Hour || st.TTLAction != "FREE" {
		t.Errorf("attributes: %+v", st)
	}
	if err := f.SetAttribute(ctx, "/a/f2", SetAttributeOptions{TTLAction: Ptr("explode")}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad ttl action: %v", err)
	}

	if err := f.Mount(ctx, "/mnt", "mem://other", ReadOnly(), MountProperties{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	mt, err := f.GetMountTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := mt["/mnt"]; m.UfsURI != "mem://other" || !m.ReadOnly || m.Properties["k"] != "v" {
		t.Errorf("mount table: %+v", mt)
	}
	if err := f.Unmount(ctx, "/mnt"); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []string{"a/b", "/a/../b", "", "/a/./b"} {
		if _, err := f.GetStatus(ctx, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("GetStatus(%q): %v", bad, err)
		}
	}
}

func TestPersistAndFree(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	ctx := context.Background()
	writeFile(t, f, "/p", []byte("persist me"), MustCache)
	if err := f.Free(ctx, "/p"); !errors.Is(err, ErrFailedPrecondition) {
		t.Errorf("free unpersisted: %v", err)
	}
	if err := f.Persist(ctx, "/p"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.UFSFile(c.UFSPath("/p")); string(got) != "persist me" {
		t.Errorf("UFS has %q", got)
	}
	if err := f.Free(ctx, "/p"); err != nil {
		t.Fatal(err)
	}
	st, _ := f.GetStatus(ctx, "/p")
	if st.InAlluxioPercentage != 0 || !st.Persisted || st.PersistenceState != "PERSISTED" {
		t.Errorf("after free: %d%% %v %s", st.InAlluxioPercentage, st.Persisted, st.PersistenceState)
	}
}

func TestInfoCalls(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Workers: 2, WorkerCapacity: 1 << 20})
	f := newFS(t, c, nil)
	ctx := context.Background()
	writeFile(t, f, "/x", randomBytes(1000, 9), MustCache)
	ws, err := f.GetWorkerInfoList(ctx)
	if err != nil || len(ws) != 2 {
		t.Fatalf("workers: %v, %v", ws, err)
	}
	bi, err := f.GetBlockMasterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Capacity != 2<<20 || bi.Used != 1000 || bi.Free != 2<<20-1000 || bi.LiveWorkers != 2 {
		t.Errorf("block master info: %+v", bi)
	}
	mi, err := f.GetMasterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mi.LeaderAddress != c.Addr() || len(mi.Masters) != 1 {
		t.Errorf("master info: %+v", mi)
	}
}

func TestClosedFileSystem(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	f.Close()
	if err := f.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := f.GetStatus(context.Background(), "/"); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestIOFS(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	writeFile(t, f, "/root/hello.txt", []byte("hello, world\n"), Recursive())
	writeFile(t, f, "/root/dir/big.bin", randomBytes(2*testBlock+17, 10), Recursive())
	writeFile(t, f, "/root/dir/empty", nil)
	if err := f.CreateDirectory(context.Background(), "/root/dir/sub/deeper", Recursive()); err != nil {
		t.Fatal(err)
	}
	fsys, err := NewIOFS(context.Background(), f, "/root")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "hello.txt", "dir/big.bin", "dir/empty", "dir/sub/deeper"); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Open("missing"); !errors.Is(err, fsErrNotExist) {
		t.Errorf("open missing: %v", err)
	}
}

func names(l []*URIStatus) []string {
	var out []string
	for _, s := range l {
		out = append(out, s.Path)
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewLoadsSiteProperties(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	dir := t.TempDir()
	site := "alluxio.master.hostname=" + c.Host() + "\nalluxio.master.rpc.port=" + strconv.Itoa(c.Port()) +
		"\nalluxio.user.file.writetype.default=THROUGH\nalluxio.user.block.size.bytes.default=1MB\n"
	if err := os.WriteFile(filepath.Join(dir, "alluxio-site.properties"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALLUXIO_CONF_DIR", dir)
	t.Setenv("ALLUXIO_MASTER_HOSTNAME", "")
	t.Setenv("ALLUXIO_USER_JAVA_OPTS", "")
	t.Setenv("ALLUXIO_JAVA_OPTS", "")
	f, err := New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writeFile(t, f, "/n", []byte("via site file"))
	st, err := f.GetStatus(context.Background(), "/n")
	if err != nil {
		t.Fatal(err)
	}
	if st.BlockSize != 1<<20 || !st.Persisted || len(c.CachedBlocks("/n")) != 0 {
		t.Errorf("site properties not applied: block size %d persisted %v", st.BlockSize, st.Persisted)
	}
	if addr, _ := f.MasterAddress(context.Background()); addr != c.Addr() {
		t.Errorf("master address %s, want %s", addr, c.Addr())
	}
}

func TestInquireClientFromURI(t *testing.T) {
	cfg, _ := conf.FromMap(map[string]string{"alluxio.master.hostname": "m1", "alluxio.master.rpc.port": "1234"})
	for _, tc := range []struct {
		uri, want string
		err       bool
	}{
		{"/a", "m1:1234", false},
		{"alluxio://h:5/a", "h:5", false},
	} {
		u, err := uri.Parse(tc.uri)
		if err != nil {
			t.Fatal(err)
		}
		ic, err := InquireClientFromURI(u, cfg)
		if tc.err {
			if err == nil {
				t.Errorf("%s: no error", tc.uri)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ic.GetPrimaryRPCAddress(context.Background()); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.uri, got, tc.want)
		}
	}
	zk, _ := cfg.With("alluxio.zookeeper.enabled", "true")
	if _, err := InquireClientFromConfig(zk); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("zookeeper enabled without addresses: %v", err)
	}
	zk, _ = zk.With("alluxio.zookeeper.address", "z1:2181, z2:2181")
	ic, err := InquireClientFromConfig(zk)
	if err != nil {
		t.Fatal(err)
	}
	zic, ok := ic.(*ZooKeeperInquireClient)
	if !ok || fmt.Sprint(zic.Servers()) != "[z1:2181 z2:2181]" {
		t.Errorf("zookeeper config: %T %v", ic, zic.Servers())
	}
	zic.Close()
	u, _ := uri.Parse("alluxio://zk@z3:2181,z4:2181/a")
	ic, err = InquireClientFromURI(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	zic, ok = ic.(*ZooKeeperInquireClient)
	if !ok || fmt.Sprint(zic.Servers()) != "[z3:2181 z4:2181]" {
		t.Errorf("zk@ URI: %T %v", ic, zic.Servers())
	}
	zic.Close()
}
