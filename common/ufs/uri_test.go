package ufs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestParseURIKeepsPathVerbatim(t *testing.T) {
	for _, c := range []struct{ in, scheme, host, path string }{
		{"hdfs://nn:8020/logs/100%.txt", "hdfs", "nn:8020", "/logs/100%.txt"},
		{"hdfs://nn/a/x#y?z;w", "hdfs", "nn", "/a/x#y?z;w"},
		{"HDFS://nn", "hdfs", "nn", ""},
		{"/tmp/a b/%zz", "", "", "/tmp/a b/%zz"},
		{"file:///tmp/50%", "file", "", "/tmp/50%"},
		{"file:/tmp/x", "file", "", "/tmp/x"},
	} {
		u, err := ParseURI(c.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", c.in, err)
			continue
		}
		if u.Scheme != c.scheme || u.Host != c.host || u.Path != c.path {
			t.Errorf("ParseURI(%q) = %q %q %q; want %q %q %q", c.in, u.Scheme, u.Host, u.Path, c.scheme, c.host, c.path)
		}
	}
	for _, bad := range []string{"://x/y", "1dfs://nn/a", "hdfs://n%n/a", "hd/fs://nn/a"} {
		if _, err := ParseURI(bad); err == nil {
			t.Errorf("ParseURI(%q) succeeded; want an error", bad)
		}
	}
}

// A local file whose name holds URL metacharacters is reachable by its
// path and its file:// URI through a Registry.
func TestLocalOddNames(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, name := range []string{"100%.txt", "x#y", "q?r", "%zz"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, uri := range []string{p, "file://" + p} {
			fsys, err := NewRegistry().Open(ctx, uri, nil)
			if err != nil {
				t.Fatalf("Open(%q): %v", uri, err)
			}
			st, err := fsys.GetStatus(ctx, uri)
			if err != nil || st.Length != int64(len(name)) {
				t.Errorf("GetStatus(%q) = %+v, %v", uri, st, err)
			}
			fsys.Close()
		}
	}
}
