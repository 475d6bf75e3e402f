package torture

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client"
)

// TestIntegrationAbandonedCreateStaysGone: found by the long torture run
// (seed 1) as "lists f002677, which must not exist": client 0's create of
// /torture/c0/f002677 failed with "close UFS file on worker 127.0.0.1:P:
// error reading from server: EOF" (the worker was killed right after it
// had completed the UFS file); the client abandoned the file (journal:
// DeleteFileEntry of the incomplete inode), the definite failure it
// reported; but the UFS kept the complete 1933-byte file, and the next
// listing loaded it (an InodeFileEntry without operation id, PERSISTED):
// the file exists with the bytes of a create reported as failed.
//
// Deterministic: the worker advertises 127.0.0.2 and listens on 127.0.0.1;
// a proxy on 127.0.0.2 forwards client<->worker traffic and, once the
// file's final UFS name exists, closes the connection instead of passing
// on the worker's next answer (the close of the UFS file).
func TestIntegrationAbandonedCreateStaysGone(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test runs ZooKeeper and real processes")
	}
	c := newCluster(t, clusterConfig{masters: 1, workers: 1, zkServers: 1, noNetns: true})
	w := c.workers[0]
	w.props["alluxio.worker.bind.host"] = "127.0.0.1"
	w.props["alluxio.worker.hostname"] = "127.0.0.2"
	w.host = "127.0.0.2"
	writeProps(t, w.confDir, w.props)
	ufsFile := filepath.Join(c.ufs, "f")
	var armed sync.Mutex
	arm := false
	p := newHoldProxy(t, net.JoinHostPort("127.0.0.2", strconv.Itoa(w.rpcPort)), net.JoinHostPort("127.0.0.1", strconv.Itoa(w.rpcPort)), func() bool {
		armed.Lock()
		defer armed.Unlock()
		if !arm {
			return false
		}
		_, err := os.Stat(ufsFile)
		return err == nil
	})
	_ = p
	c.startAll()
	fsys := c.mustClient(map[string]string{"alluxio.user.rpc.retry.max.duration": "5s"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fw, err := fsys.CreateFile(ctx, "/f", client.CacheThrough)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(Content(1, 0, 0, 1933)); err != nil {
		t.Fatal(err)
	}
	armed.Lock()
	arm = true
	armed.Unlock()
	cerr := fw.Close()
	t.Logf("Close: %v", cerr)
	if cerr == nil {
		t.Fatalf("set-up: Close succeeded; the proxy did not cut the answer")
	}
	if Classify(cerr) == Indeterminate {
		t.Skipf("Close failed indeterminately (%v): nothing to check", cerr)
	}
	// A definite failure: the file must not exist, now or after a listing
	// (which loads metadata from the UFS).
	if _, err := fsys.ListStatus(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	if ok, err := fsys.Exists(ctx, "/f"); err != nil || ok {
		_, uerr := os.Stat(ufsFile)
		t.Errorf("/f exists=%v (err %v) after a create reported as a definite failure (%v); UFS file present: %v", ok, err, cerr, uerr == nil)
	}
}

// holdProxy forwards connections from listen to target; before passing on
// each chunk the target sends, it asks cut(): if true it closes the
// connection instead.
func newHoldProxy(t *testing.T, listen, target string, cut func() bool) net.Listener {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				in.Close()
				continue
			}
			closeBoth := func() { in.Close(); out.Close() }
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := in.Read(buf)
					if n > 0 {
						if _, werr := out.Write(buf[:n]); werr != nil {
							closeBoth()
							return
						}
					}
					if err != nil {
						closeBoth()
						return
					}
				}
			}()
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := out.Read(buf)
					if n > 0 {
						if cut() {
							closeBoth()
							return
						}
						if _, werr := in.Write(buf[:n]); werr != nil {
							closeBoth()
							return
						}
					}
					if err != nil {
						closeBoth()
						return
					}
				}
			}()
		}
	}()
	return ln
}
