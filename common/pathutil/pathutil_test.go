package pathutil

import (
	"errors"
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{"/", "/", false},
		{"//", "/", false},
		{"/a/b/", "/a/b", false},
		{"/a//b", "/a/b", false},
		{"", "", true},
		{"a/b", "", true},
		{"/a/../b", "", true},
		{"/a/./b", "", true},
		{"/a/..", "", true},
		{"/a\x00b", "", true},
	} {
		got, err := Clean(tc.in)
		if tc.bad {
			if !errors.Is(err, rpcstatus.ErrInvalidArgument) {
				t.Errorf("Clean(%q) = %q, %v; want invalid argument", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Clean(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestHelpers(t *testing.T) {
	if Parent("/a/b") != "/a" || Parent("/a") != "/" || Parent("/") != "/" {
		t.Error("Parent")
	}
	if Base("/a/b") != "b" || Base("/") != "" {
		t.Error("Base")
	}
	if Join("/", "a") != "/a" || Join("/a", "b") != "/a/b" {
		t.Error("Join")
	}
	if !HasPrefix("/a/b", "/a") || HasPrefix("/ab", "/a") || !HasPrefix("/x", "/") {
		t.Error("HasPrefix")
	}
	if len(Components("/")) != 0 || len(Components("/a/b")) != 2 {
		t.Error("Components")
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "a", "/a/../b", "//x//", "/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := Clean(p)
		if err != nil {
			return
		}
		c2, err := Clean(c)
		if err != nil || c2 != c {
			t.Fatalf("Clean not idempotent: %q -> %q -> %q, %v", p, c, c2, err)
		}
	})
}

// TestCleanFastPath checks that Clean with its fast path for clean paths
// answers exactly as without it, and that a path isClean accepts is one
// clean returns unchanged.
func TestCleanFastPath(t *testing.T) {
	long := strings.Repeat("x", MaxComponentLength)
	for _, p := range []string{
		"/", "/a", "/a/b", "/a/b/c.txt", "//", "/a/", "/a//b", "a/b", "", "/.", "/a/..", "/a/./b", "/..a", "/a.",
		"/a\x00b", "/" + long, "/" + long + "y", "/a/" + long, "/" + strings.Repeat("ab/", 2000) + "c",
	} {
		want, werr := clean(p)
		got, gerr := Clean(p)
		if (werr == nil) != (gerr == nil) || got != want {
			t.Errorf("Clean(%.40q) = %.40q, %v; without the fast path: %.40q, %v", p, got, gerr, want, werr)
		}
		if isClean(p) && (werr != nil || want != p) {
			t.Errorf("isClean(%.40q) but clean gives %.40q, %v", p, want, werr)
		}
	}
	for _, p := range []string{"/", "/a", "/a/b/c.txt", "/..a"} {
		if !isClean(p) {
			t.Errorf("isClean(%q) = false: the fast path misses a clean path", p)
		}
	}
}
