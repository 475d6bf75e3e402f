package uri

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want URI
	}{
		{"/", URI{Path: "/"}},
		{"/a//b/", URI{Path: "/a/b"}},
		{"alluxio:///", URI{Scheme: "alluxio", Path: "/"}},
		{"alluxio:///x/y", URI{Scheme: "alluxio", Path: "/x/y"}},
		{"alluxio://host:19998", URI{Scheme: "alluxio", Authority: "host:19998", MasterAddr: "host:19998", Masters: []string{"host:19998"}, Path: "/"}},
		{"ALLUXIO://host:19998/a", URI{Scheme: "alluxio", Authority: "host:19998", MasterAddr: "host:19998", Masters: []string{"host:19998"}, Path: "/a"}},
		{"alluxio://[::1]:19998/a", URI{Scheme: "alluxio", Authority: "[::1]:19998", MasterAddr: "[::1]:19998", Masters: []string{"[::1]:19998"}, Path: "/a"}},
		{"alluxio://m1:19998,m2:19998/a", URI{Scheme: "alluxio", Authority: "m1:19998,m2:19998", Masters: []string{"m1:19998", "m2:19998"}, Path: "/a"}},
		{"alluxio://zk@zk1:2181,zk2:2181/path", URI{Scheme: "alluxio", Authority: "zk@zk1:2181,zk2:2181", ZooKeeper: []string{"zk1:2181", "zk2:2181"}, Path: "/path"}},
		{"alluxio://zk@zk1:2181;zk2:2181;zk3:2181/", URI{Scheme: "alluxio", Authority: "zk@zk1:2181;zk2:2181;zk3:2181", ZooKeeper: []string{"zk1:2181", "zk2:2181", "zk3:2181"}, Path: "/"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, %v\nwant %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"a/b", "relative path"},
		{"./a", "relative path"},
		{"/a/../b", `".." component`},
		{"alluxio:///a/./b", `"." component`},
		{"hdfs://nn:9000/x", `unknown scheme "hdfs"`},
		{"alluxio:/x", `needs "//"`},
		{"alluxio://host/x", "not host:port"},
		{"alluxio://host:0/x", "bad port"},
		{"alluxio://host:70000/x", "bad port"},
		{"alluxio://host:abc/x", "bad port"},
		{"alluxio://:19998/x", "no host"},
		{"alluxio://zk@/x", "no host:port"},
		{"alluxio://zk@zk1:2181,zk2/x", `"zk2" is not host:port`},
		{"alluxio://user@host:1/x", "unsupported authority"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestString(t *testing.T) {
	for _, s := range []string{"/a/b", "alluxio:///a", "alluxio://h:1/a", "alluxio://zk@a:1,b:2/"} {
		u, err := Parse(s)
		if err != nil || u.String() != s {
			t.Errorf("Parse(%q).String() = %q, %v", s, u.String(), err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/a", "alluxio:///a", "alluxio://h:1/a", "alluxio://zk@a:1,b:2/x", "a", "alluxio://[::1]:5/", "x://y", "alluxio://h:99999/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(u.Path, "/") {
			t.Fatalf("Parse(%q).Path = %q", s, u.Path)
		}
		// The canonical form parses to the same URI.
		v, err := Parse(u.String())
		if err != nil || !reflect.DeepEqual(u, v) {
			t.Fatalf("reparse of %q (%q): %+v, %v; want %+v", s, u.String(), v, err, u)
		}
	})
}
