// Package pathutil validates and manipulates Alluxio namespace paths. Every
// path that enters a master or client goes through Clean, which refuses
// relative paths and ".." or "." components instead of resolving them.
package pathutil

import (
	"fmt"
	"strings"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

// MaxPathLength bounds the length of a namespace path in bytes.
const MaxPathLength = 4096

// MaxComponentLength bounds one path component in bytes.
const MaxComponentLength = 255

// Clean validates an absolute namespace path and returns it in canonical form:
// a leading "/", no repeated or trailing slashes. It rejects empty and relative
// paths, "." and ".." components, NUL bytes and over-long paths. Errors wrap
// rpcstatus.ErrInvalidArgument. A path that is clean already (what clients
// send) is returned as is, without allocating.
func Clean(p string) (string, error) {
	if isClean(p) {
		return p, nil
	}
	return clean(p)
}

// isClean reports whether clean would accept p and return it unchanged:
// absolute, not too long, no NUL byte, no empty, "." or ".." component, no
// component too long, no trailing slash except for "/".
func isClean(p string) bool {
	if p == "/" {
		return true
	}
	if len(p) < 2 || len(p) > MaxPathLength || p[0] != '/' || p[len(p)-1] == '/' || strings.IndexByte(p, 0) >= 0 {
		return false
	}
	for rest := p[1:]; ; {
		i := strings.IndexByte(rest, '/')
		c := rest
		if i >= 0 {
			c = rest[:i]
		}
		if c == "" || c == "." || c == ".." || len(c) > MaxComponentLength {
			return false
		}
		if i < 0 {
			return true
		}
		rest = rest[i+1:]
	}
}

// clean is Clean without its fast path for clean paths.
func clean(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("path is empty: %w", rpcstatus.ErrInvalidArgument)
	}
	if len(p) > MaxPathLength {
		return "", fmt.Errorf("path is longer than %d bytes: %w", MaxPathLength, rpcstatus.ErrInvalidArgument)
	}
	if p[0] != '/' {
		return "", fmt.Errorf("path %q is not absolute (it must start with /): %w", p, rpcstatus.ErrInvalidArgument)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("path %q contains a NUL byte: %w", p, rpcstatus.ErrInvalidArgument)
	}
	var b strings.Builder
	b.Grow(len(p))
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "":
			continue
		case ".", "..":
			return "", fmt.Errorf("path %q contains a %q component: %w", p, c, rpcstatus.ErrInvalidArgument)
		}
		if len(c) > MaxComponentLength {
			return "", fmt.Errorf("path %q has a component longer than %d bytes: %w", p, MaxComponentLength, rpcstatus.ErrInvalidArgument)
		}
		b.WriteByte('/')
		b.WriteString(c)
	}
	if b.Len() == 0 {
		return "/", nil
	}
	return b.String(), nil
}

// Components splits a clean path into its names; the root has none.
func Components(clean string) []string {
	if clean == "/" {
		return nil
	}
	return strings.Split(clean[1:], "/")
}

// Join appends name to a clean directory path.
func Join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// Parent returns the parent of a clean path; the root's parent is the root.
func Parent(clean string) string {
	i := strings.LastIndexByte(clean, '/')
	if i <= 0 {
		return "/"
	}
	return clean[:i]
}

// Base returns the last component of a clean path ("" for the root).
func Base(clean string) string {
	return clean[strings.LastIndexByte(clean, '/')+1:]
}

// HasPrefix reports whether clean path p is prefix or lies under it.
func HasPrefix(p, prefix string) bool {
	if prefix == "/" || p == prefix {
		return true
	}
	return strings.HasPrefix(p, prefix) && p[len(prefix)] == '/'
}
