package conf

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// env returns an Env func over a fixed map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeConf(t *testing.T, site, envsh string) string {
	t.Helper()
	dir := t.TempDir()
	if site != "" {
		if err := os.WriteFile(filepath.Join(dir, SiteFile), []byte(site), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if envsh != "" {
		if err := os.WriteFile(filepath.Join(dir, EnvFile), []byte(envsh), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDefaults(t *testing.T) {
	c, err := Load(LoadOptions{Env: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ key, want string }{
		{"alluxio.home", "."},
		{"alluxio.conf.dir", "./conf"},
		{"alluxio.master.journal.folder", "./journal"},
		{"alluxio.master.journal.type", "UFS"},
		{"alluxio.worker.tieredstore.level0.alias", "MEM"},
		{"alluxio.worker.tieredstore.level2.dirs.path", "./data/hdd"},
		{"alluxio.worker.tieredstore.level0.dirs.quota", "1GB"},
		{"alluxio.user.file.writetype.default", "ASYNC_THROUGH"},
		{"alluxio.user.hostname", ""},
	}
	for _, ch := range checks {
		if got := c.Get(ch.key); got != ch.want {
			t.Errorf("Get(%s) = %q, want %q", ch.key, got, ch.want)
		}
		if c.IsSet(ch.key) || c.Source(ch.key).String() != "default" {
			t.Errorf("%s: IsSet=%v Source=%v, want default", ch.key, c.IsSet(ch.key), c.Source(ch.key))
		}
	}
	if got := c.GetInt("alluxio.master.rpc.port"); got != 19998 {
		t.Errorf("rpc port = %d", got)
	}
	if got := c.GetDuration("alluxio.user.rpc.retry.max.sleep"); got != 3*time.Second {
		t.Errorf("max sleep = %v", got)
	}
	if got := c.GetDuration("alluxio.master.worker.timeout"); got != 5*time.Minute {
		t.Errorf("worker timeout = %v", got)
	}
	if got := c.GetBytes("alluxio.user.block.size.bytes.default"); got != 64<<20 {
		t.Errorf("block size = %d", got)
	}
	if got := c.GetBytesList("alluxio.worker.tieredstore.level0.dirs.quota"); !slices.Equal(got, []int64{1 << 30}) {
		t.Errorf("quota = %d", got)
	}
	if got := c.GetFloat("alluxio.worker.tieredstore.level1.watermark.high.ratio"); got != 0.95 {
		t.Errorf("ratio = %v", got)
	}
	if c.GetBool("alluxio.zookeeper.enabled") || !c.GetBool("alluxio.user.short.circuit.enabled") {
		t.Error("bool defaults wrong")
	}
	if got := c.GetList("alluxio.zookeeper.address"); got != nil {
		t.Errorf("zk address = %v", got)
	}
	if got := c.GetInt64("alluxio.master.journal.checkpoint.period.entries"); got != 2000000 {
		t.Errorf("checkpoint = %d", got)
	}
	if len(c.Keys()) != len(Properties())-len(templates) || !slices.IsSorted(c.Keys()) {
		t.Error("Keys not every key sorted")
	}
}

// Every default in the table validates, and every property is described.
func TestTable(t *testing.T) {
	for _, p := range Properties() {
		if !strings.HasPrefix(p.Name, "alluxio.") || p.Description == "" || p.Scope == 0 {
			t.Errorf("bad table row %+v", p)
		}
		if p.Type == TypeEnum && len(p.Values) == 0 {
			t.Errorf("%s: enum without values", p.Name)
		}
	}
	if _, err := FromMap(nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := Lookup("alluxio.master.rpc.port"); !ok {
		t.Error("Lookup failed")
	}
}

func TestPrecedence(t *testing.T) {
	site := `# comment
! another comment
alluxio.master.hostname=site-host
alluxio.master.rpc.port : 1000
  alluxio.worker.rpc.port 2000
alluxio.worker.web.port=3000
alluxio.master.web.port=4000
alluxio.user.block.size.bytes.default=\
    32MB
`
	envsh := `#!/usr/bin/env bash
# comment
export ALLUXIO_MASTER_HOSTNAME="envsh-host"
ALLUXIO_WORKER_MEMORY_SIZE=${ALLUXIO_WORKER_MEMORY_SIZE:-"2GB"}
ALLUXIO_JAVA_OPTS="-Xmx4g -Dalluxio.worker.rpc.port=2001"
ALLUXIO_JAVA_OPTS+=" -Dalluxio.worker.web.port=3001"
if [ -n "$X" ]; then
  echo hi
fi
`
	dir := writeConf(t, site, envsh)
	c, err := Load(LoadOptions{
		Scope:   ScopeMaster,
		ConfDir: dir,
		Env: env(map[string]string{
			"ALLUXIO_HOME":             "/opt/alluxio",
			"ALLUXIO_MASTER_JAVA_OPTS": `-Dalluxio.worker.web.port=3002 -Dalluxio.master.web.port=4001 "-Dalluxio.logs.dir=/var/log/my logs"`,
			"ALLUXIO_WORKER_JAVA_OPTS": "-Dalluxio.master.web.port=9",
		}),
		Flags: map[string]string{"alluxio.master.web.port": "4002"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sitePath := filepath.Join(dir, SiteFile)
	envPath := filepath.Join(dir, EnvFile)
	checks := []struct{ key, value, src string }{
		{"alluxio.home", "/opt/alluxio", "env ALLUXIO_HOME"},
		{"alluxio.master.journal.folder", "/opt/alluxio/journal", "default"},
		{"alluxio.master.hostname", "envsh-host", "env ALLUXIO_MASTER_HOSTNAME (" + envPath + ":3)"},
		{"alluxio.master.rpc.port", "1000", sitePath + ":4"},
		{"alluxio.worker.memory.size", "2GB", "env ALLUXIO_WORKER_MEMORY_SIZE (" + envPath + ":4)"},
		{"alluxio.worker.rpc.port", "2001", "ALLUXIO_JAVA_OPTS (" + envPath + ":6)"},
		{"alluxio.worker.web.port", "3002", "ALLUXIO_MASTER_JAVA_OPTS"},
		{"alluxio.master.web.port", "4002", "flag"},
		{"alluxio.logs.dir", "/var/log/my logs", "ALLUXIO_MASTER_JAVA_OPTS"},
		{"alluxio.user.block.size.bytes.default", "32MB", sitePath + ":8"},
	}
	for _, ch := range checks {
		v, src := c.Describe(ch.key)
		if v != ch.value || src.String() != ch.src {
			t.Errorf("%s = %q from %q, want %q from %q", ch.key, v, src, ch.value, ch.src)
		}
	}
	// Real environment wins over alluxio-env.sh.
	c, err = Load(LoadOptions{ConfDir: dir, Env: env(map[string]string{"ALLUXIO_MASTER_HOSTNAME": "real"})})
	if err != nil {
		t.Fatal(err)
	}
	if v, src := c.Describe("alluxio.conf.dir"); v != dir || src.String() != "flag" {
		t.Errorf("conf dir = %q from %v", v, src)
	}
	if v, src := c.Describe("alluxio.master.hostname"); v != "real" || src.String() != "env ALLUXIO_MASTER_HOSTNAME" {
		t.Errorf("hostname = %q from %v", v, src)
	}
	if got := c.GetInt("alluxio.worker.web.port"); got != 3001 {
		t.Errorf("appended JAVA_OPTS: web port %d", got)
	}
}

func TestConfDirFromEnv(t *testing.T) {
	dir := writeConf(t, "alluxio.master.rpc.port=1234\n", "")
	c, err := Load(LoadOptions{Env: env(map[string]string{"ALLUXIO_CONF_DIR": dir})})
	if err != nil || c.GetInt("alluxio.master.rpc.port") != 1234 {
		t.Fatalf("ALLUXIO_CONF_DIR: %v", err)
	}
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "conf", SiteFile), []byte("alluxio.master.rpc.port=4321"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Load(LoadOptions{Env: env(map[string]string{"ALLUXIO_HOME": home})})
	if err != nil || c.GetInt("alluxio.master.rpc.port") != 4321 {
		t.Fatalf("ALLUXIO_HOME: %v", err)
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		name  string
		site  string
		env   map[string]string
		flags map[string]string
		want  string
	}{
		{"int", "\n\nalluxio.master.rpc.port=abc\n", nil, nil,
			`conf: invalid value "abc" for alluxio.master.rpc.port (want a port number 0..65535) from SITE:3`},
		{"port range", "", nil, map[string]string{"alluxio.worker.rpc.port": "70000"},
			`conf: invalid value "70000" for alluxio.worker.rpc.port (want a port number 0..65535) from flag`},
		{"negative port", "", nil, map[string]string{"alluxio.worker.rpc.port": "-1"}, "want a port number"},
		{"duration", "alluxio.user.rpc.retry.max.duration=2 minutes please", nil, nil, "want a duration"},
		{"bytes", "", map[string]string{"ALLUXIO_WORKER_MEMORY_SIZE": "lots"}, nil,
			`conf: invalid value "lots" for alluxio.worker.memory.size (want a size such as 512KB, 64MB, 1GB) from env ALLUXIO_WORKER_MEMORY_SIZE`},
		{"bytes via reference", "", map[string]string{"ALLUXIO_WORKER_MEMORY_SIZE": "lots"}, map[string]string{"alluxio.worker.memory.size": "1GB", "alluxio.worker.tieredstore.level0.dirs.quota": "${alluxio.worker.memory.size}x"},
			`conf: invalid value "1GBx" (from "${alluxio.worker.memory.size}x") for alluxio.worker.tieredstore.level0.dirs.quota`},
		{"bool", "alluxio.zookeeper.enabled=yes", nil, nil, "(want true or false)"},
		{"bool 1", "alluxio.zookeeper.enabled=1", nil, nil, "(want true or false)"},
		{"ratio", "alluxio.worker.tieredstore.level0.watermark.high.ratio=1.5", nil, nil, "want a ratio between 0 and 1"},
		{"enum", "alluxio.user.file.writetype.default=SOMETIMES", nil, nil, "want one of MUST_CACHE, CACHE_THROUGH, THROUGH, ASYNC_THROUGH"},
		{"java opts", "", map[string]string{"ALLUXIO_JAVA_OPTS": "-Dalluxio.master.rpc.port=x"}, nil, "from ALLUXIO_JAVA_OPTS"},
		{"unterminated quote", "", map[string]string{"ALLUXIO_JAVA_OPTS": `-Dalluxio.master.rpc.port="1`}, nil, "conf: cannot split ALLUXIO_JAVA_OPTS: unterminated quote"},
		{"cycle", "alluxio.home=${alluxio.logs.dir}/x\nalluxio.logs.dir=${alluxio.home}", nil, nil, "cycle in ${} references"},
		{"self", "alluxio.home=${alluxio.home}", nil, nil, "cycle in ${} references: alluxio.home -> alluxio.home"},
		{"undefined ref", "alluxio.home=${nope}", nil, nil, "refers to undefined ${nope}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConf(t, tt.site, "")
			_, err := Load(LoadOptions{ConfDir: dir, Env: env(tt.env), Flags: tt.flags})
			want := strings.ReplaceAll(tt.want, "SITE", filepath.Join(dir, SiteFile))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want %q", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestNormalisation(t *testing.T) {
	c, err := FromMap(map[string]string{
		"alluxio.master.journal.type":         "ufs",
		"alluxio.zookeeper.enabled":           "TRUE",
		"alluxio.user.file.readtype.default":  " cache_promote ",
		"alluxio.zookeeper.address":           " zk1:2181, ,zk2:2181 ,",
		"alluxio.master.rpc.port":             "0",
		"alluxio.worker.memory.size":          "512mb",
		"alluxio.zookeeper.session.timeout":   "30000",
		"alluxio.master.worker.timeout":       "1.5min",
		"alluxio.master.journal.folder":       "hdfs://nn:9000${alluxio.home}/j",
		"alluxio.user.rpc.retry.base.sleep":   "10MS",
		"alluxio.master.mount.table.root.ufs": "${alluxio.master.journal.folder}/../ufs",
	})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"alluxio.master.journal.type":         "UFS",
		"alluxio.zookeeper.enabled":           "true",
		"alluxio.user.file.readtype.default":  "CACHE_PROMOTE",
		"alluxio.master.journal.folder":       "hdfs://nn:9000./j",
		"alluxio.master.mount.table.root.ufs": "hdfs://nn:9000./j/../ufs",
	} {
		if got := c.Get(key); got != want {
			t.Errorf("Get(%s) = %q, want %q", key, got, want)
		}
	}
	if got := c.GetList("alluxio.zookeeper.address"); !slices.Equal(got, []string{"zk1:2181", "zk2:2181"}) {
		t.Errorf("GetList = %q", got)
	}
	if !slices.Equal(c.GetBytesList("alluxio.worker.tieredstore.level0.dirs.quota"), []int64{512 << 20}) {
		t.Error("quota does not follow memory size")
	}
	if c.GetDuration("alluxio.zookeeper.session.timeout") != 30*time.Second ||
		c.GetDuration("alluxio.master.worker.timeout") != 90*time.Second ||
		c.GetDuration("alluxio.user.rpc.retry.base.sleep") != 10*time.Millisecond {
		t.Error("durations wrong")
	}
	if !c.IsSet("alluxio.master.rpc.port") || c.Source("alluxio.master.rpc.port").String() != "runtime" {
		t.Error("FromMap source")
	}
	if _, err := FromMap(map[string]string{"alluxio.nope": "1"}); err == nil {
		t.Error("FromMap accepted an unknown key")
	}
}

func TestWith(t *testing.T) {
	c, err := FromMap(nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.With("alluxio.home", "/h")
	if err != nil {
		t.Fatal(err)
	}
	if d.Get("alluxio.logs.dir") != "/h/logs" || c.Get("alluxio.logs.dir") != "./logs" {
		t.Errorf("With: new %q old %q", d.Get("alluxio.logs.dir"), c.Get("alluxio.logs.dir"))
	}
	if _, err := c.With("alluxio.master.rpc.port", "x"); err == nil {
		t.Error("With accepted a bad value")
	}
	if _, err := c.With("alluxio.nope", "x"); err == nil {
		t.Error("With accepted an unknown key")
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	dir := writeConf(t, "alluxio.master.rpc.prot=1\nfs.s3a.access.key=x\nalluxio.user.hostname=${alluxio.custom}\nalluxio.custom=me\n", "")
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := Load(LoadOptions{ConfDir: dir, Env: env(map[string]string{"ALLUXIO_JAVA_OPTS": "-Xmx4g -server -Dlog4j.configuration=x"}), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, SiteFile)
	want := []string{"alluxio.master.rpc.prot (" + site + ":1)", "alluxio.custom (" + site + ":4)"}
	if got := c.Unknown(); !slices.Equal(got, want) {
		t.Errorf("Unknown() = %q, want %q", got, want)
	}
	if c.Get("alluxio.user.hostname") != "me" {
		t.Errorf("reference to an unknown key: %q", c.Get("alluxio.user.hostname"))
	}
	out := buf.String()
	for _, w := range []string{"level=WARN msg=\"conf: unknown property\" key=alluxio.master.rpc.prot", "-Xmx4g", "log4j.configuration"} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
}

func TestGetterPanics(t *testing.T) {
	c, _ := FromMap(nil)
	for name, f := range map[string]func(){
		"unknown":  func() { c.Get("alluxio.nope") },
		"bool":     func() { c.GetBool("alluxio.master.rpc.port") },
		"duration": func() { c.GetDuration("alluxio.home") },
		"int":      func() { c.GetInt("alluxio.home") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
