// Package ufs is the under file system abstraction: the persistent storage
// (a local or mounted directory, HDFS, S3) that Alluxio caches. Backends
// register themselves by URI scheme; every backend passes the conformance
// suite in package ufstest.
package ufs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned (wrapped) when a path does not exist in the UFS.
var ErrNotFound = errors.New("ufs: not found")

// ErrExists is returned (wrapped) when creating a path that already exists.
var ErrExists = errors.New("ufs: already exists")

// Status describes one UFS file or directory.
type Status struct {
	Name    string // last path component
	IsDir   bool
	Length  int64
	ModTime time.Time
	Mode    uint32 // permission bits
	Owner   string
	Group   string
}

// CreateOptions are the options of UnderFileSystem.Create.
type CreateOptions struct {
	Mode      uint32 // permission bits; 0 means 0644
	Overwrite bool   // replace an existing file
	// CreateParent makes missing parent directories.
	CreateParent bool
}

// Writer is a file being written. Its bytes become visible at the target path
// only when Close returns nil; Cancel discards them. Either may be called once.
type Writer interface {
	io.Writer
	// Close makes the written bytes durable and visible at the target path.
	Close() error
	// Cancel discards the written bytes; the target path is left untouched.
	Cancel() error
}

// UnderFileSystem is one under storage. Paths are full URIs or absolute paths
// in the backend's own namespace (e.g. "/data/x" or "hdfs://nn:9000/data/x").
type UnderFileSystem interface {
	// Create opens a new file for writing; see Writer for visibility.
	Create(ctx context.Context, path string, opts CreateOptions) (Writer, error)
	// Open reads a file from offset.
	Open(ctx context.Context, path string, offset int64) (io.ReadCloser, error)
	// GetStatus describes one path; ErrNotFound when absent.
	GetStatus(ctx context.Context, path string) (Status, error)
	// List describes the direct children of a directory, sorted by name.
	List(ctx context.Context, path string) ([]Status, error)
	// Mkdirs creates a directory and any missing parents; existing ones are fine.
	Mkdirs(ctx context.Context, path string, mode uint32) error
	// Delete removes a file, or a directory (with its contents when recursive).
	Delete(ctx context.Context, path string, recursive bool) error
	// Rename moves src to dst; dst must not exist.
	Rename(ctx context.Context, src, dst string) error
	// Close releases the backend's resources.
	Close() error
}

// Factory creates an UnderFileSystem for a URI of its scheme, with the mount's
// properties (e.g. credentials).
type Factory func(ctx context.Context, uri *url.URL, props map[string]string) (UnderFileSystem, error)

// Registry maps URI schemes to backend factories. The zero value is empty;
// NewRegistry returns one with the built-in backends.
type Registry struct {
	mu        sync.RWMutex
	factories map[string]Factory
}

// Register adds a backend for scheme ("" and "file" name the local one).
func (r *Registry) Register(scheme string, f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.factories == nil {
		r.factories = make(map[string]Factory)
	}
	r.factories[scheme] = f
}

// Schemes lists the registered schemes.
func (r *Registry) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var s []string
	for k := range r.factories {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Open returns a backend for uri, e.g. "/tmp/ufs", "file:///tmp/ufs" or
// "hdfs://namenode:9000/data".
func (r *Registry) Open(ctx context.Context, uri string, props map[string]string) (UnderFileSystem, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	f, ok := r.factories[u.Scheme]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("ufs: no backend for scheme %q in %q (have %v)", u.Scheme, uri, r.Schemes())
	}
	return f(ctx, u, props)
}

// ParseURI splits a UFS path, "scheme://authority/path" or an absolute
// path, into a url.URL with Scheme, Host and Path only. Unlike url.Parse it
// takes the path verbatim, as Alluxio does: UFS paths are names, not
// percent-encoded URLs, so "%", "?", "#" and ";" are ordinary characters of
// a file name ("hdfs://nn/logs/100%.txt" names the file "100%.txt",
// "/a/x#y" the file "x#y").
func ParseURI(s string) (*url.URL, error) {
	i := strings.Index(s, "://")
	if i < 0 {
		if strings.HasPrefix(s, "file:") && !strings.HasPrefix(s, "file://") {
			return &url.URL{Scheme: "file", Path: strings.TrimPrefix(s, "file:")}, nil
		}
		return &url.URL{Path: s}, nil
	}
	scheme := s[:i]
	if scheme == "" {
		return nil, fmt.Errorf("ufs: bad URI %q: empty scheme", s)
	}
	for j, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return nil, fmt.Errorf("ufs: bad URI %q: bad scheme %q", s, scheme)
		}
	}
	rest := s[i+3:]
	host, p := rest, ""
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		host, p = rest[:j], rest[j:]
	}
	if strings.ContainsAny(host, " ?#%") {
		return nil, fmt.Errorf("ufs: bad URI %q: bad authority %q", s, host)
	}
	return &url.URL{Scheme: strings.ToLower(scheme), Host: host, Path: p}, nil
}
