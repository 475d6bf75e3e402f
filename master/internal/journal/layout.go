package journal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
)

const (
	// masterName is the journal's sub-directory, as in Alluxio.
	masterName = "FileSystemMaster"
	// version is the layout version directory.
	version = "v1"
	// openEnd is the end of the open log's name range.
	openEnd        = math.MaxInt64
	logsDir        = "logs"
	checkpointsDir = "checkpoints"
	tmpDir         = ".tmp"
	// formatPrefix names the marker file that `alluxio format` writes.
	formatPrefix = "_format_"
	// sealingSuffix marks an open log that a new leader has fenced (renamed)
	// and is about to seal: 0x<start>-0x7fffffffffffffff.sealing.
	sealingSuffix = ".sealing"
)

// segName is the name of a log or checkpoint covering [start, end).
func segName(start, end int64) string {
	return fmt.Sprintf("0x%x-0x%x", start, end)
}

// parseSegName parses "0x<start>-0x<end>" (lower-case hex).
func parseSegName(name string) (start, end int64, ok bool) {
	a, b, found := strings.Cut(name, "-")
	if !found || !strings.HasPrefix(a, "0x") || !strings.HasPrefix(b, "0x") {
		return 0, 0, false
	}
	s, err1 := strconv.ParseInt(a[2:], 16, 64)
	e, err2 := strconv.ParseInt(b[2:], 16, 64)
	if err1 != nil || err2 != nil || s < 0 || e < s || segName(s, e) != name {
		return 0, 0, false
	}
	return s, e, true
}

// segment is one file in logs/ or checkpoints/.
type segment struct {
	name       string // Storage name, relative to the journal folder
	path       string // for messages: the folder's URI joined with name
	start, end int64  // end exclusive; openEnd for the open log
	size       int64
	id         uint64 // FileInfo.ID when listed
	// sealing: an open log renamed with sealingSuffix by a new leader that
	// has not finished sealing it. Only the sealer reads it.
	sealing bool
}

func (s segment) open() bool { return s.end == openEnd }

// where names a Storage name in messages: the folder's URI joined with it.
func where(st Storage, name string) string {
	return strings.TrimSuffix(st.URI(), "/") + "/" + name
}

// listSegments lists the segments of dir sorted by start (then end).
// Files with other names are ignored.
func listSegments(ctx context.Context, st Storage, dir string) ([]segment, error) {
	ents, err := st.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, fi := range ents {
		if fi.IsDir {
			continue
		}
		name, sealing := strings.CutSuffix(fi.Name, sealingSuffix)
		start, end, ok := parseSegName(name)
		if !ok || (sealing && end != openEnd) {
			continue
		}
		n := path.Join(dir, fi.Name)
		segs = append(segs, segment{name: n, path: where(st, n), start: start, end: end, size: fi.Size, id: fi.ID, sealing: sealing})
	}
	sort.Slice(segs, func(i, j int) bool {
		if segs[i].start != segs[j].start {
			return segs[i].start < segs[j].start
		}
		if segs[i].end != segs[j].end {
			return segs[i].end < segs[j].end
		}
		return !segs[i].sealing && segs[j].sealing
	})
	return segs, nil
}

// checkFence reports (as an error) whether name still names the file whose
// ID is id. It is the fence check: a new leader renames the open log before
// it reads it to seal it, so a writer or reader that finds its open log's
// name still naming its file knows that every byte it wrote or read before
// the check precedes the seal. The error wraps ErrFenced. An id of 0
// (unknown) checks only that the name exists.
func checkFence(ctx context.Context, st Storage, name string, id uint64) error {
	cur, err := st.Stat(ctx, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s was renamed", ErrFenced, where(st, name))
		}
		return fmt.Errorf("journal: open log %s: %w", where(st, name), err)
	}
	if id != 0 && cur.ID != id {
		return fmt.Errorf("%w: %s now names another file", ErrFenced, where(st, name))
	}
	return nil
}
