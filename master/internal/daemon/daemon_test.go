package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/alluxio-go/alluxio/common/version"
	"github.com/alluxio-go/alluxio/common/zktest"
	"github.com/alluxio-go/alluxio/master/internal/server"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

func baseArgs(dir string) []string {
	return []string{
		"--conf-dir", filepath.Join(dir, "conf"),
		"-Dalluxio.master.journal.folder=" + filepath.Join(dir, "journal"),
		"-Dalluxio.master.mount.table.root.ufs=" + filepath.Join(dir, "ufs"),
		"--set", "alluxio.master.rpc.port=0",
		"-D", "alluxio.master.web.port=0",
		"-Dalluxio.master.bind.host=127.0.0.1",
	}
}

// runAsync starts Run and returns the server once it serves, a stop func and
// the channel of Run's result.
func runAsync(t *testing.T, args []string) (*server.Server, context.CancelFunc, chan error, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *server.Server, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- RunWithHook(ctx, args, &bytes.Buffer{}, &syncWriter{b: &stderr}, func(s *server.Server) { started <- s })
	}()
	select {
	case s := <-started:
		return s, cancel, done, &stderr
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("master did not start")
	}
	return nil, cancel, done, &stderr
}

type syncWriter struct{ b *bytes.Buffer }

func (w *syncWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestVersionAndFormat(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"--version"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), version.Version) {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	dir := t.TempDir()
	out.Reset()
	if err := Run(context.Background(), append(baseArgs(dir), "--format"), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "journal"))
	if len(ents) == 0 || !strings.Contains(out.String(), "Formatted") {
		t.Fatalf("format: %q %v", out.String(), ents)
	}
}

// TestJournalFormatted: --journal-formatted tells a formatted folder from a
// missing or empty one (what bin/alluxio-start.sh asks before it formats),
// and fails on a folder it cannot read rather than saying "not formatted".
func TestJournalFormatted(t *testing.T) {
	dir := t.TempDir()
	check := func() (string, error) {
		var out bytes.Buffer
		err := Run(context.Background(), append(baseArgs(dir), "--journal-formatted"), &out, &bytes.Buffer{})
		return strings.TrimSpace(out.String()), err
	}
	if got, err := check(); err != nil || got != "not formatted" {
		t.Fatalf("before format: %q, %v; want \"not formatted\"", got, err)
	}
	if err := Run(context.Background(), append(baseArgs(dir), "--format"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if got, err := check(); err != nil || got != "formatted" {
		t.Fatalf("after format: %q, %v; want \"formatted\"", got, err)
	}
	var out bytes.Buffer
	err := Run(context.Background(), append(baseArgs(dir), "--journal-formatted", "-Dalluxio.master.journal.folder=relative/journal"), &out, &bytes.Buffer{})
	if err == nil || out.Len() != 0 {
		t.Fatalf("relative folder: printed %q, err %v; want an error and nothing printed", out.String(), err)
	}
	// The error says where the value was set, as configuration errors do.
	if msg := err.Error(); !strings.Contains(msg, `"relative/journal"`) || !strings.Contains(msg, "alluxio.master.journal.folder from ") || strings.Contains(msg, "\n") {
		t.Errorf("relative folder: error %q; want one line naming the value and where it was set", msg)
	}
}

func TestRefusesOtherJournalTypes(t *testing.T) {
	dir := t.TempDir()
	err := Run(context.Background(), append(baseArgs(dir), "-Dalluxio.master.journal.type=EMBEDDED"), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "only UFS is supported") {
		t.Fatalf("got %v", err)
	}
}

func TestRefusesUnformattedNonEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "journal"), 0o755)
	os.WriteFile(filepath.Join(dir, "journal", "junk"), []byte("x"), 0o644)
	err := Run(context.Background(), baseArgs(dir), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "not formatted") {
		t.Fatalf("got %v", err)
	}
}

func TestRunServeStopRestartAndCorruption(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ufs"), 0o755)
	args := baseArgs(dir)
	srv, stop, done, _ := runAsync(t, args)
	conn, err := grpc.NewClient(srv.RPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	fs := alluxiopb.NewFileSystemMasterClientServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 20; i++ {
		if _, err := fs.CreateDirectory(ctx, &alluxiopb.CreateDirectoryRequest{Path: fmt.Sprintf("/dir%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run returned %v", err)
	}
	// Restart: the namespace is back.
	srv, stop, done, _ = runAsync(t, args)
	if _, err := srv.FS().GetStatus(ctx, "/dir19"); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Corrupt the middle of the first completed log: start fails with a
	// one-line error naming the file.
	logs, _ := filepath.Glob(filepath.Join(dir, "journal", "*", "v1", "logs", "0x*"))
	if len(logs) == 0 {
		t.Fatal("no logs")
	}
	var victim string
	for _, l := range logs {
		if !strings.HasSuffix(l, "0x7fffffffffffffff") {
			victim = l
			break
		}
	}
	if victim == "" {
		t.Fatalf("no completed log among %v", logs)
	}
	b, _ := os.ReadFile(victim)
	b[len(b)/2] ^= 0xff
	os.WriteFile(victim, b, 0o644)
	err = Run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), filepath.Base(victim)) {
		t.Fatalf("corrupt journal: %v", err)
	}
	t.Logf("corruption error: %v", err)
}

func TestDumpJournal(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ufs"), 0o755)
	args := baseArgs(dir)
	for round := 0; round < 2; round++ { // two terms
		srv, stop, done, _ := runAsync(t, args)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for i := 0; i < 3; i++ {
			if _, err := srv.FS().CreateDirectory(ctx, &alluxiopb.CreateDirectoryRequest{Path: fmt.Sprintf("/r%d-%d", round, i)}); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var out, again bytes.Buffer
	if err := Run(context.Background(), append(args, "--dump-journal"), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	terms, dirs := 0, 0
	for i, l := range lines {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 || f[0] != fmt.Sprint(i+1) || !strings.HasPrefix(f[3], "{") || strings.Contains(f[3], "\n") {
			t.Fatalf("line %d: %q", i, l)
		}
		switch f[2] {
		case "NewTermEntry":
			terms++
			if f[1] != fmt.Sprint(terms) {
				t.Fatalf("term %d has epoch %s", terms, f[1])
			}
		case "InodeDirectoryEntry":
			dirs++
			if !strings.Contains(f[3], `"name":"r`) {
				t.Fatalf("directory entry %q", f[3])
			}
		}
	}
	if terms != 2 || dirs != 6 {
		t.Fatalf("%d terms, %d directories in\n%s", terms, dirs, out.String())
	}
	// Byte for byte the same each time.
	if err := Run(context.Background(), append(args, "--dump-journal"), &again, &bytes.Buffer{}); err != nil || again.String() != out.String() {
		t.Fatalf("second dump differs (%v)", err)
	}
	t.Logf("dump:\n%s", out.String())
}

// TestIntegrationDaemonHA runs two masters through Run in ZooKeeper mode on
// one journal: one leads, the other stands by; stopping the leader (as
// SIGTERM does) hands over.
func TestIntegrationDaemonHA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ZooKeeper")
	}
	zk := zktest.Start(t, 1)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ufs"), 0o755)
	args := append(baseArgs(dir),
		"-Dalluxio.zookeeper.enabled=true",
		"-Dalluxio.zookeeper.address="+zk.ConnectString(),
		"-Dalluxio.zookeeper.session.timeout=2s",
		"-Dalluxio.master.hostname=127.0.0.1")
	// No auto-format in HA mode.
	if err := Run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "alluxio format") {
		t.Fatalf("unformatted shared journal: %v", err)
	}
	if err := Run(context.Background(), append(args, "--format"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	a, stopA, doneA, _ := runAsync(t, args)
	b, stopB, doneB, _ := runAsync(t, args)
	role := func(s *server.Server) string {
		conn, err := grpc.NewClient(s.RPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		st, err := alluxiopb.NewMetaMasterClientServiceClient(conn).GetStatusOfSelf(context.Background(), &alluxiopb.GetStatusOfSelfRequest{})
		if err != nil {
			return ""
		}
		return st.GetRole()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: a=%s b=%s", what, role(a), role(b))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("one leader, one standby", func() bool {
		ra, rb := role(a), role(b)
		return ra == "LEADER" && rb == "STANDBY" || ra == "STANDBY" && rb == "LEADER"
	})
	leaderStop, leaderDone, other := stopA, doneA, b
	otherStop, otherDone := stopB, doneB
	if role(b) == "LEADER" {
		leaderStop, leaderDone, other = stopB, doneB, a
		otherStop, otherDone = stopA, doneA
	}
	defer func() { otherStop(); <-otherDone }()
	leaderStop()
	if err := <-leaderDone; err != nil {
		t.Fatal(err)
	}
	waitFor("the standby to lead", func() bool { return role(other) == "LEADER" })
}
