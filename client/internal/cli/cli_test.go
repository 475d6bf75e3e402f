package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/retry"
)

type harness struct {
	t    *testing.T
	c    *fakecluster.Cluster
	conf string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	c, err := fakecluster.Start(fakecluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &harness{t: t, c: c, conf: t.TempDir()}
}

// run runs the CLI against the fake cluster.
func (h *harness) run(stdin string, args ...string) (string, string, int) {
	h.t.Helper()
	full := append([]string{"alluxio", "--conf-dir", h.conf,
		"-D", "alluxio.master.hostname=" + h.c.Host(),
		"-D", "alluxio.master.rpc.port=" + itoa(h.c.Port()),
		"-D", "alluxio.user.block.size.bytes.default=64KB",
	}, args...)
	var out, errb bytes.Buffer
	code := Main(context.Background(), full, strings.NewReader(stdin), &out, &errb,
		WithClientOptions(client.WithUser("alice", "staff"), client.WithRetryPolicy(retry.Policy{BaseSleep: time.Millisecond, MaxSleep: 5 * time.Millisecond, MaxDuration: time.Second})))
	return out.String(), errb.String(), code
}

func itoa(n int) string { return strconv.Itoa(n) }

func (h *harness) ok(args ...string) string {
	h.t.Helper()
	out, errs, code := h.run("", args...)
	if code != 0 {
		h.t.Fatalf("alluxio %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
	}
	return out
}

// fails expects a non-zero exit and exactly one line on stderr.
func (h *harness) fails(args ...string) string {
	h.t.Helper()
	out, errs, code := h.run("", args...)
	if code == 0 {
		h.t.Fatalf("alluxio %s: exit 0, want failure; stdout %q", strings.Join(args, " "), out)
	}
	if strings.Count(errs, "\n") != 1 || !strings.HasSuffix(errs, "\n") || !strings.HasPrefix(errs, "alluxio: ") {
		h.t.Fatalf("alluxio %s: want one line on stderr, got %q", strings.Join(args, " "), errs)
	}
	return strings.TrimSuffix(errs, "\n")
}

func TestErrorsAreOneLine(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fs", "ls", "/nope"}, "alluxio: ls: /nope does not exist"},
		{[]string{"fs", "mkdir", "a/b"}, `alluxio: mkdir: path "a/b" is not absolute`},
		{[]string{"fs", "mkdir", "/a/../b"}, `alluxio: mkdir: path "/a/../b" contains a ".." component`},
		{[]string{"fs", "nosuchcommand"}, `alluxio: fs: unknown command "nosuchcommand"`},
		{[]string{"nosuchcommand"}, `alluxio: unknown command "nosuchcommand"`},
		{[]string{"fs", "cat", "/does/not/exist"}, "alluxio: cat: /does/not/exist does not exist"},
		{[]string{"fs", "ls", "--bogus", "/"}, "alluxio: ls: flag provided but not defined: -bogus"},
		{[]string{"fs", "cat"}, "alluxio: cat: wrong number of arguments"},
		{[]string{"fs", "chmod", "9z", "/"}, `alluxio: chmod: invalid mode "9z"`},
		{[]string{"fs", "ls", "hdfs://x/y"}, `alluxio: ls: "hdfs://x/y": unknown scheme "hdfs"`},
		{[]string{"getConf", "alluxio.no.such.key"}, "alluxio: getConf: alluxio.no.such.key is not a known property"},
		{[]string{"fs", "ls", "alluxio://zk@127.0.0.1:1,127.0.0.1:2/x"}, "alluxio: ls: cannot reach ZooKeeper at 127.0.0.1:1,127.0.0.1:2: "},
		{[]string{"-D", "novalue", "version"}, `alluxio: -D "novalue": want key=value`},
	} {
		if got := h.fails(tc.args...); !strings.HasPrefix(got, tc.want) {
			t.Errorf("alluxio %s:\n got %q\nwant %q...", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

func TestMkdirCatCopyRoundTrip(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160000 bytes: 3 blocks of 64KB
	local := filepath.Join(dir, "in.bin")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := h.ok("fs", "mkdir", "/data/sub"); !strings.Contains(out, "Successfully created directory /data/sub") {
		t.Errorf("mkdir output %q", out)
	}
	h.fails("fs", "mkdir", "/data/sub")
	if out := h.ok("fs", "copyFromLocal", local, "/data/sub/in.bin"); !strings.Contains(out, "Copied file://"+local+" to /data/sub/in.bin") {
		t.Errorf("copyFromLocal output %q", out)
	}
	if got := h.ok("fs", "cat", "/data/sub/in.bin"); got != string(data) {
		t.Fatalf("cat returned %d bytes", len(got))
	}
	// Into an existing directory: keeps the base name.
	h.ok("fs", "copyFromLocal", local, "/data")
	if got := h.ok("fs", "cat", "alluxio://"+h.c.Addr()+"/data/in.bin"); got != string(data) {
		t.Fatalf("cat via URI returned %d bytes", len(got))
	}
	outFile := filepath.Join(dir, "out.bin")
	h.ok("fs", "copyToLocal", "/data/sub/in.bin", outFile)
	if got, _ := os.ReadFile(outFile); !bytes.Equal(got, data) {
		t.Fatal("copyToLocal content differs")
	}
	// Directories both ways.
	src := filepath.Join(dir, "tree")
	os.MkdirAll(filepath.Join(src, "x", "y"), 0o755)
	os.WriteFile(filepath.Join(src, "x", "y", "f"), []byte("deep"), 0o644)
	os.WriteFile(filepath.Join(src, "top"), []byte("top"), 0o644)
	h.ok("fs", "copyFromLocal", src, "/tree")
	if got := h.ok("fs", "cat", "/tree/x/y/f"); got != "deep" {
		t.Errorf("deep file: %q", got)
	}
	back := filepath.Join(dir, "back")
	h.ok("fs", "copyToLocal", "/tree", back)
	if got, _ := os.ReadFile(filepath.Join(back, "x", "y", "f")); string(got) != "deep" {
		t.Errorf("copied back: %q", got)
	}
	// cp with file:// prefixes and within Alluxio.
	h.ok("fs", "cp", "file://"+local, "/cp1")
	h.ok("fs", "cp", "/cp1", "/cp2")
	h.ok("fs", "cp", "/cp2", "file://"+filepath.Join(dir, "cp3"))
	if got, _ := os.ReadFile(filepath.Join(dir, "cp3")); !bytes.Equal(got, data) {
		t.Error("cp chain changed the content")
	}
	if line := h.fails("fs", "cp", "/tree", "/tree2"); !strings.Contains(line, "-R") {
		t.Errorf("cp dir without -R: %q", line)
	}
	h.ok("fs", "cp", "-R", "/tree", "/tree2")
	if got := h.ok("fs", "cat", "/tree2/top"); got != "top" {
		t.Errorf("cp -R: %q", got)
	}
	// head / tail.
	if got := h.ok("fs", "head", "-c", "10", "/cp1"); got != string(data[:10]) {
		t.Errorf("head: %q", got)
	}
	if got := h.ok("fs", "tail", "-c", "7", "/cp1"); got != string(data[len(data)-7:]) {
		t.Errorf("tail: %q", got)
	}
	if got := h.ok("fs", "head", "/cp1"); len(got) != 1024 {
		t.Errorf("head default length %d", len(got))
	}
}

var lsLineRE = regexp.MustCompile(`^([-d][-rwx]{9}) +(\S+) +(\S+) +(\S+) +(PERSISTED|NOT_PERSISTED|TO_BE_PERSISTED) +(\d\d-\d\d-\d{4} \d\d:\d\d:\d\d:\d{3}) +(DIR|\d+%) (/\S*)$`)

func TestLsFormat(t *testing.T) {
	h := newHarness(t)
	h.ok("fs", "mkdir", "/d/e")
	h.ok("-D", "alluxio.user.file.writetype.default=MUST_CACHE", "fs", "touch", "/d/empty")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), bytes.Repeat([]byte("x"), 3000), 0o644)
	h.ok("-D", "alluxio.user.file.writetype.default=CACHE_THROUGH", "fs", "copyFromLocal", filepath.Join(dir, "f"), "/d/f")

	out := h.ok("fs", "ls", "/d")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("ls /d: %q", out)
	}
	want := []struct{ mode, size, persist, state, path string }{
		{"drwxr-xr-x", "0", "NOT_PERSISTED", "DIR", "/d/e"},
		{"-rw-r--r--", "0", "NOT_PERSISTED", "100%", "/d/empty"},
		{"-rw-r--r--", "3000", "PERSISTED", "100%", "/d/f"},
	}
	for i, l := range lines {
		m := lsLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("ls line does not match Alluxio's format: %q", l)
		}
		w := want[i]
		if m[1] != w.mode || m[2] != "alice" || m[3] != "staff" || m[4] != w.size || m[5] != w.persist || m[7] != w.state || m[8] != w.path {
			t.Errorf("ls line %d = %q, want %+v", i, l, w)
		}
	}
	if out := h.ok("fs", "ls", "-Rh", "/d"); !strings.Contains(out, "2.93KB") || strings.Count(out, "\n") != 3 {
		t.Errorf("ls -Rh: %q", out)
	}
	if out := h.ok("fs", "ls", "/d", "-R", "--sort", "size", "-r"); !strings.HasSuffix(strings.Split(out, "\n")[0], "/d/f") {
		t.Errorf("ls /d -R --sort size -r: %q", out)
	}
	if out := h.ok("fs", "ls", "-h", "/d/f"); !strings.Contains(out, "2.93KB") {
		t.Errorf("ls -h: %q", out)
	}
	out = h.ok("fs", "ls", "-R", "/")
	var paths []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		paths = append(paths, l[strings.LastIndexByte(l, ' ')+1:])
	}
	if got := strings.Join(paths, " "); got != "/d /d/e /d/empty /d/f" {
		t.Errorf("ls -R / paths: %s", got)
	}
	if out := h.ok("fs", "ls", "-d", "/d"); strings.Count(out, "\n") != 1 || !strings.HasSuffix(strings.TrimSpace(out), " /d") {
		t.Errorf("ls -d: %q", out)
	}
}

func TestTestCommand(t *testing.T) {
	h := newHarness(t)
	h.ok("fs", "mkdir", "/dir")
	h.ok("fs", "touch", "/empty")
	h.ok("fs", "copyFromLocal", writeTemp(t, "abc"), "/full")
	for _, tc := range []struct {
		flag, path string
		ok         bool
	}{
		{"-d", "/dir", true}, {"-d", "/full", false}, {"-d", "/none", false},
		{"-e", "/dir", true}, {"-e", "/none", false},
		{"-f", "/full", true}, {"-f", "/dir", false},
		{"-s", "/full", true}, {"-s", "/empty", false}, {"-s", "/dir", false}, {"-s", "/", true},
		{"-z", "/empty", true}, {"-z", "/full", false},
	} {
		_, errs, code := h.run("", "fs", "test", tc.flag, tc.path)
		if (code == 0) != tc.ok {
			t.Errorf("test %s %s: exit %d (stderr %q)", tc.flag, tc.path, code, errs)
		}
		if !tc.ok && (code != 1 || strings.Count(errs, "\n") != 1) {
			t.Errorf("test %s %s false: exit %d, stderr %q", tc.flag, tc.path, code, errs)
		}
	}
}

func writeTemp(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMetadataCommands(t *testing.T) {
	h := newHarness(t)
	h.ok("fs", "mkdir", "/m/n")
	h.ok("-D", "alluxio.user.file.writetype.default=MUST_CACHE", "fs", "copyFromLocal", writeTemp(t, "hello"), "/m/n/f")

	h.ok("fs", "mv", "/m/n/f", "/m/g")
	h.fails("fs", "stat", "/m/n/f")
	st := h.ok("fs", "stat", "/m/g")
	for _, want := range []string{"/m/g is a file path.", "length=5", "Containing the following blocks:", "BlockInfo{id=", "host=127.0.0.1"} {
		if !strings.Contains(st, want) {
			t.Errorf("stat lacks %q:\n%s", want, st)
		}
	}
	if got := h.ok("fs", "stat", "-f", "%N %z %u", "/m/g"); got != "g 5 alice\n" {
		t.Errorf("stat -f: %q", got)
	}

	h.ok("fs", "chmod", "-R", "700", "/m")
	h.ok("fs", "chown", "bob:staff", "/m/g")
	h.ok("fs", "chgrp", "wheel", "/m/n")
	h.ok("fs", "pin", "/m/g")
	h.ok("fs", "setTtl", "--action", "free", "/m/g", "1h")
	out := h.ok("fs", "ls", "/m")
	if !strings.Contains(out, "-rwx------ bob            staff") || !strings.Contains(out, "drwx------ alice          wheel") {
		t.Errorf("after chmod/chown/chgrp:\n%s", out)
	}
	if st := h.ok("fs", "stat", "/m/g"); !strings.Contains(st, "pinned=true") || !strings.Contains(st, "ttl=3600000, ttlAction=FREE") {
		t.Errorf("pin/setTtl not visible:\n%s", st)
	}
	if out := h.ok("fs", "ls", "-p", "/m"); strings.Count(out, "\n") != 1 {
		t.Errorf("ls -p: %q", out)
	}
	h.ok("fs", "unpin", "/m/g")
	h.ok("fs", "unsetTtl", "/m/g")

	// free needs persistence; persist then free.
	if line := h.fails("fs", "free", "/m/g"); !strings.Contains(line, "not persisted") {
		t.Errorf("free unpersisted: %q", line)
	}
	if out := h.ok("fs", "persist", "/m/g"); !strings.Contains(out, "persisted file /m/g with size 5") {
		t.Errorf("persist: %q", out)
	}
	h.ok("fs", "free", "/m/g")
	if out := h.ok("fs", "ls", "/m/g"); !strings.Contains(out, " 0% /m/g") {
		t.Errorf("after free: %q", out)
	}
	h.ok("fs", "load", "/m")
	if out := h.ok("fs", "ls", "/m/g"); !strings.Contains(out, " 100% /m/g") {
		t.Errorf("after load: %q", out)
	}

	du := h.ok("fs", "du", "-s", "/m")
	if !strings.Contains(du, "File Size") || !regexp.MustCompile(`5 +5 \(100%\) +/m`).MatchString(du) {
		t.Errorf("du -s: %q", du)
	}
	count := h.ok("fs", "count", "/m")
	if !regexp.MustCompile(`(?m)^1 +2 +5 *$`).MatchString(count) {
		t.Errorf("count: %q", count)
	}

	if line := h.fails("fs", "rm", "/m"); !strings.Contains(line, "rm -R") {
		t.Errorf("rm dir: %q", line)
	}
	h.ok("fs", "rm", "-R", "/m")
	h.fails("fs", "stat", "/m")
}

func TestMountAndInfoCommands(t *testing.T) {
	h := newHarness(t)
	if out := h.ok("fs", "mount", "--readonly", "--option", "k=v", "/mnt", "mem://other"); !strings.Contains(out, "Mounted mem://other at /mnt") {
		t.Errorf("mount: %q", out)
	}
	if out := h.ok("fs", "mount"); !strings.Contains(out, "mem://other") || !strings.Contains(out, "readonly=true") {
		t.Errorf("mount table: %q", out)
	}
	h.ok("fs", "unmount", "/mnt")
	if out := h.ok("fs", "leader"); out != h.c.Addr()+"\n" {
		t.Errorf("leader: %q", out)
	}
	if out := h.ok("fs", "masterInfo"); !strings.Contains(out, "Current leader master: "+h.c.Addr()) {
		t.Errorf("masterInfo: %q", out)
	}
	rep := h.ok("fsadmin", "report")
	for _, want := range []string{"Live Workers: 1", "Total Capacity: 1.00GB", h.c.Workers()[0].Addr()} {
		if !strings.Contains(strings.Join(strings.Fields(rep), " "), want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	if out := h.ok("version"); !strings.HasPrefix(out, "Alluxio version: ") {
		t.Errorf("version: %q", out)
	}
}

func TestGetConf(t *testing.T) {
	h := newHarness(t)
	if out := h.ok("getConf", "alluxio.master.rpc.port"); out != itoa(h.c.Port())+"\n" {
		t.Errorf("getConf port: %q", out)
	}
	if out := h.ok("getConf", "--source", "alluxio.master.rpc.port"); !strings.Contains(out, "(flag)") {
		t.Errorf("getConf --source: %q", out)
	}
	if out := h.ok("getConf", "--unit", "KB", "alluxio.user.block.size.bytes.default"); out != "64\n" {
		t.Errorf("getConf --unit KB: %q", out)
	}
	if out := h.ok("getConf", "--unit", "S", "alluxio.user.rpc.retry.max.duration"); out != "120\n" {
		t.Errorf("getConf --unit S: %q", out)
	}
	// A bytes list (one quota per tier directory) converts item by item.
	if out := h.ok("getConf", "--unit", "GB", "alluxio.worker.tieredstore.level1.dirs.quota"); out != "10\n" {
		t.Errorf("getConf --unit GB of a bytes list: %q", out)
	}
	all := h.ok("getConf", "--source")
	if !strings.Contains(all, "alluxio.zookeeper.enabled=false (default)") {
		t.Errorf("getConf --source lacks the default zookeeper line")
	}
	// A bad value in the site file: one line naming key and value.
	os.WriteFile(filepath.Join(h.conf, "alluxio-site.properties"), []byte("alluxio.user.rpc.retry.max.sleep=lots\n"), 0o644)
	line := h.fails("getConf", "alluxio.user.rpc.retry.max.sleep")
	if !strings.Contains(line, "lots") || !strings.Contains(line, "alluxio.user.rpc.retry.max.sleep") || !strings.Contains(line, "alluxio-site.properties:1") {
		t.Errorf("bad value error: %q", line)
	}
}

func TestNormalizeArgs(t *testing.T) {
	got := normalizeArgs([]string{"alluxio", "-Dalluxio.a=b", "--conf-dir", "x", "fs", "ls", "-Dnot"})
	want := "alluxio -D alluxio.a=b --conf-dir x fs ls -Dnot"
	if strings.Join(got, " ") != want {
		t.Errorf("normalizeArgs = %q", got)
	}
}

func TestFormatNeedsBinaries(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"alluxio", "format"}, nil, &out, &errb, WithBinDir(dir))
	if code == 0 || !strings.Contains(errb.String(), "alluxio-master not found next to the alluxio executable") {
		t.Errorf("format without binaries: %d %q", code, errb.String())
	}
	// Fake binaries record their arguments.
	for _, name := range []string{"alluxio-master", "alluxio-worker"} {
		script := "#!/bin/sh\necho \"$0 $*\" >> " + filepath.Join(dir, "log") + "\n"
		os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755)
	}
	out.Reset()
	errb.Reset()
	code = Main(context.Background(), []string{"alluxio", "--conf-dir", "/etc/alluxio", "format"}, nil, &out, &errb, WithBinDir(dir))
	if code != 0 {
		t.Fatalf("format: %d %q", code, errb.String())
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	for _, name := range []string{"alluxio-master --conf-dir /etc/alluxio --format", "alluxio-worker --conf-dir /etc/alluxio --format"} {
		if !strings.Contains(string(log), name) {
			t.Errorf("format did not run %q; log:\n%s", name, log)
		}
	}
}

func TestProgressBarOnlyOnTerminal(t *testing.T) {
	h := newHarness(t)
	local := writeTemp(t, strings.Repeat("p", 200000))
	_, errs, code := h.run("", "fs", "copyFromLocal", local, "/quiet")
	if code != 0 || errs != "" {
		t.Errorf("piped copy wrote to stderr: %q", errs)
	}
	// With a "terminal", the bar is drawn on stderr.
	full := []string{"alluxio", "--conf-dir", h.conf, "-D", "alluxio.master.hostname=" + h.c.Host(), "-D", "alluxio.master.rpc.port=" + itoa(h.c.Port()), "fs", "copyFromLocal", local, "/loud"}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), full, nil, &out, &errb, WithTerminal(true)); code != 0 {
		t.Fatalf("copy: %d %q", code, errb.String())
	}
	if errb.Len() == 0 {
		t.Error("no progress bar on a terminal")
	}
}
