package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
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
	path       string
	start, end int64 // end exclusive; openEnd for the open log
	size       int64
	// sealing: an open log renamed with sealingSuffix by a new leader that
	// has not finished sealing it. Only the sealer reads it.
	sealing bool
}

func (s segment) open() bool { return s.end == openEnd }

// listSegments lists the segments of dir sorted by start (then end).
// Files with other names are ignored.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, de := range ents {
		if !de.Type().IsRegular() {
			continue
		}
		name, sealing := strings.CutSuffix(de.Name(), sealingSuffix)
		start, end, ok := parseSegName(name)
		if !ok || (sealing && end != openEnd) {
			continue
		}
		info, err := de.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed while listing (e.g. by a checkpoint)
			}
			return nil, err
		}
		segs = append(segs, segment{path: filepath.Join(dir, de.Name()), start: start, end: end, size: info.Size(), sealing: sealing})
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

// syncDir fsyncs a directory so that renames and creations in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// sameFile reports (as an error) whether path still names the file f has
// open. It is the fence check: a new leader renames the open log before it
// reads it to seal it, so a writer or reader that finds its open log's name
// still naming its file knows that every byte it wrote or read before the
// check precedes the seal. The error wraps ErrFenced.
func sameFile(f interface{ Stat() (os.FileInfo, error) }, path string) error {
	mine, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open log %s: stat: %w", path, err)
	}
	cur, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s was renamed", ErrFenced, path)
		}
		return fmt.Errorf("open log %s: %w", path, err)
	}
	if !os.SameFile(mine, cur) {
		return fmt.Errorf("%w: %s now names another file", ErrFenced, path)
	}
	return nil
}
