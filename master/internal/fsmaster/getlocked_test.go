package fsmaster

import "testing"

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
