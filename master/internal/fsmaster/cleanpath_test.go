package fsmaster

import (
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/common/pathutil"
)

// TestCleanPathMatchesPathutil checks that cleanPath answers exactly as
// pathutil.Clean, and returns a clean path itself.
func TestCleanPathMatchesPathutil(t *testing.T) {
	long := strings.Repeat("x", pathutil.MaxComponentLength)
	for _, p := range []string{
		"/", "/a", "/a/b", "/a/b/c.txt", "//", "/a/", "/a//b", "a/b", "", "/.", "/a/..", "/a/./b", "/..a", "/a.",
		"/a\x00b", "/" + long, "/" + long + "y", "/a/" + long, "/" + strings.Repeat("ab/", 2000) + "c",
	} {
		want, werr := pathutil.Clean(p)
		got, gerr := cleanPath(p)
		if (werr == nil) != (gerr == nil) || got != want {
			t.Errorf("cleanPath(%.40q) = %.40q, %v; pathutil.Clean: %.40q, %v", p, got, gerr, want, werr)
		}
		if isClean(p) && (werr != nil || want != p) {
			t.Errorf("isClean(%.40q) but pathutil.Clean gives %.40q, %v", p, want, werr)
		}
	}
}

// TestGetLockedMatchesLookup checks the allocation-free walk of getLocked
// against lookupLocked.
func TestGetLockedMatchesLookup(t *testing.T) {
	m := New(Config{})
	m.mu.Lock()
	defer m.mu.Unlock()
	a := &inode{id: 2, name: "a", parent: m.root, children: map[string]*inode{}, flags: flagDir}
	m.root.children["a"] = a
	f := &inode{id: 3, name: "f", parent: a}
	a.children["f"] = f
	for p, want := range map[string]*inode{"/": m.root, "/a": a, "/a/f": f, "/b": nil, "/a/g": nil, "/a/f/x": nil} {
		if got := m.getLocked(p); got != want {
			t.Errorf("getLocked(%s) = %v, want %v", p, got, want)
		}
		n, comps, i := m.lookupLocked(p)
		if (i == len(comps)) != (want != nil) || (want != nil && n != want) {
			t.Errorf("lookupLocked(%s) disagrees", p)
		}
	}
}
