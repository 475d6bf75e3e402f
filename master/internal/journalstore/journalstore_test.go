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

// TestParseFolder: the forms of alluxio.master.journal.folder, with
// Hadoop's Path semantics for file: URIs.
func TestParseFolder(t *testing.T) {
	for _, tc := range []struct {
		folder string
		want   Folder
	}{
		{"/var/alluxio/journal", Folder{Path: "/var/alluxio/journal"}},
		{"file:/var/j", Folder{Path: "/var/j"}},
		{"file:///var/j", Folder{Path: "/var/j"}},
		{"FILE:///var/j", Folder{Path: "/var/j"}},
		{"file://localhost/var/j", Folder{Path: "/var/j"}},
		{"file://LocalHost/var/j", Folder{Path: "/var/j"}},
		{"file:///var/j%1#x", Folder{Path: "/var/j%1#x"}}, // verbatim, not percent-decoded
		{"/a:b/j", Folder{Path: "/a:b/j"}},
		{"hdfs://nn:9000/alluxio/journal", Folder{Scheme: "hdfs", Path: "hdfs://nn:9000/alluxio/journal"}},
		{"hdfs://nameservice1/j", Folder{Scheme: "hdfs", Path: "hdfs://nameservice1/j"}},
	} {
		got, err := ParseFolder(tc.folder)
		if err != nil || got != tc.want {
			t.Errorf("ParseFolder(%q) = %+v, %v; want %+v", tc.folder, got, err, tc.want)
		}
	}
}

// TestOpenBadFolder: every value Open refuses is one line naming the key
// and the value, saying why; nothing is made locally for it.
func TestOpenBadFolder(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct{ folder, why string }{
		{"", "empty"},
		{"  ", "empty"},
		{"journal", "relative"},
		{"./journal", "relative"},
		{"../alluxio/journal", "relative"},
		{"file:journal", "relative"},
		{"journal:2", "relative"},
		{"file:", "no path"},
		{"file://", "no path"},
		{"file://localhost", "no path"},
		{"file://otherhost/j", `not host "otherhost"`},
		{"file://10.0.0.7/j", `not host "10.0.0.7"`},
		{"s3://bucket/j", "scheme s3: is not supported"},
		{"gs://b/j", "scheme gs: is not supported"},
		{"s3a:/b/j", "scheme s3a: is not supported"},
		{"hdfs://", "must name the NameNode"},
		{"hdfs:/j", "must name the NameNode"},
		{"hdfs:///j", "must name the NameNode"},
	} {
		_, err := Open(testCtx(t), tc.folder, nil)
		if err == nil {
			t.Errorf("Open(%q) succeeded", tc.folder)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, strconv.Quote(tc.folder)) ||
			!strings.Contains(msg, "alluxio.master.journal.folder") || !strings.Contains(msg, tc.why) {
			t.Errorf("Open(%q): %q is not one line naming the key and the value, saying %q", tc.folder, msg, tc.why)
		}
		if _, perr := ParseFolder(tc.folder); perr == nil || perr.Error() != msg {
			t.Errorf("ParseFolder(%q) = %v; want Open's error %q", tc.folder, perr, msg)
		}
	}
	if ents, _ := os.ReadDir("."); len(ents) > 0 {
		t.Errorf("refused folders made %d local entries, e.g. %s", len(ents), ents[0].Name())
	}
}

// TestLocalFileURIOneSlash: file:/path is the absolute path /path (as in
// Hadoop), not a directory "file:" under the working directory.
func TestLocalFileURIOneSlash(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(t.TempDir())
	for _, folder := range []string{"file:" + dir + "/a", "file://localhost" + dir + "/b"} {
		s := openT(t, folder, nil)
		if err := s.Mkdirs(testCtx(t), "x"); err != nil {
			t.Fatal(err)
		}
		if s.URI() != filepath.Join(dir, filepath.Base(folder)) {
			t.Errorf("Open(%s).URI() = %s; want %s", folder, s.URI(), filepath.Join(dir, filepath.Base(folder)))
		}
	}
	for _, sub := range []string{"a/x", "b/x"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
			t.Errorf("folder is not the absolute local directory: %v", err)
		}
	}
	if ents, _ := os.ReadDir("."); len(ents) > 0 {
		t.Errorf("a file: folder made %s under the working directory", ents[0].Name())
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
