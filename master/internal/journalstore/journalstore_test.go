package journalstore

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/common/hdfstest"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/master/internal/journal/storagetest"
)

// sharedHDFS is one HDFS for every test of the package.
var sharedHDFS = &hdfstest.Shared{}

func TestMain(m *testing.M) {
	code := m.Run()
	sharedHDFS.Close()
	os.Exit(code)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func openT(t *testing.T, folder string, props map[string]string) journal.Storage {
	t.Helper()
	s, err := Open(testCtx(t), folder, props)
	if err != nil {
		t.Fatalf("Open(%s): %v", folder, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reopen opens a second, independent handle on the folder of s, as another
// master process would.
func reopen(t *testing.T, s journal.Storage) journal.Storage {
	t.Helper()
	o, err := Open(testCtx(t), s.URI(), nil)
	if err != nil {
		t.Fatalf("Open(%s) again: %v", s.URI(), err)
	}
	return o
}

// TestLocalConformance runs the journal's storage suite on the storage Open
// picks for a local path.
func TestLocalConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) journal.Storage {
		s, err := Open(testCtx(t), filepath.Join(t.TempDir(), "j"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storagetest.Options{Reopen: reopen})
}

func TestLocalFileURI(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, "file://"+dir+"/j", nil)
	if err := s.Mkdirs(testCtx(t), "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "j", "x")); err != nil {
		t.Fatalf("file:// folder is not the local directory: %v", err)
	}
}

// TestLocalFileURIOddName checks that a file:// folder is a path taken
// verbatim (ufs.ParseURI), not a percent-encoded URL.
func TestLocalFileURIOddName(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, "file://"+dir+"/j%1#x", nil)
	if err := s.Mkdirs(testCtx(t), "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "j%1#x", "x")); err != nil {
		t.Fatalf("file:// folder is not the local directory of that name: %v", err)
	}
}

func TestOpenBadFolder(t *testing.T) {
	for _, folder := range []string{"s3://bucket/j", "gs://b/j", "hdfs://", "file://otherhost/j", ""} {
		_, err := Open(testCtx(t), folder, nil)
		if err == nil {
			t.Errorf("Open(%q) succeeded", folder)
			continue
		}
		if strings.Contains(err.Error(), "\n") || (folder != "" && !strings.Contains(err.Error(), folder)) {
			t.Errorf("Open(%q): %q is not one line naming the folder", folder, err)
		}
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestOpenUnreachableNameNode(t *testing.T) {
	uri := "hdfs://127.0.0.1:" + strconv.Itoa(closedPort(t)) + "/j"
	start := time.Now()
	_, err := Open(testCtx(t), uri, map[string]string{ufs.HDFSDialTimeoutProperty: "2s"})
	if err == nil {
		t.Fatal("Open of an unreachable NameNode succeeded")
	}
	if !errors.Is(err, rpcstatus.ErrUnavailable) || !strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %q; want one line naming the NameNode, wrapping ErrUnavailable", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Open took %v", d)
	}
}

// TestIntegrationHDFSConformance runs the same suite on the shared HDFS,
// one folder per sub-test.
func TestIntegrationHDFSConformance(t *testing.T) {
	c := sharedHDFS.Cluster(t)
	n := 0
	storagetest.Run(t, func(t *testing.T) journal.Storage {
		n++
		s, err := Open(testCtx(t), c.URI+"/conformance/"+strconv.Itoa(n), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storagetest.Options{RecoverFences: true, Reopen: reopen})
}

// TestIntegrationHDFSPermissionDenied: a 0700 folder of the cluster's
// superuser, opened as another HDFS user, fails at Open naming the user.
func TestIntegrationHDFSPermissionDenied(t *testing.T) {
	c := sharedHDFS.Cluster(t)
	ctx := testCtx(t)
	admin, err := ufs.DialHDFS(ctx, c.URI, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Mkdirs(ctx, "/private", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := admin.Chmod(ctx, "/private", 0o700); err != nil {
		t.Fatal(err)
	}
	for _, folder := range []string{c.URI + "/private", c.URI + "/private/journal"} {
		_, err = Open(ctx, folder, map[string]string{ufs.HDFSUserProperty: "mallory"})
		if err == nil {
			t.Fatalf("Open(%s) as another user succeeded", folder)
		}
		if !errors.Is(err, rpcstatus.ErrPermissionDenied) || !strings.Contains(err.Error(), "mallory") ||
			!strings.Contains(err.Error(), folder) || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %q; want one line naming the user and folder, wrapping ErrPermissionDenied", err)
		}
	}
	// The owner may use it.
	openT(t, c.URI+"/private/journal", nil)
}
