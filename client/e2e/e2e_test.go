package e2e

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

func randomFile(t *testing.T, dir string, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "random.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// TestEndToEndLocalCluster drives a master and a worker process through the
// CLI as a new user would, then kills and restarts them.
func TestEndToEndLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test runs real processes")
	}
	c := newCluster(t, nil)
	c.ok("format")
	c.startMaster()
	c.startWorker()
	c.waitWorkers(1)

	// A multi-block file (4 MB blocks) written to the cache and the UFS.
	local, data := randomFile(t, t.TempDir(), 10<<20+12345)
	c.ok("fs", "mkdir", "/data/sub")
	c.ok("fs", "copyFromLocal", local, "/data/sub/random.bin")
	if got := c.ok("fs", "cat", "/data/sub/random.bin"); !bytes.Equal([]byte(got), data) {
		t.Fatalf("cat returned %d bytes, not the %d written", len(got), len(data))
	}
	// MUST_CACHE lives only on the worker: it proves worker-side recovery later.
	c.ok("-D", "alluxio.user.file.writetype.default=MUST_CACHE", "fs", "copyFromLocal", local, "/data/cached.bin")
	ls := c.ok("fs", "ls", "-R", "/data")
	for _, want := range []string{"/data/sub", "/data/sub/random.bin", "/data/cached.bin"} {
		if !regexp.MustCompile(`(?m)\s` + regexp.QuoteMeta(want) + `\s*$`).MatchString(ls) {
			t.Errorf("ls -R /data lacks %s:\n%s", want, ls)
		}
	}
	c.ok("fs", "mv", "/data/sub/random.bin", "/data/moved.bin")
	st := c.ok("fs", "stat", "/data/moved.bin")
	if !strings.Contains(st, "10498105") && !strings.Contains(st, "10.01MB") {
		t.Errorf("stat does not show the length 10498105:\n%s", st)
	}
	c.fails("fs", "stat", "/data/sub/random.bin")
	c.ok("fsadmin", "report")

	// kill -9 of the master, restart: every acknowledged change survives.
	c.kill(c.master, syscall.SIGKILL)
	c.startMaster()
	c.waitWorkers(1)
	if got := c.ok("fs", "cat", "/data/moved.bin"); !bytes.Equal([]byte(got), data) {
		t.Fatal("content changed across a master crash")
	}
	if got := c.ok("fs", "cat", "/data/cached.bin"); !bytes.Equal([]byte(got), data) {
		t.Fatal("MUST_CACHE file unreadable after master crash")
	}
	c.ok("fs", "test", "-d", "/data/sub")

	// A restarted worker keeps its blocks.
	c.kill(c.worker, syscall.SIGTERM)
	c.startWorker()
	c.waitWorkers(1)
	if got := c.ok("fs", "cat", "/data/cached.bin"); !bytes.Equal([]byte(got), data) {
		t.Fatal("MUST_CACHE file unreadable after worker restart")
	}

	c.ok("fs", "rm", "-R", "/data")
	c.fails("fs", "stat", "/data")

	// Bad input: one clear line, nothing lost.
	if line := c.fails("fs", "mkdir", "relative/path"); !strings.Contains(line, "relative/path") {
		t.Errorf("relative path error does not name the path: %q", line)
	}
	if line := c.fails("fs", "mkdir", "/a/../b"); !strings.Contains(line, "..") {
		t.Errorf("'..' error does not say what is wrong: %q", line)
	}
	c.fails("fs", "nosuchcommand")
	c.fails("nosuchcommand")
	c.fails("fs", "cat", "/does/not/exist")
}

// TestEndToEndBadPropertyValue: a daemon refuses to start, naming key, value and source.
func TestEndToEndBadPropertyValue(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test runs real processes")
	}
	c := newCluster(t, map[string]string{"alluxio.master.journal.log.size.bytes.max": "ten megabytes"})
	p := c.run("master")
	select {
	case <-p.Done:
	case <-time.After(30 * time.Second):
		t.Fatal("master with a bad property value did not exit")
	}
	if p.Cmd.ProcessState.ExitCode() == 0 {
		t.Fatal("master with a bad property value exited 0")
	}
	out := p.log.String()
	for _, want := range []string{"alluxio.master.journal.log.size.bytes.max", "ten megabytes", "alluxio-site.properties"} {
		if !strings.Contains(out, want) {
			t.Errorf("error output lacks %q:\n%s", want, out)
		}
	}
	if line := c.fails("getConf", "alluxio.master.journal.log.size.bytes.max"); !strings.Contains(line, "ten megabytes") {
		t.Errorf("getConf error does not name the value: %q", line)
	}
}

func journalLogs(t *testing.T, journal string) (completed []string, open string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(journal, "FileSystemMaster", "v1", "logs", "0x*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	for _, f := range files {
		if strings.HasSuffix(f, "-0x7fffffffffffffff") {
			open = f
		} else {
			completed = append(completed, f)
		}
	}
	return completed, open
}

// TestEndToEndJournalDamage: a flipped byte in a completed log stops the
// master with a line naming file and offset; an open log truncated mid-record
// loses only the partial record.
func TestEndToEndJournalDamage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test runs real processes")
	}
	// MUST_CACHE keeps directories out of the UFS, so a lost record cannot
	// come back by loading metadata from the UFS.
	c := newCluster(t, map[string]string{"alluxio.user.file.writetype.default": "MUST_CACHE"})
	c.ok("format")
	c.startMaster()
	for _, d := range []string{"/one", "/two", "/three"} {
		c.ok("fs", "mkdir", d)
	}
	// A clean restart seals the first term's log into a completed log.
	c.kill(c.master, syscall.SIGTERM)
	c.startMaster()
	c.ok("fs", "mkdir", "/four")
	c.ok("fs", "mkdir", "/five")
	c.kill(c.master, syscall.SIGKILL)

	completed, open := journalLogs(t, c.journal)
	if len(completed) == 0 || open == "" {
		t.Fatalf("want completed logs and an open log; got %v and %q", completed, open)
	}
	// Truncate the open log by a few bytes: the last record (/five) is partial.
	fi, err := os.Stat(open)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(open, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	c.startMaster()
	c.ok("fs", "test", "-d", "/four")
	c.fails("fs", "test", "-d", "/five")
	c.ok("fs", "test", "-d", "/one")
	c.kill(c.master, syscall.SIGTERM)

	// Flip a byte in the middle of the first completed log.
	completed, _ = journalLogs(t, c.journal)
	target := completed[0]
	b, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(target, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p := c.run("master")
	select {
	case <-p.Done:
	case <-time.After(30 * time.Second):
		t.Fatal("master with a corrupt completed log kept running")
	}
	if p.Cmd.ProcessState.ExitCode() == 0 {
		t.Fatal("master with a corrupt completed log exited 0")
	}
	out := p.log.String()
	if !strings.Contains(out, filepath.Base(target)) || !strings.Contains(out, "offset") {
		t.Errorf("error output does not name the file %s and the offset:\n%s", target, out)
	}
}

// TestEndToEndFullTier: a write that does not fit the worker's tier fails
// cleanly and leaves nothing visible, both when the quota is too small and when
// the tier's file system itself is full (ENOSPC on a tiny tmpfs, as root).
func TestEndToEndFullTier(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test runs real processes")
	}
	props := map[string]string{
		"alluxio.worker.tieredstore.level0.dirs.quota": "6MB",
		"alluxio.user.file.writetype.default":          "MUST_CACHE",
		"alluxio.user.block.size.bytes.default":        "8MB",
		"alluxio.user.rpc.retry.max.duration":          "3s",
	}
	tiny := ""
	if os.Geteuid() == 0 {
		tiny = t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", tiny).CombinedOutput(); err != nil {
			t.Logf("cannot mount a tiny tmpfs, testing the quota only: %v %s", err, out)
			tiny = ""
		} else {
			t.Cleanup(func() { _ = exec.Command("umount", "-l", tiny).Run() })
			props["alluxio.worker.tieredstore.level0.dirs.path"] = tiny
			props["alluxio.worker.tieredstore.level0.dirs.quota"] = "64MB"
			props["alluxio.user.block.size.bytes.default"] = "4MB"
		}
	}
	c := newCluster(t, props)
	c.ok("format")
	c.startMaster()
	c.startWorker()
	c.waitWorkers(1)
	local, _ := randomFile(t, t.TempDir(), 9<<20)
	c.fails("fs", "copyFromLocal", local, "/big.bin")
	c.fails("fs", "test", "-e", "/big.bin")
	if tiny != "" {
		// Only committed blocks may remain on the tier, no partial or temporary ones.
		_ = filepath.Walk(tiny, func(p string, info os.FileInfo, err error) error {
			rel, _ := filepath.Rel(tiny, p)
			if err == nil && !info.IsDir() && strings.Contains(rel, "tmp") {
				t.Errorf("temporary block file left behind: %s", p)
			}
			return nil
		})
	}
	// The worker still works for a file that fits.
	small, data := randomFile(t, t.TempDir(), 1<<20)
	c.ok("-D", "alluxio.user.block.size.bytes.default=1MB", "fs", "copyFromLocal", small, "/small.bin")
	if got := c.ok("fs", "cat", "/small.bin"); !bytes.Equal([]byte(got), data) {
		t.Fatal("small file content differs")
	}
}
