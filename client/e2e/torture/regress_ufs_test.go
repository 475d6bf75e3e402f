package torture

import (
	"context"
	"fmt"
	"path"
	"syscall"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client"
)

// TestIntegrationDeposedLeaderRenameLeavesUFS (bug T5, fixed by eecf0c9
// "UFS renames and deletions are journaled with their namespace change and
// performed after it is durable"): found by a short torture run (seed 3,
// binaries of 86c5d76) as "indeterminate rename ... source present=true and
// target present=true", "complete file /torture/c3/r000450 is missing from
// the UFS": a rename reached the leader while it was paused past the
// session timeout; after SIGCONT the deposed leader renamed the file in
// the UFS although its journal entry was fenced (never in the history), so
// the namespace kept the source, whose UFS file was gone, and the next
// listing loaded the destination from the UFS as a new file: one file
// twice, one of them without its UFS copy.
//
// Deterministic: the leader is stopped, a rename is sent to it (queued by
// the kernel), another master takes over, the old leader resumes well past
// the session timeout and handles the queued rename; the namespace and the
// UFS must then agree.
func TestIntegrationDeposedLeaderRenameLeavesUFS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test runs ZooKeeper and real processes")
	}
	c := newCluster(t, clusterConfig{masters: 2, workers: 1, zkServers: 1, noNetns: true})
	c.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fsys := c.mustClient(nil)
	if err := fsys.CreateDirectory(ctx, "/d"); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := 0; i < n; i++ {
		if err := writeFile(ctx, fsys, fmt.Sprintf("/d/f%d", i), Content(1, 0, i, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	old, _, err := c.waitLeader(nil, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.clientConfig(map[string]string{"alluxio.zookeeper.enabled": "false", "alluxio.user.rpc.retry.max.duration": "3s"})
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := client.NewFromConfig(ctx, cfg, client.WithMasterAddress(old.addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer pinned.Close()
	if err := c.signal(old, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	// Several renames, so that some reach the handler before the resumed
	// master notices it was deposed.
	done := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			rctx, rcancel := context.WithTimeout(ctx, 60*time.Second)
			defer rcancel()
			done <- pinned.Rename(rctx, fmt.Sprintf("/d/f%d", i), fmt.Sprintf("/d/g%d", i))
		}()
	}
	if _, _, err := c.waitLeader(old, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for time.Since(paused) < 2*sessionTimeout {
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	if err := c.signal(old, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-done:
			if i == 0 {
				t.Logf("a rename sent to the paused leader: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the renames sent to the paused leader did not return within 60s of SIGCONT")
		}
	}
	if err := c.waitRole(old, "STANDBY", 45*time.Second); err != nil {
		t.Fatal(err)
	}
	// Let the new leader settle any UFS operation it inherited, then compare.
	final, err := finalState(fsys, "/d")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		_, f := final[fmt.Sprintf("/d/f%d", i)]
		_, g := final[fmt.Sprintf("/d/g%d", i)]
		if f == g {
			t.Errorf("after a rename sent to the deposed leader: /d/f%d present=%v, /d/g%d present=%v, want exactly one", i, f, i, g)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ufs, err := ufsState(c.ufs, "/d")
		if err != nil {
			t.Fatal(err)
		}
		bad, _ := CheckUFS(final, ufs, "/d")
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, b := range bad {
				t.Errorf("UFS and namespace disagree: %s", b)
			}
			t.Logf("namespace: %v; UFS: %v", keys(final), keys(ufs))
			break
		}
		time.Sleep(100 * time.Millisecond) // poll interval: a UFS operation may still be running
	}
}

func keys(m map[string]Entry) []string {
	var out []string
	for k := range m {
		out = append(out, path.Base(k))
	}
	return out
}
