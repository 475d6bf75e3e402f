package ufs

import (
	"context"
	"io"
	"os"
	"path"
	"time"

	hdfs "github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"
)

// HDFSClient is a low-level client of one HDFS for callers that need file
// operations UnderFileSystem does not offer: exclusive create without a
// temporary name, a file kept open with hflush (CreateLog), file ids,
// non-replacing rename, lease recovery and truncate (the master journal, deploy/hdfs/JOURNAL-ON-HDFS.md). It shares
// the backend's connection code: the user from alluxio.underfs.hdfs.user or
// HADOOP_USER_NAME, HA nameservices from the Hadoop configuration, dial and
// RPC timeouts, a connection that is dialled again after a failure, Close
// retried while HDFS replicates. Errors name the URI and wrap ErrNotFound,
// ErrExists, rpcstatus.ErrPermissionDenied or rpcstatus.ErrUnavailable where
// they are one of those.
//
// Paths are absolute HDFS paths or hdfs:// URIs of the client's authority.
type HDFSClient struct {
	h *hdfsFS
}

// DialHDFS connects to the HDFS that uri names (see NewHDFS for uri and
// props). It fails, naming the URI and wrapping rpcstatus.ErrUnavailable,
// when the NameNode does not answer.
func DialHDFS(ctx context.Context, uri string, props map[string]string) (*HDFSClient, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	fs, err := openHDFS(ctx, nil, u, props)
	if err != nil {
		return nil, err
	}
	return &HDFSClient{h: fs.(*hdfsFS)}, nil
}

// Close releases the client's NameNode connection.
func (c *HDFSClient) Close() error { return c.h.Close() }

// User is the HDFS user the client acts as.
func (c *HDFSClient) User() string { return c.h.opts.user }

// URI names p ("hdfs://authority/p") in messages.
func (c *HDFSClient) URI(p string) string {
	if q, err := c.h.path(p); err == nil {
		p = q
	}
	return c.h.uri(p)
}

// Path maps an hdfs:// URI of the client's authority, or an absolute path,
// to a clean HDFS path.
func (c *HDFSClient) Path(p string) (string, error) { return c.h.path(p) }

// HDFSFileInfo describes one HDFS file or directory.
type HDFSFileInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
	IsDir   bool
	Mode    os.FileMode
	Owner   string
	// FileID is the NameNode's inode id: it names the file itself, not
	// its path, and survives renames.
	FileID uint64
}

func hdfsFileInfo(fi os.FileInfo) HDFSFileInfo {
	i := HDFSFileInfo{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime(), IsDir: fi.IsDir(), Mode: fi.Mode()}
	if hf, ok := fi.(*hdfs.FileInfo); ok {
		i.Owner = hf.Owner()
	}
	// Sys is the library's HdfsFileStatusProto (an internal package).
	if st, ok := fi.Sys().(proto.Message); ok {
		m := st.ProtoReflect()
		if fd := m.Descriptor().Fields().ByName("fileId"); fd != nil {
			i.FileID = m.Get(fd).Uint()
		}
	}
	if i.IsDir {
		i.Size = 0
	}
	return i
}

// Stat describes p.
func (c *HDFSClient) Stat(ctx context.Context, p string) (HDFSFileInfo, error) {
	q, err := c.h.path(p)
	if err != nil {
		return HDFSFileInfo{}, err
	}
	fi, err := c.h.stat(ctx, q)
	if err != nil {
		return HDFSFileInfo{}, c.h.wrap("stat", q, err)
	}
	i := hdfsFileInfo(fi)
	i.Name = path.Base(q)
	return i, nil
}

// List describes the entries of directory p, sorted by name.
func (c *HDFSClient) List(ctx context.Context, p string) ([]HDFSFileInfo, error) {
	q, err := c.h.path(p)
	if err != nil {
		return nil, err
	}
	fis, err := doValue(ctx, func() ([]os.FileInfo, error) { return c.h.conn.client.ReadDir(q) }, nil)
	if err != nil {
		return nil, c.h.wrap("list", q, err)
	}
	out := make([]HDFSFileInfo, len(fis))
	for i, fi := range fis {
		out[i] = hdfsFileInfo(fi)
	}
	return out, nil
}

// Mkdirs makes p and its missing parents with mode (0 = 0755).
func (c *HDFSClient) Mkdirs(ctx context.Context, p string, mode os.FileMode) error {
	return c.h.Mkdirs(ctx, p, uint32(mode))
}

// Chmod sets the permission bits of p.
func (c *HDFSClient) Chmod(ctx context.Context, p string, mode os.FileMode) error {
	q, err := c.h.path(p)
	if err != nil {
		return err
	}
	return c.h.wrap("chmod", q, do(ctx, func() error { return c.h.conn.client.Chmod(q, mode) }))
}

// Delete removes p; recursive removes a directory with its contents. A
// missing p wraps ErrNotFound.
func (c *HDFSClient) Delete(ctx context.Context, p string, recursive bool) error {
	return c.h.Delete(ctx, p, recursive)
}

// Rename renames src to dst, never replacing: it fails wrapping ErrExists
// when dst exists (the NameNode's rename2 without overwrite, atomic).
func (c *HDFSClient) Rename(ctx context.Context, src, dst string) error {
	return c.h.Rename(ctx, src, dst)
}

// Open reads p from offset.
func (c *HDFSClient) Open(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	return c.h.Open(ctx, p, offset)
}

// RecoverLease revokes the lease of whoever writes p; closed is true once
// the NameNode reports the file closed (poll until then).
func (c *HDFSClient) RecoverLease(ctx context.Context, p string) (closed bool, err error) {
	return c.h.RecoverLease(ctx, p)
}

// IsFileClosed reports whether p is closed (no writer, no recovery running).
func (c *HDFSClient) IsFileClosed(ctx context.Context, p string) (bool, error) {
	q, err := c.h.path(p)
	if err != nil {
		return false, err
	}
	closed, err := doValue(ctx, func() (bool, error) {
		resp, err := c.h.call("isFileClosed", "IsFileClosed", map[string]any{"src": q})
		if err != nil {
			return false, err
		}
		return boolField(resp, "result"), nil
	}, nil)
	if err != nil {
		return false, c.h.wrap("is-closed", q, err)
	}
	return closed, nil
}

// Truncate cuts the closed file p to size. done is false when the NameNode
// runs a block recovery first (size not on a block boundary): the file is
// then closed again, at size, once IsFileClosed says so.
func (c *HDFSClient) Truncate(ctx context.Context, p string, size int64) (done bool, err error) {
	q, err := c.h.path(p)
	if err != nil {
		return false, err
	}
	done, err = doValue(ctx, func() (bool, error) { return c.h.conn.client.Truncate(q, size) }, nil)
	if err != nil {
		return false, c.h.wrap("truncate", q, err)
	}
	return done, nil
}

// XAttrs returns the extended attributes of p ("user.x" -> value).
func (c *HDFSClient) XAttrs(ctx context.Context, p string) (map[string]string, error) {
	q, err := c.h.path(p)
	if err != nil {
		return nil, err
	}
	m, err := doValue(ctx, func() (map[string]string, error) { return c.h.conn.client.ListXAttrs(q) }, nil)
	if err != nil {
		return nil, c.h.wrap("list xattrs of", q, err)
	}
	return m, nil
}

// SetXAttr sets the extended attribute key ("user.x") of p.
func (c *HDFSClient) SetXAttr(ctx context.Context, p, key, value string) error {
	q, err := c.h.path(p)
	if err != nil {
		return err
	}
	return c.h.wrap("set xattr of", q, do(ctx, func() error { return c.h.conn.client.SetXAttr(q, key, value) }))
}

// Create makes the new file p (no temporary name) with mode (0 = 0644) and
// opens it for writing; it fails wrapping ErrExists when p exists. The
// parent must exist.
func (c *HDFSClient) Create(ctx context.Context, p string, mode os.FileMode) (*HDFSFileWriter, error) {
	q, err := c.h.path(p)
	if err != nil {
		return nil, err
	}
	fw, err := createHDFSFile(ctx, c.h.conn.client, q, mode, false, nil)
	if err != nil {
		return nil, c.h.wrap("create", q, err)
	}
	return &HDFSFileWriter{f: hdfsFileWrite{h: c.h, fw: fw, src: q, name: q}}, nil
}

// HDFSFileWriter writes one HDFS file. Write buffers into packets that go
// to the DataNodes' pipeline; Close waits for every acknowledgement and
// completes the file at the NameNode (then every byte is durable and its
// length known to readers). It is not safe for concurrent use. (The
// journal's open log, which must be durable before it is closed, is an
// HDFSLogWriter.) Failures are told apart as HDFSLogWriter's are.
type HDFSFileWriter struct {
	f hdfsFileWrite // on the client's connection
}

// Write implements io.Writer; each block's piece is bounded by the RPC
// timeout, and a block the NameNode does not yet give is asked for again
// (writeHDFSFile).
func (w *HDFSFileWriter) Write(b []byte) (int, error) { return w.f.write(b) }

// Close flushes, waits for the DataNodes' acknowledgements and completes the
// file at the NameNode, retrying while the last block is being replicated.
// Short waits: the NameNode completes the file within milliseconds of the
// DataNode's report.
func (w *HDFSFileWriter) Close() error { return w.f.close(2*time.Millisecond, 50*time.Millisecond) }
