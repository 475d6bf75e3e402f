package conf

import (
	"bytes"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Keys under a template (alluxio.master.journal.ufs.option.<key>,
// alluxio.master.mount.table.root.option.<key>) load from every source
// without an unknown-property warning, keep their source, expand ${}
// references, are listed by Keys and collected by GetPrefixed.
func TestTemplateKeys(t *testing.T) {
	dir := writeConf(t, strings.Join([]string{
		"alluxio.master.journal.ufs.option.alluxio.underfs.hdfs.user=alluxio",
		"alluxio.master.journal.ufs.option.alluxio.underfs.hdfs.configuration=${alluxio.home}/conf/hdfs-site.xml",
		"alluxio.master.mount.table.root.option.alluxio.underfs.hdfs.user=${alluxio.master.journal.ufs.option.alluxio.underfs.hdfs.user}-root",
		"alluxio.master.journal.ufs.optionx=typo",
	}, "\n"), "")
	var logs bytes.Buffer
	c, err := Load(LoadOptions{
		ConfDir: dir,
		Env: env(map[string]string{
			"ALLUXIO_HOME":             "/opt/alluxio",
			"ALLUXIO_MASTER_JAVA_OPTS": "-Dalluxio.master.mount.table.root.option.alluxio.underfs.hdfs.dial.timeout=5s",
		}),
		Scope:  ScopeMaster,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	journal := c.GetPrefixed(JournalUFSOptionPrefix)
	wantJournal := map[string]string{
		"alluxio.underfs.hdfs.user":          "alluxio",
		"alluxio.underfs.hdfs.configuration": "/opt/alluxio/conf/hdfs-site.xml",
	}
	if !maps.Equal(journal, wantJournal) {
		t.Errorf("journal options = %v, want %v", journal, wantJournal)
	}
	root := c.GetPrefixed(strings.TrimSuffix(RootUFSOptionPrefix, ".")) // with or without the dot
	wantRoot := map[string]string{
		"alluxio.underfs.hdfs.user":         "alluxio-root",
		"alluxio.underfs.hdfs.dial.timeout": "5s",
	}
	if !maps.Equal(root, wantRoot) {
		t.Errorf("root options = %v, want %v", root, wantRoot)
	}
	key := JournalUFSOptionPrefix + "alluxio.underfs.hdfs.user"
	if src := c.Source(key).String(); !strings.HasSuffix(src, SiteFile+":1") || !c.IsSet(key) {
		t.Errorf("Source(%s) = %s, IsSet %v; want line 1 of the site file", key, src, c.IsSet(key))
	}
	if v, src := c.Describe(RootUFSOptionPrefix + "alluxio.underfs.hdfs.dial.timeout"); v != "5s" || src.String() != "ALLUXIO_MASTER_JAVA_OPTS" {
		t.Errorf("Describe = %s (%s), want 5s from ALLUXIO_MASTER_JAVA_OPTS", v, src)
	}
	if u := c.Unknown(); len(u) != 1 || !strings.HasPrefix(u[0], "alluxio.master.journal.ufs.optionx ") {
		t.Errorf("Unknown = %v, want only the typo", u)
	}
	if strings.Contains(logs.String(), "hdfs.user") {
		t.Errorf("a template key was warned about: %s", logs.String())
	}
	keys := c.Keys()
	if !slices.IsSorted(keys) || !slices.Contains(keys, key) || slices.Contains(keys, JournalUFSOptionPrefix) {
		t.Errorf("Keys lists %d keys; want sorted, with %s and without the bare prefix", len(keys), key)
	}
	p, ok := Lookup(key)
	if !ok || p.Name != key || p.Type != TypeString || p.Scope != ScopeMaster || p.Prefix || p.Description == "" {
		t.Errorf("Lookup(%s) = %+v, %v", key, p, ok)
	}
	for _, bad := range []string{JournalUFSOptionPrefix, "alluxio.master.journal.ufs.option", "alluxio.master.journal.ufs.optionx"} {
		if _, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%s) succeeded", bad)
		}
	}
	// Not set: an empty map and an empty value.
	d, err := FromMap(nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := d.GetPrefixed(JournalUFSOptionPrefix); m == nil || len(m) != 0 {
		t.Errorf("GetPrefixed with nothing set = %#v, want an empty map", m)
	}
	if d.Get(key) != "" || d.IsSet(key) || d.Source(key).String() != "default" {
		t.Errorf("unset template key: %q %v %v", d.Get(key), d.IsSet(key), d.Source(key))
	}
}

func TestTemplateKeysFromMapAndWith(t *testing.T) {
	c, err := FromMap(map[string]string{JournalUFSOptionPrefix + "alluxio.underfs.hdfs.user": "a"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.With(RootUFSOptionPrefix+"alluxio.underfs.hdfs.user", "b")
	if err != nil {
		t.Fatal(err)
	}
	if got := n.GetPrefixed(RootUFSOptionPrefix)["alluxio.underfs.hdfs.user"]; got != "b" {
		t.Errorf("With: root option = %q", got)
	}
	if got := n.GetPrefixed(JournalUFSOptionPrefix)["alluxio.underfs.hdfs.user"]; got != "a" {
		t.Errorf("With lost the journal option: %q", got)
	}
	if len(c.GetPrefixed(RootUFSOptionPrefix)) != 0 {
		t.Error("With changed the original")
	}
	if _, err := FromMap(map[string]string{JournalUFSOptionPrefix: "x"}); err == nil {
		t.Error("FromMap accepted the bare prefix")
	}
	defer func() {
		if recover() == nil {
			t.Error("GetPrefixed of a non-template did not panic")
		}
	}()
	c.GetPrefixed("alluxio.master.journal")
}

// The templates are documented in the key table.
func TestTemplatesInTable(t *testing.T) {
	var got []string
	for _, p := range Properties() {
		if p.Prefix {
			got = append(got, p.Name)
			if !strings.HasSuffix(p.Name, ".") {
				t.Errorf("template %s does not end with a dot", p.Name)
			}
		}
	}
	slices.Sort(got)
	want := []string{JournalUFSOptionPrefix, RootUFSOptionPrefix}
	if !slices.Equal(got, want) {
		t.Errorf("templates in the table = %v, want %v", got, want)
	}
}
