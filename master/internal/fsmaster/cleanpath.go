package fsmaster

import (
	"strings"

	"github.com/alluxio-go/alluxio/common/pathutil"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// cleanPath is pathutil.Clean without its allocations for a path that is
// clean already (what clients send): such a path is returned as is.
func cleanPath(p string) (string, error) {
	if isClean(p) {
		return p, nil
	}
	return pathutil.Clean(p)
}

// isClean reports whether pathutil.Clean would accept p and return it
// unchanged: absolute, not too long, no NUL byte, no empty, "." or ".."
// component, no component too long, no trailing slash except for "/".
func isClean(p string) bool {
	if p == "/" {
		return true
	}
	if len(p) < 2 || len(p) > pathutil.MaxPathLength || p[0] != '/' || p[len(p)-1] == '/' || strings.IndexByte(p, 0) >= 0 {
		return false
	}
	for rest := p[1:]; ; {
		i := strings.IndexByte(rest, '/')
		c := rest
		if i >= 0 {
			c = rest[:i]
		}
		if c == "" || c == "." || c == ".." || len(c) > pathutil.MaxComponentLength {
			return false
		}
		if i < 0 {
			return true
		}
		rest = rest[i+1:]
	}
}

// persistNames are the names of the persistence states, by number.
var persistNames = func() [8]string {
	var a [8]string
	for i := range a {
		a[i] = alluxiopb.PersistenceState(i).String()
	}
	return a
}()
