package fsmaster

import (
	"sort"
	"strings"

	"github.com/alluxio-go/alluxio/common/pathutil"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// Inode ids follow Alluxio's block-container scheme: every inode gets a
// container id from the journaled generator; its id is container<<24|0xFFFFFF
// and block i of a file is container<<24|i. A file's block ids are therefore
// implied by its id and block count, and need no storage.
const (
	blockIndexBits = 24
	blockIndexMask = int64(1)<<blockIndexBits - 1
	maxBlocks      = blockIndexMask // index 0xFFFFFF is the inode id itself
)

func inodeIDFor(container int64) int64  { return container<<blockIndexBits | blockIndexMask }
func containerOf(id int64) int64        { return id >> blockIndexBits }
func blockIDFor(fileID, i int64) int64  { return containerOf(fileID)<<blockIndexBits | i }
func fileIDOfBlock(blockID int64) int64 { return blockID | blockIndexMask }
func blockIndex(blockID int64) int64    { return blockID & blockIndexMask }

// rootID is the id of "/": container 0.
var rootID = inodeIDFor(0)

const (
	flagDir uint8 = 1 << iota
	flagCompleted
	flagPinned
	flagMountPoint
	flagCacheable
	// flagChildrenLoaded: the directory's UFS listing was merged (not journaled).
	flagChildrenLoaded
	// flagCacheOnly: an incomplete file created MUST_CACHE, whose
	// completion need not look in the UFS (InodeFileEntry.cache_only;
	// cleared on completion).
	flagCacheOnly
)

// inode is one file or directory. It is kept small: the target is well under
// 400 bytes of heap per file including map entries. Paths are not stored.
type inode struct {
	id        int64
	parent    *inode
	name      string
	owner     string
	group     string
	ctime     int64 // ms
	mtime     int64 // ms
	ttl       int64 // ms; -1 none
	length    int64
	blockSize int64
	nblocks   int32
	mode      uint16
	flags     uint8
	persist   uint8 // alluxiopb.PersistenceState
	ttlAction uint8
	children  map[string]*inode // directories only
}

func (n *inode) isDir() bool      { return n.flags&flagDir != 0 }
func (n *inode) has(f uint8) bool { return n.flags&f != 0 }
func (n *inode) set(f uint8, on bool) {
	if on {
		n.flags |= f
	} else {
		n.flags &^= f
	}
}

func (n *inode) blockIDs() []int64 {
	if n.nblocks == 0 {
		return nil
	}
	ids := make([]int64, n.nblocks)
	for i := range ids {
		ids[i] = blockIDFor(n.id, int64(i))
	}
	return ids
}

// blockLen is the length of block i of a completed file.
func (n *inode) blockLen(i int64) int64 {
	l := n.length - i*n.blockSize
	if l > n.blockSize {
		l = n.blockSize
	}
	if l < 0 {
		l = 0
	}
	return l
}

func (n *inode) sortedChildren() []*inode {
	out := make([]*inode, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

var ttlActions = []string{"", "DELETE", "FREE"}

func ttlActionCode(s string) uint8 {
	for i, a := range ttlActions {
		if a == s {
			return uint8(i)
		}
	}
	return 0
}

// persistNames are the names of the persistence states, by number.
var persistNames = func() [8]string {
	var a [8]string
	for i := range a {
		a[i] = alluxiopb.PersistenceState(i).String()
	}
	return a
}()

func persistName(p uint8) string {
	if p == 0 {
		p = uint8(alluxiopb.PersistenceState_NOT_PERSISTED)
	}
	if int(p) < len(persistNames) {
		return persistNames[p]
	}
	return alluxiopb.PersistenceState(p).String()
}

func persistCode(s string) uint8 {
	if v, ok := alluxiopb.PersistenceState_value[s]; ok && v != 0 {
		return uint8(v)
	}
	return uint8(alluxiopb.PersistenceState_NOT_PERSISTED)
}

func (n *inode) persisted() bool { return n.persist == uint8(alluxiopb.PersistenceState_PERSISTED) }

// pathOf computes the path of an attached inode.
func pathOf(n *inode) string {
	if n.parent == nil {
		return "/"
	}
	var parts []string
	for x := n; x.parent != nil; x = x.parent {
		parts = append(parts, x.name)
	}
	size := 0
	for _, p := range parts {
		size += len(p) + 1
	}
	b := make([]byte, 0, size)
	for i := len(parts) - 1; i >= 0; i-- {
		b = append(b, '/')
		b = append(b, parts[i]...)
	}
	return string(b)
}

// walk visits n and its descendants, parents before children, children in
// name order.
func walk(n *inode, fn func(*inode) error) error {
	if err := fn(n); err != nil {
		return err
	}
	if !n.isDir() {
		return nil
	}
	for _, c := range n.sortedChildren() {
		if err := walk(c, fn); err != nil {
			return err
		}
	}
	return nil
}

// lookupLocked resolves a clean path. It returns the deepest existing inode
// and the number of components it consumed.
func (m *Master) lookupLocked(clean string) (*inode, []string, int) {
	comps := pathutil.Components(clean)
	n := m.root
	for i, c := range comps {
		if !n.isDir() {
			return n, comps, i
		}
		child, ok := n.children[c]
		if !ok {
			return n, comps, i
		}
		n = child
	}
	return n, comps, len(comps)
}

// walkLocked is lookupLocked without allocating: it returns the deepest
// existing inode on the way to a clean path and how many of the path's
// components lie below it (0: the path exists).
func (m *Master) walkLocked(clean string) (*inode, int) {
	n := m.root
	for rest := clean[1:]; rest != ""; {
		c := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			c, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if !n.isDir() {
			return n, 1 + countComps(rest)
		}
		child, ok := n.children[c]
		if !ok {
			return n, 1 + countComps(rest)
		}
		n = child
	}
	return n, 0
}

// countComps is the number of components of a relative path ("" has none).
func countComps(rel string) int {
	if rel == "" {
		return 0
	}
	return strings.Count(rel, "/") + 1
}

// getLocked returns the inode of a clean path, or nil. Unlike lookupLocked
// it does not allocate.
func (m *Master) getLocked(clean string) *inode {
	if n, missing := m.walkLocked(clean); missing == 0 {
		return n
	}
	return nil
}
