package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// sharedHDFS is one HDFS for the tests of this package that need one.
var sharedHDFS = &hdfstest.Shared{}

func TestMain(m *testing.M) {
	code := m.Run()
	sharedHDFS.Close()
	os.Exit(code)
}

// withJournal is baseArgs with the journal folder replaced.
func withJournal(dir, folder string) []string {
	return append(baseArgs(dir), "-Dalluxio.master.journal.folder="+folder)
}

// runFails runs the master, which must exit with an error within limit.
func runFails(t *testing.T, args []string, limit time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*limit)
	defer cancel()
	start := time.Now()
	err := Run(ctx, args, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("the master started")
	}
	if d := time.Since(start); d > limit {
		t.Errorf("the master took %v to fail", d)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	t.Logf("the master exits with: %v", err)
	return err
}

// TestJournalFolderUnreachableHDFS: a journal folder on a NameNode that
// does not answer stops the master at start with one line naming the URI,
// as do --format and --dump-journal.
func TestJournalFolderUnreachableHDFS(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	uri := "hdfs://127.0.0.1:" + strconv.Itoa(port) + "/j"
	dir := t.TempDir()
	for _, extra := range [][]string{nil, {"--format"}, {"--dump-journal"}} {
		err := runFails(t, append(withJournal(dir, uri), extra...), 30*time.Second)
		if !errors.Is(err, rpcstatus.ErrUnavailable) || !strings.Contains(err.Error(), uri) {
			t.Errorf("%v: err = %q; want one naming %s, wrapping ErrUnavailable", extra, err, uri)
		}
	}
	// Nothing was made locally under a name that looks like the URI.
	if ents, _ := os.ReadDir("."); len(ents) > 0 {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "hdfs") {
				t.Errorf("a local %s was made for the HDFS folder", e.Name())
			}
		}
	}
}

func TestJournalFolderUnknownScheme(t *testing.T) {
	err := runFails(t, withJournal(t.TempDir(), "s3://bucket/journal"), 10*time.Second)
	if !strings.Contains(err.Error(), "s3://bucket/journal") {
		t.Errorf("err = %q; want one naming the folder", err)
	}
}

// TestIntegrationJournalFolderNotWritableHDFS: a 0700 HDFS folder of the
// cluster's superuser, used by a master acting as another HDFS user
// (HADOOP_USER_NAME), stops the master at start naming the user and folder.
func TestIntegrationJournalFolderNotWritableHDFS(t *testing.T) {
	c := sharedHDFS.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := ufs.DialHDFS(ctx, c.URI, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Mkdirs(ctx, "/locked", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := admin.Chmod(ctx, "/locked", 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HADOOP_USER_NAME", "mallory")
	folder := c.URI + "/locked/journal"
	err = runFails(t, withJournal(t.TempDir(), folder), 30*time.Second)
	if !errors.Is(err, rpcstatus.ErrPermissionDenied) || !strings.Contains(err.Error(), "mallory") || !strings.Contains(err.Error(), c.URI+"/locked") {
		t.Errorf("err = %q; want one naming the HDFS user and the folder, wrapping ErrPermissionDenied", err)
	}
}

// TestIntegrationJournalUFSOptionUser: the HDFS user of the journal folder
// is alluxio.master.journal.ufs.option.alluxio.underfs.hdfs.user, as in
// Alluxio, and it wins over HADOOP_USER_NAME: as another user the master,
// --format and --dump-journal fail naming that user; as the folder's owner
// --format succeeds while HADOOP_USER_NAME names another.
func TestIntegrationJournalUFSOptionUser(t *testing.T) {
	c := sharedHDFS.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := ufs.DialHDFS(ctx, c.URI, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Mkdirs(ctx, "/optlocked", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := admin.Chmod(ctx, "/optlocked", 0o700); err != nil {
		t.Fatal(err)
	}
	owner, err := admin.Stat(ctx, "/optlocked")
	if err != nil {
		t.Fatal(err)
	}
	const opt = "-Dalluxio.master.journal.ufs.option.alluxio.underfs.hdfs.user="
	folder := c.URI + "/optlocked/journal"
	dir := t.TempDir()
	for _, extra := range [][]string{nil, {"--format"}, {"--dump-journal"}} {
		args := append(withJournal(dir, folder), opt+"trudy")
		err := runFails(t, append(args, extra...), 30*time.Second)
		if !errors.Is(err, rpcstatus.ErrPermissionDenied) || !strings.Contains(err.Error(), "trudy") || !strings.Contains(err.Error(), c.URI+"/optlocked") {
			t.Errorf("%v: err = %q; want one naming the option's user trudy and the folder, wrapping ErrPermissionDenied", extra, err)
		}
	}
	t.Setenv("HADOOP_USER_NAME", "mallory")
	var out bytes.Buffer
	args := append(withJournal(dir, folder), opt+owner.Owner, "--format")
	if err := Run(ctx, args, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("--format as the owner %s (HADOOP_USER_NAME=mallory): %v", owner.Owner, err)
	}
	if !strings.Contains(out.String(), "Formatted journal at "+folder) {
		t.Errorf("--format printed %q", out.String())
	}
}

// TestIntegrationJournalOnHDFSDaemon: --format, two terms of a master
// serving with its journal on HDFS, and --dump-journal of that history.
func TestIntegrationJournalOnHDFSDaemon(t *testing.T) {
	c := sharedHDFS.Cluster(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ufs"), 0o755)
	args := withJournal(dir, c.URI+"/alluxio/journal")
	var out bytes.Buffer
	if err := Run(context.Background(), append(args, "--format"), &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("format: %v", err)
	}
	if !strings.Contains(out.String(), c.URI+"/alluxio/journal") {
		t.Errorf("format printed %q", out.String())
	}
	for round := 0; round < 2; round++ {
		srv, stop, done, _ := runAsync(t, args)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		for i := 0; i < 3; i++ {
			if _, err := srv.FS().CreateDirectory(ctx, &alluxiopb.CreateDirectoryRequest{Path: fmt.Sprintf("/h%d-%d", round, i)}); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if err := Run(context.Background(), append(args, "--dump-journal"), &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("dump: %v", err)
	}
	var kinds []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 {
			t.Fatalf("dump line %q", l)
		}
		if f[2] == "NewTermEntry" || f[2] == "InodeDirectoryEntry" {
			kinds = append(kinds, f[1]+":"+f[2])
		}
	}
	want := "1:NewTermEntry 1:InodeDirectoryEntry 1:InodeDirectoryEntry 1:InodeDirectoryEntry " +
		"2:NewTermEntry 2:InodeDirectoryEntry 2:InodeDirectoryEntry 2:InodeDirectoryEntry"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("dump of the HDFS journal has %v, want %s\n%s", kinds, want, out.String())
	}
}
