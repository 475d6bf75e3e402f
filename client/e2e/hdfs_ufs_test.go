package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/hdfstest"
	"github.com/alluxio-go/alluxio/common/ufs"
)

// The HDFS UFS tests (issue 4) run the single-master harness of
// cluster_test.go (a master and a worker process) with the root mount, or a
// nested mount, on the package's shared HDFS (common/hdfstest). Each test
// has its own directory on it; the test checks HDFS itself through the
// common/ufs HDFS backend, as the HDFS superuser.

// hdfsUFSBlock is the Alluxio block size of these tests: small, so that a
// file of a few hundred KB spans several blocks.
const hdfsUFSBlock = 64 << 10

// hdfsUFS is a test's directory on the shared HDFS.
type hdfsUFS struct {
	t   *testing.T
	h   *hdfstest.Cluster
	dir string // absolute HDFS path, e.g. /ufs-rootmount-1234
	fs  ufs.UnderFileSystem
}

func newHDFSUFS(t *testing.T) *hdfsUFS {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test runs HDFS and real processes")
	}
	h := sharedHDFS.Cluster(t)
	name := strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(strings.TrimPrefix(t.Name(), "TestIntegrationHDFSUFS")))
	u := &hdfsUFS{t: t, h: h, dir: fmt.Sprintf("/ufs-%s-%d", name, time.Now().UnixNano())}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fsys, err := ufs.NewRegistry().Open(ctx, h.URI+"/", nil)
	if err != nil {
		t.Fatalf("open HDFS %s: %v", h.URI, err)
	}
	u.fs = fsys
	t.Cleanup(func() { u.fs.Close() })
	if err := fsys.Mkdirs(ctx, u.dir, 0o755); err != nil {
		t.Fatalf("mkdir %s on HDFS: %v", u.dir, err)
	}
	return u
}

// reopen replaces the test's HDFS client by a new one: after an HDFS
// restart the old one refuses to dial again for a few seconds (the HDFS
// library's back-off after a failed NameNode dial).
func (u *hdfsUFS) reopen() {
	u.t.Helper()
	ctx, cancel := u.ctx()
	defer cancel()
	fsys, err := ufs.NewRegistry().Open(ctx, u.h.URI+"/", nil)
	if err != nil {
		u.t.Fatalf("open HDFS %s: %v", u.h.URI, err)
	}
	u.fs.Close()
	u.fs = fsys
}

// uri is the hdfs:// URI of rel under the test's directory.
func (u *hdfsUFS) uri(rel string) string { return u.h.URI + u.path(rel) }

func (u *hdfsUFS) path(rel string) string {
	if rel == "" || rel == "/" {
		return u.dir
	}
	return u.dir + "/" + strings.TrimPrefix(rel, "/")
}

func (u *hdfsUFS) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// put writes a file in HDFS directly (not through Alluxio).
func (u *hdfsUFS) put(rel string, data []byte) {
	u.t.Helper()
	ctx, cancel := u.ctx()
	defer cancel()
	w, err := u.fs.Create(ctx, u.path(rel), ufs.CreateOptions{CreateParent: true})
	if err != nil {
		u.t.Fatalf("HDFS create %s: %v", rel, err)
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Cancel()
		u.t.Fatalf("HDFS write %s: %v", rel, err)
	}
	if err := w.Close(); err != nil {
		u.t.Fatalf("HDFS close %s: %v", rel, err)
	}
}

func (u *hdfsUFS) mkdirs(rel string) {
	u.t.Helper()
	ctx, cancel := u.ctx()
	defer cancel()
	if err := u.fs.Mkdirs(ctx, u.path(rel), 0o755); err != nil {
		u.t.Fatalf("HDFS mkdirs %s: %v", rel, err)
	}
}

// mkdirsOpen makes rel and opens it to every HDFS user (mode 0777, set as
// HDFS's superuser), so an Alluxio mount acting as another user can write
// under it.
func (u *hdfsUFS) mkdirsOpen(rel string) {
	u.t.Helper()
	u.mkdirs(rel)
	ctx, cancel := u.ctx()
	defer cancel()
	admin, err := ufs.DialHDFS(ctx, u.h.URI, nil)
	if err != nil {
		u.t.Fatalf("HDFS as its superuser: %v", err)
	}
	defer admin.Close()
	if err := admin.Chmod(ctx, u.path(rel), 0o777); err != nil {
		u.t.Fatalf("chmod %s: %v", rel, err)
	}
}

// get reads a file from HDFS; ok is false when it does not exist.
func (u *hdfsUFS) get(rel string) (data []byte, ok bool) {
	u.t.Helper()
	ctx, cancel := u.ctx()
	defer cancel()
	r, err := u.fs.Open(ctx, u.path(rel), 0)
	if errors.Is(err, ufs.ErrNotFound) {
		return nil, false
	}
	if err != nil {
		u.t.Fatalf("HDFS open %s: %v", rel, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		u.t.Fatalf("HDFS read %s: %v", rel, err)
	}
	return b, true
}

func (u *hdfsUFS) exists(rel string) bool {
	u.t.Helper()
	ctx, cancel := u.ctx()
	defer cancel()
	_, err := u.fs.GetStatus(ctx, u.path(rel))
	if errors.Is(err, ufs.ErrNotFound) {
		return false
	}
	if err != nil {
		u.t.Fatalf("HDFS stat %s: %v", rel, err)
	}
	return true
}

// wantFile fails the test unless rel is in HDFS with exactly data.
func (u *hdfsUFS) wantFile(rel string, data []byte) {
	u.t.Helper()
	got, ok := u.get(rel)
	if !ok {
		u.t.Errorf("%s is not in HDFS", u.uri(rel))
		return
	}
	if !bytes.Equal(got, data) {
		u.t.Errorf("%s in HDFS has %d bytes, not the %d written (or different bytes)", u.uri(rel), len(got), len(data))
	}
}

func (u *hdfsUFS) wantAbsent(rel string) {
	u.t.Helper()
	if u.exists(rel) {
		u.t.Errorf("%s is in HDFS; want it absent", u.uri(rel))
	}
}

// newHDFSRootCluster is a master and a worker with the root mount on u's
// directory and small blocks.
func newHDFSRootCluster(t *testing.T, u *hdfsUFS, extra map[string]string) *cluster {
	t.Helper()
	props := map[string]string{
		"alluxio.master.mount.table.root.ufs":   u.uri(""),
		"alluxio.user.block.size.bytes.default": fmt.Sprint(hdfsUFSBlock),
	}
	for k, v := range extra {
		props[k] = v
	}
	c := newCluster(t, props)
	t.Cleanup(func() { // before stopAll: the logs of a failed test
		if t.Failed() {
			t.Logf("master log:\n%s\nworker log:\n%s", c.logs["master"], c.logs["worker"])
		}
	})
	c.ok("format")
	c.startMaster()
	c.startWorker()
	c.waitWorkers(1)
	return c
}

// client is a FileSystem of the cluster's master, closed with the test.
func (c *cluster) client() *client.FileSystem {
	c.t.Helper()
	cfg, err := conf.FromMap(map[string]string{
		"alluxio.master.hostname":               c.props["alluxio.master.hostname"],
		"alluxio.master.rpc.port":               c.props["alluxio.master.rpc.port"],
		"alluxio.user.block.size.bytes.default": c.props["alluxio.user.block.size.bytes.default"],
		"alluxio.user.rpc.retry.max.duration":   "20s",
	})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fsys, err := client.NewFromConfig(ctx, cfg)
	if err != nil {
		c.t.Fatalf("client: %v", err)
	}
	c.t.Cleanup(func() { fsys.Close() })
	return fsys
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// lsNames returns the paths `alluxio fs ls [-R] dir` prints, one per line's
// last field.
func lsNames(out string) []string {
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			names = append(names, f[len(f)-1])
		}
	}
	return names
}

func wantNames(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, g := range got {
		have[g] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("%s lacks %s; got %v", what, w, got)
		}
	}
}

// TestIntegrationHDFSUFSRootMount: files made in HDFS before the cluster
// existed are listed (metadata loading) and read back byte-identical, first
// cold through the worker from HDFS, then warm from the worker's cache.
func TestIntegrationHDFSUFSRootMount(t *testing.T) {
	u := newHDFSUFS(t)
	big := randomBytes(t, 5*hdfsUFSBlock+12345) // six Alluxio blocks
	small := randomBytes(t, 1000)
	u.put("data/a/b/big.bin", big)
	u.put("data/a/small.bin", small)
	u.put("data/empty.bin", nil)
	u.mkdirs("data/emptydir")

	c := newHDFSRootCluster(t, u, nil)
	fsys := c.client()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	// Metadata loading: ls of a directory the master never saw, then -R.
	wantNames(t, "ls /", lsNames(c.ok("fs", "ls", "/")), "/data")
	wantNames(t, "ls -R /data", lsNames(c.ok("fs", "ls", "-R", "/data")),
		"/data/a", "/data/a/b", "/data/a/b/big.bin", "/data/a/small.bin", "/data/empty.bin", "/data/emptydir")
	entries, err := fsys.ListStatus(ctx, "/data/a")
	if err != nil {
		t.Fatalf("ListStatus /data/a: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
		if e.Name == "small.bin" && (e.IsDir || e.Length != int64(len(small)) || !e.Persisted) {
			t.Errorf("small.bin: dir %v length %d persisted %v; want a persisted file of %d bytes", e.IsDir, e.Length, e.Persisted, len(small))
		}
	}
	if strings.Join(names, ",") != "b,small.bin" {
		t.Errorf("ListStatus /data/a = %v, want [b small.bin]", names)
	}
	st, err := fsys.GetStatus(ctx, "/data/a/b/big.bin")
	if err != nil {
		t.Fatalf("GetStatus big.bin: %v", err)
	}
	if st.Length != int64(len(big)) || st.UfsPath != u.uri("data/a/b/big.bin") {
		t.Errorf("big.bin: length %d ufs path %q; want %d and %q", st.Length, st.UfsPath, len(big), u.uri("data/a/b/big.bin"))
	}
	if st.InAlluxioPercentage != 0 {
		t.Errorf("big.bin is %d%% in Alluxio before any read", st.InAlluxioPercentage)
	}
	{
		ctx, cancel := u.ctx()
		hst, err := u.fs.GetStatus(ctx, u.path("data/a/b/big.bin"))
		cancel()
		if err != nil {
			t.Fatalf("HDFS stat big.bin: %v", err)
		}
		if st.Owner != hst.Owner || st.Group != hst.Group || st.Mode&0o777 != hst.Mode&0o777 || !st.Persisted || !st.Completed {
			t.Errorf("big.bin loaded as owner %q group %q mode %o persisted %v completed %v; HDFS has %q %q %o",
				st.Owner, st.Group, st.Mode, st.Persisted, st.Completed, hst.Owner, hst.Group, hst.Mode)
		}
	}

	// Cold read: through the worker from HDFS, caching.
	start := time.Now()
	if got := c.ok("fs", "cat", "/data/a/b/big.bin"); !bytes.Equal([]byte(got), big) {
		t.Fatalf("cold cat of big.bin: %d bytes, want the %d in HDFS", len(got), len(big))
	}
	cold := time.Since(start)
	if got, err := readFile(ctx, fsys, "/data/a/small.bin"); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("cold read of small.bin: %d bytes, %v", len(got), err)
	}
	if got := c.ok("fs", "cat", "/data/empty.bin"); got != "" {
		t.Errorf("cat of the empty file printed %d bytes", len(got))
	}

	// The worker cached every block of big.bin.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err = fsys.GetStatus(ctx, "/data/a/b/big.bin")
		if err != nil {
			t.Fatalf("GetStatus big.bin: %v", err)
		}
		cached := 0
		for _, b := range st.Blocks {
			if len(b.Locations) > 0 {
				cached++
			}
		}
		if st.InAlluxioPercentage == 100 && cached == len(st.Blocks) && len(st.Blocks) == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("big.bin after a read: %d%% in Alluxio, %d of %d blocks cached; want 100%% of 6", st.InAlluxioPercentage, cached, len(st.Blocks))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Warm read from the cache: the same bytes even with HDFS's copy gone.
	ctx2, cancel2 := u.ctx()
	if err := u.fs.Delete(ctx2, u.path("data/a/b/big.bin"), false); err != nil {
		t.Fatalf("HDFS delete: %v", err)
	}
	cancel2()
	start = time.Now()
	if got := c.ok("fs", "cat", "/data/a/b/big.bin"); !bytes.Equal([]byte(got), big) {
		t.Fatalf("warm cat of big.bin: %d bytes, want %d", len(got), len(big))
	}
	t.Logf("cat of %d bytes: cold (from HDFS) %v, warm (cache) %v", len(big), cold.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// TestIntegrationHDFSUFSWriteTypes: where each write type puts the bytes,
// and that rename and delete reach HDFS.
func TestIntegrationHDFSUFSWriteTypes(t *testing.T) {
	u := newHDFSUFS(t)
	c := newHDFSRootCluster(t, u, nil)
	fsys := c.client()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	if err := fsys.CreateDirectory(ctx, "/w", client.CacheThrough); err != nil {
		t.Fatalf("mkdir /w: %v", err)
	}
	if !u.exists("w") {
		t.Fatalf("CACHE_THROUGH mkdir /w is not in HDFS")
	}
	data := map[client.WriteType][]byte{}
	for _, wt := range []client.WriteType{client.CacheThrough, client.Through, client.AsyncThrough, client.MustCache} {
		data[wt] = randomBytes(t, 3*hdfsUFSBlock+int(wt)*777)
		p := "/w/" + strings.ToLower(wt.String()) + ".bin"
		if err := createFile(ctx, fsys, p, data[wt], wt); err != nil {
			t.Fatalf("create %s %s: %v", wt, p, err)
		}
		switch wt {
		case client.CacheThrough, client.Through:
			u.wantFile(p, data[wt]) // right after Close
		case client.MustCache:
			u.wantAbsent(p)
		}
		if got, err := readFile(ctx, fsys, p); err != nil || !bytes.Equal(got, data[wt]) {
			t.Errorf("read back %s %s: %d bytes, %v", wt, p, len(got), err)
		}
	}
	// ASYNC_THROUGH: persisted within a bounded time.
	async := "/w/async_through.bin"
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := fsys.GetStatus(ctx, async)
		if err != nil {
			t.Fatalf("GetStatus %s: %v", async, err)
		}
		if st.Persisted && u.exists(async) {
			u.wantFile(async, data[client.AsyncThrough])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ASYNC_THROUGH %s not persisted after 20s (state %s, in HDFS %v)", async, st.PersistenceState, u.exists(async))
		}
		time.Sleep(100 * time.Millisecond)
	}
	u.wantAbsent("/w/must_cache.bin")
	if st, err := fsys.GetStatus(ctx, "/w/must_cache.bin"); err != nil || st.Persisted {
		t.Errorf("MUST_CACHE file: persisted %v, %v", st != nil && st.Persisted, err)
	}

	// Rename and delete of persisted files reach HDFS.
	c.ok("fs", "mv", "/w/cache_through.bin", "/w/renamed.bin")
	u.wantAbsent("w/cache_through.bin")
	u.wantFile("w/renamed.bin", data[client.CacheThrough])
	c.ok("fs", "rm", "/w/through.bin")
	u.wantAbsent("w/through.bin")
	if err := fsys.CreateDirectory(ctx, "/w/sub/deeper", client.Recursive(), client.CacheThrough); err != nil {
		t.Fatalf("mkdir -p /w/sub/deeper: %v", err)
	}
	if err := createFile(ctx, fsys, "/w/sub/deeper/f.bin", data[client.Through], client.Through); err != nil {
		t.Fatalf("create /w/sub/deeper/f.bin: %v", err)
	}
	u.wantFile("w/sub/deeper/f.bin", data[client.Through])
	c.ok("fs", "rm", "-R", "/w/sub")
	u.wantAbsent("w/sub")
	c.fails("fs", "stat", "/w/sub")
	// What is left, seen from HDFS and from Alluxio.
	wantNames(t, "ls /w", lsNames(c.ok("fs", "ls", "/w")), "/w/renamed.bin", "/w/async_through.bin", "/w/must_cache.bin")
}

// TestIntegrationHDFSUFSNestedMount: a second HDFS directory mounted at
// /mnt/hdfs with the CLI, listed, written through and unmounted.
func TestIntegrationHDFSUFSNestedMount(t *testing.T) {
	u := newHDFSUFS(t)
	u.mkdirs("root")
	existing := randomBytes(t, 2*hdfsUFSBlock+5)
	u.put("other/pre/existing.bin", existing)
	u.put("other/top.txt", []byte("top\n"))
	c := newHDFSRootCluster(t, u, map[string]string{"alluxio.master.mount.table.root.ufs": u.uri("root")})
	fsys := c.client()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	c.ok("fs", "mkdir", "/mnt")
	if out := c.ok("fs", "mount", "/mnt/hdfs", u.uri("other")); !strings.Contains(out, u.uri("other")) {
		t.Errorf("mount output does not name the URI: %q", out)
	}
	if out := c.ok("fs", "mount"); !strings.Contains(out, u.uri("other")) || !strings.Contains(out, "/mnt/hdfs") {
		t.Errorf("mount table lacks /mnt/hdfs -> %s:\n%s", u.uri("other"), out)
	}
	wantNames(t, "ls -R /mnt/hdfs", lsNames(c.ok("fs", "ls", "-R", "/mnt/hdfs")),
		"/mnt/hdfs/pre", "/mnt/hdfs/pre/existing.bin", "/mnt/hdfs/top.txt")
	if got := c.ok("fs", "cat", "/mnt/hdfs/pre/existing.bin"); !bytes.Equal([]byte(got), existing) {
		t.Fatalf("cat through the mount: %d bytes, want %d", len(got), len(existing))
	}
	written := randomBytes(t, 3*hdfsUFSBlock)
	if err := createFile(ctx, fsys, "/mnt/hdfs/pre/new.bin", written, client.CacheThrough); err != nil {
		t.Fatalf("create through the mount: %v", err)
	}
	u.wantFile("other/pre/new.bin", written)
	u.wantAbsent("root/mnt/hdfs/pre/new.bin")
	c.ok("fs", "mv", "/mnt/hdfs/top.txt", "/mnt/hdfs/pre/top.txt")
	u.wantFile("other/pre/top.txt", []byte("top\n"))

	// The mount survives a master crash (it is journaled).
	c.kill(c.master, 9)
	c.startMaster()
	c.waitWorkers(1)
	if out := c.ok("fs", "mount"); !strings.Contains(out, u.uri("other")) {
		t.Errorf("mount table after a master restart lacks %s:\n%s", u.uri("other"), out)
	}
	if got := c.ok("fs", "cat", "/mnt/hdfs/pre/top.txt"); got != "top\n" {
		t.Errorf("cat through the mount after a master restart: %q", got)
	}
	u.put("other/late.txt", []byte("late\n"))
	if got := c.ok("fs", "cat", "/mnt/hdfs/late.txt"); got != "late\n" {
		t.Errorf("cat of a file made in HDFS after the restart: %q", got)
	}

	c.ok("fs", "unmount", "/mnt/hdfs")
	c.fails("fs", "stat", "/mnt/hdfs/pre/new.bin")
	if out := c.ok("fs", "mount"); strings.Contains(out, "/mnt/hdfs") {
		t.Errorf("mount table still has /mnt/hdfs after unmount:\n%s", out)
	}
	// Unmounting leaves HDFS alone.
	u.wantFile("other/pre/new.bin", written)
	u.wantFile("other/pre/existing.bin", existing)
}

// TestIntegrationHDFSUFSBadMount: mounting an HDFS that is not there fails
// quickly with one line naming the URI; the master keeps serving.
func TestIntegrationHDFSUFSBadMount(t *testing.T) {
	u := newHDFSUFS(t)
	c := newHDFSRootCluster(t, u, nil)

	dead := fmt.Sprintf("hdfs://127.0.0.1:%d/nowhere", freePort(t))
	start := time.Now()
	line := c.fails("fs", "mount", "/dead", dead)
	took := time.Since(start)
	t.Logf("mount %s: %q after %v", dead, line, took.Round(time.Millisecond))
	if !strings.Contains(line, strings.TrimSuffix(dead, "/nowhere")) {
		t.Errorf("mount error does not name %s: %q", dead, line)
	}
	if took > 15*time.Second {
		t.Errorf("mount of a closed port took %v; want it to fail quickly", took)
	}
	if regexp.MustCompile(`(?i)panic|goroutine`).MatchString(c.logs["master"].String()) {
		t.Errorf("master log mentions a panic:\n%s", c.logs["master"])
	}
	if c.master.Exited() {
		t.Fatalf("master exited after a bad mount:\n%s", c.logs["master"])
	}
	c.fails("fs", "stat", "/dead")

	// A live HDFS, but the path is missing or a file; and a NameNode
	// address that never answers.
	u.put("afile", []byte("x"))
	for _, bad := range []struct{ name, uri, want string }{
		{"missing directory", u.uri("no/such/dir"), u.uri("no/such/dir") + `" does not exist`},
		{"a file", u.uri("afile"), "not a directory"},
		{"NameNode not answering", "hdfs://192.0.2.1:8020/x", "hdfs://192.0.2.1:8020"},
	} {
		start := time.Now()
		line := c.fails("fs", "mount", "/bad", bad.uri)
		took := time.Since(start)
		t.Logf("mount %s (%s): %q after %v", bad.uri, bad.name, line, took.Round(time.Millisecond))
		if !strings.Contains(line, bad.want) {
			t.Errorf("mount of %s (%s): error lacks %q: %q", bad.uri, bad.name, bad.want, line)
		}
		if took > 20*time.Second {
			t.Errorf("mount of %s (%s) took %v", bad.uri, bad.name, took)
		}
		c.fails("fs", "stat", "/bad")
	}
	if out := c.ok("fs", "mount"); strings.Contains(out, "/dead") || strings.Contains(out, "/bad") {
		t.Errorf("mount table has the failed mount /dead:\n%s", out)
	}
	// Still serving: a write through to HDFS works.
	c.ok("fs", "mkdir", "/alive")
	if !u.exists("alive") {
		t.Errorf("mkdir /alive after the failed mount is not in HDFS")
	}
}

// TestIntegrationHDFSUFSEdgeCases: names that need escaping in a URI,
// empty persisted files, a directory rename, a cold read at an offset, a
// freed file read through again, and a master restart.
func TestIntegrationHDFSUFSEdgeCases(t *testing.T) {
	u := newHDFSUFS(t)
	odd := []string{"a b.txt", "100%.txt", "x#y.txt", "q?r.txt", "ünï.txt", "semi;colon.txt"}
	for i, n := range odd {
		u.put("odd/"+n, []byte(fmt.Sprintf("file %d %s\n", i, n)))
	}
	big := randomBytes(t, 4*hdfsUFSBlock+99)
	u.put("pre/big.bin", big)
	c := newHDFSRootCluster(t, u, nil)
	fsys := c.client()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	entries, err := fsys.ListStatus(ctx, "/odd")
	if err != nil {
		t.Fatalf("ListStatus /odd: %v", err)
	}
	if len(entries) != len(odd) {
		t.Errorf("ListStatus /odd: %d entries, want %d", len(entries), len(odd))
	}
	for i, n := range odd {
		want := fmt.Sprintf("file %d %s\n", i, n)
		if got, err := readFile(ctx, fsys, "/odd/"+n); err != nil || string(got) != want {
			t.Errorf("read /odd/%s: %q, %v; want %q", n, got, err, want)
		}
		// Written by Alluxio, persisted under the same odd name.
		p := "/odd/new " + n
		if err := createFile(ctx, fsys, p, []byte(want), client.CacheThrough); err != nil {
			t.Errorf("create %q: %v", p, err)
			continue
		}
		u.wantFile(p, []byte(want))
	}

	// Cold read at an offset inside the third block.
	r, err := fsys.OpenFile(ctx, "/pre/big.bin")
	if err != nil {
		t.Fatalf("open big.bin: %v", err)
	}
	buf := make([]byte, 1000)
	off := int64(2*hdfsUFSBlock + 777)
	if n, err := r.ReadAt(buf, off); err != nil || n != len(buf) || !bytes.Equal(buf, big[off:off+int64(len(buf))]) {
		t.Errorf("ReadAt(%d): %d bytes, %v, equal %v", off, n, err, bytes.Equal(buf[:n], big[off:off+int64(n)]))
	}
	r.Close()
	if got, err := readFile(ctx, fsys, "/pre/big.bin"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read big.bin after a partial read: %d bytes, %v", len(got), err)
	}
	// Freed, then read through from HDFS again. Free only frees blocks the
	// master knows to be cached: first wait for the worker to commit the
	// blocks it is still caching from the reads above.
	waitInAlluxio(ctx, t, fsys, "/pre/big.bin", 100, "after a full read")
	if err := fsys.Free(ctx, "/pre/big.bin"); err != nil {
		t.Fatalf("free: %v", err)
	}
	waitInAlluxio(ctx, t, fsys, "/pre/big.bin", 0, "after free")
	if got := c.ok("fs", "cat", "/pre/big.bin"); !bytes.Equal([]byte(got), big) {
		t.Fatalf("cat after free: %d bytes, want %d", len(got), len(big))
	}

	// Empty files of each persisting write type.
	for _, wt := range []client.WriteType{client.CacheThrough, client.Through, client.AsyncThrough} {
		p := "/empty-" + strings.ToLower(wt.String())
		if err := createFile(ctx, fsys, p, nil, wt); err != nil {
			t.Errorf("create empty %s: %v", wt, err)
			continue
		}
		if wt != client.AsyncThrough {
			u.wantFile(p, []byte{})
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for !u.exists("empty-async_through") {
		if time.Now().After(deadline) {
			st, err := fsys.GetStatus(ctx, "/empty-async_through")
			t.Fatalf("empty ASYNC_THROUGH file not in HDFS after 20s: %+v %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A directory rename moves the persisted tree in HDFS.
	c.ok("fs", "mv", "/pre", "/post")
	u.wantAbsent("pre")
	u.wantFile("post/big.bin", big)
	if got := c.ok("fs", "cat", "/post/big.bin"); !bytes.Equal([]byte(got), big) {
		t.Fatalf("cat after directory rename: %d bytes", len(got))
	}

	// A master restart keeps the HDFS root mount and the loaded metadata.
	c.kill(c.master, 9)
	c.startMaster()
	c.waitWorkers(1)
	if got := c.ok("fs", "cat", "/post/big.bin"); !bytes.Equal([]byte(got), big) {
		t.Fatalf("cat after master restart: %d bytes", len(got))
	}
	u.put("late/file.txt", []byte("late\n"))
	if got := c.ok("fs", "cat", "/late/file.txt"); got != "late\n" {
		t.Fatalf("cat of a file made in HDFS after the restart: %q", got)
	}
}

// TestIntegrationHDFSUFSMountUser: a mount's HDFS user
// (alluxio.underfs.hdfs.user, a mount option; for the root mount
// alluxio.master.mount.table.root.option.alluxio.underfs.hdfs.user) is the
// owner of what Alluxio writes through that mount, whether the master
// (mkdir), the worker for a client (CACHE_THROUGH, THROUGH) or the worker
// for the master (ASYNC_THROUGH) writes it.
func TestIntegrationHDFSUFSMountUser(t *testing.T) {
	for _, root := range []bool{false, true} {
		name := "nested"
		if root {
			name = "root"
		}
		t.Run(name, func(t *testing.T) { testHDFSMountUser(t, root) })
	}
}

func testHDFSMountUser(t *testing.T, root bool) {
	const user = "alluxio-e2e-alice"
	u := newHDFSUFS(t)
	u.mkdirs("root")
	u.mkdirsOpen("alice")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	base := "/alice" // the Alluxio path of HDFS's <dir>/alice
	var c *cluster
	if root {
		base = ""
		c = newHDFSRootCluster(t, u, map[string]string{
			"alluxio.master.mount.table.root.ufs":                              u.uri("alice"),
			"alluxio.master.mount.table.root.option.alluxio.underfs.hdfs.user": user,
		})
	} else {
		c = newHDFSRootCluster(t, u, map[string]string{"alluxio.master.mount.table.root.ufs": u.uri("root")})
	}
	fsys := c.client()
	if !root {
		// The worker writes to the root mount first, so it has fetched
		// the mount table before /alice exists.
		if err := createFile(ctx, fsys, "/before.bin", []byte("x"), client.CacheThrough); err != nil {
			t.Fatalf("create /before.bin: %v", err)
		}
		c.ok("fs", "mount", "--option", "alluxio.underfs.hdfs.user="+user, "/alice", u.uri("alice"))
	}

	owner := func(rel string) string {
		t.Helper()
		ctx, cancel := u.ctx()
		defer cancel()
		st, err := u.fs.GetStatus(ctx, u.path(rel))
		if err != nil {
			t.Fatalf("HDFS stat %s: %v", rel, err)
		}
		return st.Owner
	}
	if err := fsys.CreateDirectory(ctx, base+"/dir", client.CacheThrough); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if got := owner("alice/dir"); got != user {
		t.Errorf("directory made by the master is owned by %q in HDFS; want the mount's user %q", got, user)
	}
	data := randomBytes(t, 2*hdfsUFSBlock+3)
	for _, wt := range []client.WriteType{client.CacheThrough, client.Through, client.AsyncThrough} {
		name := "/dir/" + strings.ToLower(wt.String())
		if err := createFile(ctx, fsys, base+name, data, wt); err != nil {
			t.Fatalf("create %s: %v", base+name, err)
		}
		rel := "alice" + name
		deadline := time.Now().Add(20 * time.Second)
		for !u.exists(rel) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not in HDFS after 20s", base+name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		u.wantFile(rel, data)
		if got := owner(rel); got != user {
			t.Errorf("%s file is owned by %q in HDFS; want the mount's user %q", wt, got, user)
		}
	}
	// Read through from HDFS by the worker, as the mount's user.
	if err := fsys.Free(ctx, base+"/dir/cache_through"); err != nil {
		t.Fatalf("free: %v", err)
	}
	if got := c.ok("fs", "cat", base+"/dir/cache_through"); !bytes.Equal([]byte(got), data) {
		t.Errorf("cat after free: %d bytes, want %d", len(got), len(data))
	}
}

// TestIntegrationHDFSUFSLargeDirAndOutage: a directory of more entries than
// one HDFS listing returns (dfs.ls.limit, 1000) is loaded whole; while HDFS
// is down, cached data is still read and an uncached read fails with an
// error; once HDFS is back (restarted on its port), the master and the
// worker use it again without a restart of their own.
func TestIntegrationHDFSUFSLargeDirAndOutage(t *testing.T) {
	u := newHDFSUFS(t)
	const n = 1100
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		go func(w int) {
			for i := w; i < n; i += 8 {
				if err := u.fs.Mkdirs(ctx, u.path(fmt.Sprintf("big/d%04d", i)), 0o755); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < 8; w++ {
		if err := <-errs; err != nil {
			t.Fatalf("HDFS mkdirs: %v", err)
		}
	}
	cached := randomBytes(t, 2*hdfsUFSBlock)
	cold := randomBytes(t, 2*hdfsUFSBlock)
	u.put("files/cached.bin", cached)
	u.put("files/cold.bin", cold)
	c := newHDFSRootCluster(t, u, map[string]string{"alluxio.user.rpc.retry.max.duration": "5s"})
	fsys := c.client()

	entries, err := fsys.ListStatus(ctx, "/big")
	if err != nil {
		t.Fatalf("ListStatus /big: %v", err)
	}
	if len(entries) != n {
		t.Fatalf("ListStatus /big: %d entries, want %d", len(entries), n)
	}
	if got := len(lsNames(c.ok("fs", "ls", "/big"))); got != n {
		t.Errorf("ls /big printed %d lines, want %d", got, n)
	}
	if got := c.ok("fs", "cat", "/files/cached.bin"); !bytes.Equal([]byte(got), cached) {
		t.Fatalf("cat cached.bin: %d bytes", len(got))
	}
	if _, err := fsys.GetStatus(ctx, "/files/cold.bin"); err != nil {
		t.Fatalf("GetStatus cold.bin: %v", err)
	}

	u.h.Stop()
	t.Log("HDFS stopped")
	if got := c.ok("fs", "cat", "/files/cached.bin"); !bytes.Equal([]byte(got), cached) {
		t.Errorf("cat of a cached file with HDFS down: %d bytes", len(got))
	}
	start := time.Now()
	line := c.fails("fs", "cat", "/files/cold.bin")
	t.Logf("cat of an uncached file with HDFS down: %q after %v", line, time.Since(start).Round(time.Millisecond))
	if c.master.Exited() || c.worker.Exited() {
		t.Fatalf("a process exited while HDFS was down")
	}

	u.h.Start()
	t.Log("HDFS started again")
	u.reopen()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _, code := c.cli("fs", "cat", "/files/cold.bin")
		if code == 0 && bytes.Equal([]byte(got), cold) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cold.bin not readable 30s after HDFS came back (exit %d, %d bytes)", code, len(got))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("cold.bin read through %v after HDFS came back", time.Since(deadline.Add(-30*time.Second)).Round(time.Millisecond))
	data := randomBytes(t, hdfsUFSBlock+1)
	if err := createFile(ctx, fsys, "/files/after.bin", data, client.CacheThrough); err != nil {
		t.Fatalf("CACHE_THROUGH after HDFS came back: %v", err)
	}
	u.wantFile("files/after.bin", data)
	// The master's first call on its HDFS connection from before the
	// restart may fail (EOF): the deletion is acknowledged, stays pending
	// in the journal and is retried every second until it is done.
	c.ok("fs", "rm", "/files/cached.bin")
	deadline = time.Now().Add(15 * time.Second)
	for u.exists("files/cached.bin") {
		if time.Now().After(deadline) {
			t.Fatalf("files/cached.bin still in HDFS 15s after fs rm")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIntegrationHDFSUFSPersistAndDelete: `fs persist` of a MUST_CACHE
// file, an overwrite of a persisted file, `fs load` of a cold one, `fs rm
// --alluxioOnly` (HDFS keeps the file and the next listing loads it
// again), and `fs rm -R` of a MUST_CACHE directory holding a CACHE_THROUGH
// file (the directory the worker made in HDFS goes too).
func TestIntegrationHDFSUFSPersistAndDelete(t *testing.T) {
	u := newHDFSUFS(t)
	cold := randomBytes(t, 3*hdfsUFSBlock+1)
	u.put("cold.bin", cold)
	c := newHDFSRootCluster(t, u, nil)
	fsys := c.client()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	data := randomBytes(t, 2*hdfsUFSBlock+17)
	if err := createFile(ctx, fsys, "/mc.bin", data, client.MustCache); err != nil {
		t.Fatalf("create MUST_CACHE: %v", err)
	}
	u.wantAbsent("mc.bin")
	c.ok("fs", "persist", "/mc.bin")
	u.wantFile("mc.bin", data)
	if st, err := fsys.GetStatus(ctx, "/mc.bin"); err != nil || !st.Persisted {
		t.Errorf("/mc.bin after fs persist: %+v, %v", st, err)
	}

	// Overwrite of a persisted file replaces HDFS's bytes.
	data2 := randomBytes(t, hdfsUFSBlock+3)
	w, err := fsys.CreateFile(ctx, "/mc.bin", client.CacheThrough, client.Overwrite())
	if err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if _, err := w.Write(data2); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("overwrite close: %v", err)
	}
	u.wantFile("mc.bin", data2)
	if got := c.ok("fs", "cat", "/mc.bin"); !bytes.Equal([]byte(got), data2) {
		t.Errorf("cat after overwrite: %d bytes, want %d", len(got), len(data2))
	}

	// fs load caches a cold file; it returns once the master counts every
	// block (the worker finishes caching a block just after serving it).
	c.ok("fs", "load", "/cold.bin")
	if st, err := fsys.GetStatus(ctx, "/cold.bin"); err != nil || st.InAlluxioPercentage != 100 {
		var where []string
		for _, b := range st.Blocks {
			where = append(where, fmt.Sprintf("%d+%d:%d locations", b.Offset, b.Length, len(b.Locations)))
		}
		t.Errorf("/cold.bin right after fs load: %d%% in Alluxio (blocks %v), %v", st.InAlluxioPercentage, where, err)
	}

	// --alluxioOnly keeps HDFS's copy; the next listing loads it again.
	c.ok("fs", "rm", "--alluxioOnly", "/cold.bin")
	u.wantFile("cold.bin", cold)
	wantNames(t, "ls /", lsNames(c.ok("fs", "ls", "/")), "/cold.bin")
	if got := c.ok("fs", "cat", "/cold.bin"); !bytes.Equal([]byte(got), cold) {
		t.Errorf("cat after rm --alluxioOnly and reload: %d bytes", len(got))
	}

	// A MUST_CACHE directory with a CACHE_THROUGH file in it.
	if err := fsys.CreateDirectory(ctx, "/mcdir/sub", client.MustCache, client.Recursive()); err != nil {
		t.Fatalf("mkdir MUST_CACHE: %v", err)
	}
	u.wantAbsent("mcdir")
	if err := createFile(ctx, fsys, "/mcdir/sub/f.bin", data, client.CacheThrough); err != nil {
		t.Fatalf("create in a MUST_CACHE dir: %v", err)
	}
	u.wantFile("mcdir/sub/f.bin", data)
	c.ok("fs", "rm", "-R", "/mcdir")
	deadline := time.Now().Add(10 * time.Second)
	for u.exists("mcdir") {
		if time.Now().After(deadline) {
			t.Fatalf("fs rm -R /mcdir left %s in HDFS (f.bin there: %v)", u.uri("mcdir"), u.exists("mcdir/sub/f.bin"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantNoName(t, "ls / after rm -R /mcdir", lsNames(c.ok("fs", "ls", "/")), "/mcdir")
}

func wantNoName(t *testing.T, what string, got []string, bad string) {
	t.Helper()
	for _, g := range got {
		if g == bad {
			t.Errorf("%s has %s: %v", what, bad, got)
		}
	}
}

// TestIntegrationHDFSUFSWholeHDFS: a local root UFS and the whole HDFS (a
// URI without a path, and with "/") mounted at a nested path.
func TestIntegrationHDFSUFSWholeHDFS(t *testing.T) {
	u := newHDFSUFS(t)
	data := randomBytes(t, hdfsUFSBlock+5)
	u.put("f.bin", data)
	c := newCluster(t, map[string]string{"alluxio.user.block.size.bytes.default": fmt.Sprint(hdfsUFSBlock)})
	c.ok("format")
	c.startMaster()
	c.startWorker()
	c.waitWorkers(1)
	for _, uri := range []string{u.h.URI, u.h.URI + "/"} {
		c.ok("fs", "mount", "/whole", uri)
		wantNames(t, "ls /whole ("+uri+")", lsNames(c.ok("fs", "ls", "/whole")), "/whole"+u.dir)
		if got := c.ok("fs", "cat", "/whole"+u.dir+"/f.bin"); !bytes.Equal([]byte(got), data) {
			t.Errorf("cat through %s: %d bytes, want %d", uri, len(got), len(data))
		}
		c.ok("-D", "alluxio.user.file.writetype.default=THROUGH", "fs", "copyFromLocal", writeLocal(t, data), "/whole"+u.dir+"/g.bin")
		u.wantFile("g.bin", data)
		c.ok("fs", "rm", "/whole"+u.dir+"/g.bin")
		u.wantAbsent("g.bin")
		c.ok("fs", "unmount", "/whole")
	}
}

func writeLocal(t *testing.T, data []byte) string {
	t.Helper()
	p := t.TempDir() + "/local.bin"
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIntegrationHDFSUFSMountUserPermission: the worker reads a mount's
// files as the mount's HDFS user, so HDFS's permissions hold: a file that
// user may not read fails with a permission error, not read by the
// worker's (super)user.
func TestIntegrationHDFSUFSMountUserPermission(t *testing.T) {
	const owner, other = "alluxio-e2e-alice", "alluxio-e2e-bob"
	u := newHDFSUFS(t)
	u.mkdirsOpen("view")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	asOwner, err := ufs.NewRegistry().Open(ctx, u.h.URI+"/", map[string]string{ufs.HDFSUserProperty: owner})
	if err != nil {
		t.Fatal(err)
	}
	defer asOwner.Close()
	for name, mode := range map[string]uint32{"secret.bin": 0o600, "public.bin": 0o644} {
		w, err := asOwner.Create(ctx, u.path("view/"+name), ufs.CreateOptions{Mode: mode})
		if err != nil {
			t.Fatalf("create %s as %s: %v", name, owner, err)
		}
		if _, err := w.Write([]byte(name)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	u.mkdirs("root")
	c := newHDFSRootCluster(t, u, map[string]string{"alluxio.master.mount.table.root.ufs": u.uri("root")})
	c.ok("fs", "mount", "--option", "alluxio.underfs.hdfs.user="+other, "/bob", u.uri("view"))
	if got := c.ok("fs", "cat", "/bob/public.bin"); got != "public.bin" {
		t.Errorf("cat of a world-readable file as %s: %q", other, got)
	}
	line := c.fails("fs", "cat", "/bob/secret.bin")
	t.Logf("cat of a 0600 file of %s as %s: %q", owner, other, line)
	if !strings.Contains(strings.ToLower(line), "permission") {
		t.Errorf("cat of a file the mount's user may not read: want a permission error, got %q", line)
	}
}

// waitInAlluxio polls until path is pct% in Alluxio, failing t after 20 s.
func waitInAlluxio(ctx context.Context, t *testing.T, fsys *client.FileSystem, path string, pct int, when string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := fsys.GetStatus(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if st.InAlluxioPercentage == pct {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %d%% in Alluxio 20s %s, want %d%%", path, st.InAlluxioPercentage, when, pct)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
