package journalstore

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/hdfstest"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

// TestIntegrationHDFSStopAndStart: while HDFS is down a log's Sync fails
// with an error naming the URI (rpcstatus.ErrUnavailable), within the
// bounded retries; once HDFS is back another Storage reads the open log
// (whose replica now waits for recovery), the same Storage works again (its
// client dials anew), and Recover returns every byte synced before the stop.
// It stops the package's shared cluster and starts it again (Shared would
// also restart it for a later test).
func TestIntegrationHDFSStopAndStart(t *testing.T) {
	c := sharedHDFS.Cluster(t)
	ctx := testCtx(t)
	st := openT(t, c.URI+"/restart", nil)
	f, err := st.Create(ctx, "log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("before;")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	// A second open log, recovered directly (no reader first) after the
	// restart, as a new leader that fences before it reads.
	d, err := st.Create(ctx, "direct")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]byte("synced;")); err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}

	c.Stop()
	start := time.Now()
	_, err = f.Write([]byte("during;"))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		t.Fatal("Write+Sync succeeded with HDFS stopped")
	}
	if !errors.Is(err, rpcstatus.ErrUnavailable) || !strings.Contains(err.Error(), c.URI) {
		t.Errorf("err = %v; want one naming %s, wrapping ErrUnavailable", err, c.URI)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("the failure took %v", d)
	}
	t.Logf("with HDFS stopped after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("a failed log accepted another Write")
	}
	f.Close()

	c.Start()
	// Another master reads the open log before anyone recovered it: the
	// DataNode restarted, so the replica waits for recovery and is not
	// readable; the reader recovers the lease and reads every synced byte.
	other := reopen(t, st)
	defer other.Close()
	var got []byte
	deadline := time.Now().Add(time.Minute)
	for {
		var r io.ReadCloser
		r, err = other.Open(ctx, "log", 0)
		if err == nil {
			got, err = io.ReadAll(r)
			r.Close()
		}
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // the NameNode leaves safe mode
	}
	if err != nil || string(got) != "before;" {
		t.Fatalf("reading the open log after the restart: %q, %v; want %q", got, err, "before;")
	}
	// The same Storage reconnects; Recover returns the synced bytes.
	var size int64
	deadline = time.Now().Add(time.Minute)
	for {
		size, err = st.Recover(ctx, "log")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // the NameNode leaves safe mode
	}
	if err != nil {
		t.Fatalf("Recover after HDFS came back: %v", err)
	}
	if size != int64(len("before;")) {
		t.Errorf("recovered length %d, want %d", size, len("before;"))
	}
	// Recover of an open log whose replica waits for recovery (RWR).
	if size, err := other.Recover(ctx, "direct"); err != nil || size != int64(len("synced;")) {
		t.Errorf("Recover of the other open log after the restart = %d, %v; want %d", size, err, len("synced;"))
	}
	if got := read(t, other, "direct"); got != "synced;" {
		t.Errorf("recovered open log holds %q, want %q", got, "synced;")
	}
	d.Close()
	g, err := st.Create(ctx, "log2")
	if err != nil {
		t.Fatalf("Create after HDFS came back: %v", err)
	}
	if _, err := g.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("Close after HDFS came back: %v", err)
	}
}

// TestIntegrationHDFSNameservice: a journal folder on an HA nameservice
// (hdfs://minihdfs/..., NameNodes from HADOOP_CONF_DIR) keeps its open log
// across a NameNode failover: the pipeline to the DataNode stays, and the
// next Sync's fsync reaches the new active NameNode, which knows the lease.
func TestIntegrationHDFSNameservice(t *testing.T) {
	c := hdfstest.Start(t, hdfstest.WithHA())
	t.Setenv("HADOOP_CONF_DIR", c.HAConfDir)
	ctx := testCtx(t)
	st := openT(t, "hdfs://minihdfs/journal", nil)
	if st.URI() != "hdfs://minihdfs/journal" {
		t.Errorf("URI() = %q", st.URI())
	}
	f, err := st.Create(ctx, "log")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"nn1;", "more;"} {
		if _, err := f.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	c.Failover()
	if _, err := f.Write([]byte("nn2;")); err != nil {
		t.Fatalf("Write after failover: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync after failover: %v", err)
	}
	if fi, err := st.Stat(ctx, "log"); err != nil || fi.ID != f.ID() || fi.Size != int64(len("nn1;more;nn2;")) {
		t.Fatalf("Stat after failover = %+v, %v; want ID %d, size %d", fi, err, f.ID(), len("nn1;more;nn2;"))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := st.Open(ctx, "log", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "nn1;more;nn2;" {
		t.Fatalf("log after failover holds %q, %v", b, err)
	}
}
