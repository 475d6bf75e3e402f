package ufs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/hdfstest"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/common/ufs/ufstest"
	hdfs "github.com/colinmarc/hdfs/v2"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentServer accepts connections and never answers, like a hung NameNode.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestHDFSUnreachable(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		addr  string
		props map[string]string
	}{
		{"connection refused", closedPort(t), nil},
		{"NameNode never answers", silentServer(t), map[string]string{ufs.HDFSRPCTimeoutProperty: "500ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri := "hdfs://" + tt.addr + "/data"
			for _, open := range []struct {
				how string
				fn  func() (ufs.UnderFileSystem, error)
			}{
				{"NewHDFS", func() (ufs.UnderFileSystem, error) { return ufs.NewHDFS(ctx, uri, tt.props) }},
				{"Registry.Open", func() (ufs.UnderFileSystem, error) { return ufs.NewRegistry().Open(ctx, uri, tt.props) }},
			} {
				start := time.Now()
				u, err := open.fn()
				took := time.Since(start)
				if err == nil {
					u.Close()
					t.Fatalf("%s(%s) succeeded", open.how, uri)
				}
				t.Logf("%s: %v after %v", open.how, err, took)
				if !strings.Contains(err.Error(), "hdfs://"+tt.addr) {
					t.Errorf("%s: error does not name the URI: %v", open.how, err)
				}
				if !errors.Is(err, rpcstatus.ErrUnavailable) {
					t.Errorf("%s: error is not ErrUnavailable: %v", open.how, err)
				}
				if took > 5*time.Second {
					t.Errorf("%s took %v", open.how, took)
				}
			}
		})
	}
	t.Run("context deadline", func(t *testing.T) {
		addr := silentServer(t)
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := ufs.NewHDFS(ctx, "hdfs://"+addr+"/", nil) // default RPC timeout: 60s
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), addr) {
			t.Errorf("err = %v, want a deadline error naming %s", err, addr)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("took %v", took)
		}
	})
}

func TestIntegrationHDFSConformance(t *testing.T) {
	c := hdfstest.Start(t)
	n := 0
	ufstest.Run(t, func(t *testing.T) (ufs.UnderFileSystem, string) {
		n++
		u, err := ufs.NewHDFS(context.Background(), c.URI, nil)
		if err != nil {
			t.Fatal(err)
		}
		return u, fmt.Sprintf("%s/conformance/%d", c.URI, n)
	})
	// Absolute paths (no scheme) name the same files.
	ufstest.Run(t, func(t *testing.T) (ufs.UnderFileSystem, string) {
		n++
		u, err := ufs.NewRegistry().Open(context.Background(), c.URI+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		return u, fmt.Sprintf("/conformance/%d", n)
	})
}

func readAll(t *testing.T, u ufs.UnderFileSystem, p string, off int64) []byte {
	t.Helper()
	r, err := u.Open(context.Background(), p, off)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", p, off, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return b
}

func writeFile(t *testing.T, u ufs.UnderFileSystem, p string, data []byte, opts ufs.CreateOptions) {
	t.Helper()
	w, err := u.Create(context.Background(), p, opts)
	if err != nil {
		t.Fatalf("Create(%s): %v", p, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("Write(%s): %v", p, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close(%s): %v", p, err)
	}
}

func TestIntegrationHDFS(t *testing.T) {
	// 1MB blocks (the NameNode's minimum) so a few MB span several blocks,
	// and the DataNode reports new blocks in batches every 300ms, so Close
	// regularly finds a block not yet reported.
	c := hdfstest.Start(t, hdfstest.WithConf("dfs.blocksize", "1048576"),
		hdfstest.WithConf("dfs.blockreport.incremental.intervalMsec", "300"))
	ctx := context.Background()
	reg := ufs.NewRegistry()
	u, err := reg.Open(ctx, c.URI+"/mnt", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()

	t.Run("RegistryOpen", func(t *testing.T) {
		if err := u.Mkdirs(ctx, c.URI+"/mnt", 0o755); err != nil {
			t.Fatal(err)
		}
		st, err := u.GetStatus(ctx, c.URI+"/mnt")
		if err != nil || !st.IsDir || st.Owner == "" {
			t.Fatalf("GetStatus(mount) = %+v, %v", st, err)
		}
		// A second Open of the same cluster shares the connection and
		// closing it leaves the first usable.
		u2, err := reg.Open(ctx, c.URI+"/mnt/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		u2.Close()
		if _, err := u.List(ctx, c.URI+"/mnt"); err != nil {
			t.Fatalf("List after closing a second backend: %v", err)
		}
		if _, err := u.List(ctx, "hdfs://other:8020/mnt"); err == nil {
			t.Error("List of another cluster's URI succeeded")
		}
	})

	t.Run("MultiBlockFile", func(t *testing.T) {
		// Two blocks: the NameNode closes the file only once the first is
		// reported, and until then does not take the second from the
		// close call, so Close's retries must resend it. (Three or more
		// blocks meet the same wait when adding a block: see
		// TestIntegrationHDFSAddBlockRetry.)
		data := make([]byte, 1024*1024+12345)
		for i := range data {
			data[i] = byte(i*7 + i/4096)
		}
		// Several files: closing one whose previous block the DataNode has
		// not yet reported needs Close's retry to resend the last block.
		for i := 0; i < 5; i++ {
			p := fmt.Sprintf("%s/mnt/big%d", c.URI, i)
			writeFile(t, u, p, data, ufs.CreateOptions{CreateParent: true})
			st, err := u.GetStatus(ctx, p)
			if err != nil || st.Length != int64(len(data)) {
				t.Fatalf("GetStatus = %+v, %v", st, err)
			}
			for _, off := range []int64{0, 1, 1024*1024 - 1, 1024 * 1024, 1024*1024 + 1, int64(len(data))} {
				if got := readAll(t, u, p, off); !bytes.Equal(got, data[off:]) {
					t.Errorf("%s: read at %d: %d bytes, want %d (equal prefix: %v)", p, off, len(got), len(data)-int(off), bytes.HasPrefix(data[off:], got))
				}
			}
		}
		// A file of exactly one block.
		writeFile(t, u, c.URI+"/mnt/oneblock", data[:1024*1024], ufs.CreateOptions{})
		if got := readAll(t, u, c.URI+"/mnt/oneblock", 0); !bytes.Equal(got, data[:1024*1024]) {
			t.Errorf("one-block file: %d bytes", len(got))
		}
	})

	t.Run("DeleteNonEmptyDirectory", func(t *testing.T) {
		writeFile(t, u, c.URI+"/mnt/full/f", []byte("x"), ufs.CreateOptions{CreateParent: true})
		err := u.Delete(ctx, c.URI+"/mnt/full", false)
		if !errors.Is(err, rpcstatus.ErrDirectoryNotEmpty) {
			t.Errorf("Delete(non-empty, not recursive) = %v, want ErrDirectoryNotEmpty", err)
		}
	})

	t.Run("PermissionDenied", func(t *testing.T) {
		if err := u.Mkdirs(ctx, c.URI+"/mnt/private", 0o700); err != nil {
			t.Fatal(err)
		}
		nobody, err := ufs.NewHDFS(ctx, c.URI, map[string]string{ufs.HDFSUserProperty: "nobody"})
		if err != nil {
			t.Fatal(err)
		}
		defer nobody.Close()
		_, err = nobody.Create(ctx, c.URI+"/mnt/private/f", ufs.CreateOptions{})
		if !errors.Is(err, rpcstatus.ErrPermissionDenied) || !strings.Contains(err.Error(), "nobody") {
			t.Errorf("Create as nobody in a 0700 directory: %v", err)
		}
	})

	t.Run("RecoverLeaseFencesWriter", func(t *testing.T) {
		// The old writer: a client of its own holding the lease.
		old, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{c.NameNodeAddr}, User: "root"})
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		if err := old.MkdirAll("/mnt/journal", 0o755); err != nil {
			t.Fatal(err)
		}
		fw, err := old.Create("/mnt/journal/log")
		if err != nil {
			t.Fatal(err)
		}
		first := bytes.Repeat([]byte("a"), 100*1024)
		if _, err := fw.Write(first); err != nil {
			t.Fatal(err)
		}
		if err := fw.Flush(); err != nil {
			t.Fatal(err)
		}
		lr, ok := u.(ufs.LeaseRecoverer)
		if !ok {
			t.Fatal("the HDFS backend is not a LeaseRecoverer")
		}
		// The new writer recovers the lease; it polls until the file is closed.
		deadline := time.Now().Add(60 * time.Second)
		for {
			closed, err := lr.RecoverLease(ctx, c.URI+"/mnt/journal/log")
			if err != nil {
				t.Fatalf("RecoverLease: %v", err)
			}
			if closed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("lease not recovered within 60s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		st, err := u.GetStatus(ctx, c.URI+"/mnt/journal/log")
		if err != nil {
			t.Fatal(err)
		}
		recovered := st.Length
		// The deposed writer can no longer add bytes.
		fw.Write(bytes.Repeat([]byte("b"), 100*1024))
		if err := fw.Close(); err == nil {
			t.Error("the deposed writer's Close succeeded after lease recovery")
		} else {
			t.Logf("deposed writer's Close: %v", err)
		}
		got := readAll(t, u, c.URI+"/mnt/journal/log", 0)
		if int64(len(got)) != recovered || bytes.ContainsRune(got, 'b') {
			t.Errorf("after recovery the file has %d bytes (recovered length %d), with deposed bytes: %v", len(got), recovered, bytes.ContainsRune(got, 'b'))
		}
		// Recovering a closed file's lease is a no-op that reports closed.
		if closed, err := lr.RecoverLease(ctx, c.URI+"/mnt/journal/log"); err != nil || !closed {
			t.Errorf("RecoverLease of a closed file = %v, %v", closed, err)
		}
	})

	// Last: HDFS goes down under an open backend and comes back.
	t.Run("StopAndRestart", func(t *testing.T) {
		writeFile(t, u, c.URI+"/mnt/survivor", []byte("still here"), ufs.CreateOptions{})
		c.Stop()
		start := time.Now()
		_, err := u.GetStatus(ctx, c.URI+"/mnt/survivor")
		if !errors.Is(err, rpcstatus.ErrUnavailable) || !strings.Contains(err.Error(), c.URI) {
			t.Errorf("GetStatus with HDFS down: %v, want ErrUnavailable naming %s", err, c.URI)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("GetStatus with HDFS down took %v", took)
		}
		c.Start()
		// The same backend reconnects by itself (the client backs off for
		// up to 5s after a failure).
		start = time.Now()
		for {
			_, err := u.GetStatus(ctx, c.URI+"/mnt/survivor")
			if err == nil {
				break
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("no reconnection within 30s: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("reconnected %v after HDFS served again", time.Since(start).Round(time.Millisecond))
		if got := readAll(t, u, c.URI+"/mnt/survivor", 0); string(got) != "still here" {
			t.Errorf("content after restart = %q", got)
		}
		writeFile(t, u, c.URI+"/mnt/after", []byte("new"), ufs.CreateOptions{})
	})
}

// TestIntegrationHDFSHA mounts an HA nameservice by name, resolved from
// HADOOP_CONF_DIR, and keeps working across a NameNode failover.
func TestIntegrationHDFSHA(t *testing.T) {
	c := hdfstest.Start(t, hdfstest.WithHA())
	t.Setenv("HADOOP_CONF_DIR", c.HAConfDir)
	ctx := context.Background()
	u, err := ufs.NewRegistry().Open(ctx, "hdfs://minihdfs/ha", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	writeFile(t, u, "hdfs://minihdfs/ha/before", []byte("nn1"), ufs.CreateOptions{CreateParent: true})
	c.Failover()
	if a := c.Active(); a != "nn2" {
		t.Fatalf("active NameNode after failover: %q", a)
	}
	// The client finds the standby, moves to the other NameNode and goes on.
	if got := readAll(t, u, "hdfs://minihdfs/ha/before", 0); string(got) != "nn1" {
		t.Errorf("content after failover = %q", got)
	}
	writeFile(t, u, "/ha/after", []byte("nn2"), ufs.CreateOptions{})
	st, err := u.List(ctx, "hdfs://minihdfs/ha")
	if err != nil || len(st) != 2 {
		t.Errorf("List after failover = %+v, %v", st, err)
	}
}
