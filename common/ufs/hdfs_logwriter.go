package ufs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"
	"unsafe"

	hdfs "github.com/colinmarc/hdfs/v2"
)

// HDFSLogWriter writes one new HDFS file that stays open (under
// construction, its lease held) until Close, for a log whose bytes must be
// durable and readable while it is still being written: the master journal's
// open log. Hflush is HDFS's hflush: every byte written so far is received
// by every DataNode of the pipeline, and the NameNode knows the file's new
// length, so a reader that opens the file afterwards (another client, a
// standby master tailing the log) reads every byte up to there.
//
// The writer has its own NameNode connection (its own lease holder, whose
// lease the library renews) and tracks the DataNodes' acknowledgements
// through its DataNode dialer (ackTracker), since the library does not
// expose them. Once another client has recovered the file's lease
// (RecoverLease, the journal's fence), the pipeline is refused and the
// NameNode rejects the writer: its next Hflush and Close fail. It is not
// safe for concurrent use. Encrypted data transfer is not supported.
type HDFSLogWriter struct {
	f    hdfsFileWrite // on the writer's own connection, tracked
	id   uint64
	wrot bool // bytes written since the last Hflush
}

// CreateLog makes the new file p (it fails wrapping ErrExists when p
// exists; the parent must exist) with mode (0 = 0644) and opens it for
// writing with Hflush.
func (c *HDFSClient) CreateLog(ctx context.Context, p string, mode os.FileMode) (*HDFSLogWriter, error) {
	q, err := c.h.path(p)
	if err != nil {
		return nil, err
	}
	t := newAckTracker()
	conn, err := connectHDFS(ctx, c.h.opts, t.wrapDial)
	if err != nil {
		return nil, err
	}
	h := &hdfsFS{opts: c.h.opts, conn: conn}
	fw, err := createHDFSFile(ctx, conn.client, q, mode, true, nil)
	if err != nil {
		conn.close()
		return nil, h.wrap("create", q, err)
	}
	_, id, err := writerBlock(fw)
	if err != nil {
		fw.Close()
		conn.close()
		return nil, err
	}
	w := &HDFSLogWriter{f: hdfsFileWrite{h: h, fw: fw, src: q, name: q, t: t}}
	if id != nil {
		w.id = *id
	}
	return w, nil
}

// FileID is the NameNode's id of the file being written.
func (w *HDFSLogWriter) FileID() uint64 { return w.id }

// Write implements io.Writer: the bytes go to the DataNodes in packets of
// 64 KiB, the rest at the next Hflush. Blocks the NameNode does not give at
// once are asked for again (writeHDFSFile). A failure says whether the
// NameNode is unreachable, a DataNode of the pipeline failed (naming it),
// or the file's lease was lost (ErrLeaseLost: recovered by another client).
func (w *HDFSLogWriter) Write(b []byte) (int, error) {
	n, err := w.f.write(b)
	if n > 0 {
		w.wrot = true
	}
	return n, err
}

// Hflush sends the buffered bytes, waits until every DataNode of the
// pipeline acknowledged every packet sent, then tells the NameNode the
// length of the file's last block (fsync), all within the RPC timeout.
// Afterwards Stat reports at least that length and a new reader reads every
// byte written so far. Nothing written since the last Hflush: it does
// nothing. Failures are told apart as Write's are.
func (w *HDFSLogWriter) Hflush() error {
	f := &w.f
	if f.done {
		return fmt.Errorf("ufs: hflush %s: writer is closed", f.h.uri(f.name))
	}
	if !w.wrot {
		return nil
	}
	deadline := time.Now().Add(f.h.opts.rpcTimeout)
	f.fw.SetDeadline(deadline)
	err := f.fw.Flush()
	if err == nil {
		err = f.t.waitAcked(deadline)
	}
	f.fw.SetDeadline(time.Time{})
	if err != nil {
		return f.failure("hflush", err)
	}
	last, err := lastBlockLength(f.fw)
	if err != nil {
		return err
	}
	_, err = f.h.call("fsync", "Fsync", map[string]any{
		"src": f.src, "client": f.h.conn.client.Name(), "lastBlockLength": last, "fileId": w.id,
	})
	if err != nil {
		// The NameNode's own answer: no probe.
		return f.h.writeFailure("hflush (fsync) of", f.name, err, "", nil)
	}
	w.wrot = false
	return nil
}

// Close sends the rest, waits for the acknowledgements and completes the
// file at the NameNode (retried while the last block is being reported),
// then releases the writer's connection.
func (w *HDFSLogWriter) Close() error {
	if !w.f.done {
		defer w.f.h.conn.close()
	}
	return w.f.close(2*time.Millisecond, 50*time.Millisecond)
}

// Abort abandons the file without completing it: the pipeline is cut, the
// connection released; the file keeps its lease until it expires or is
// recovered. For a writer that failed or was fenced.
func (w *HDFSLogWriter) Abort() {
	f := &w.f
	if f.done {
		return
	}
	f.done = true
	f.t.failCurrent()
	f.fw.SetDeadline(time.Now().Add(time.Second))
	f.fw.Close() // ends the library's goroutines of the cut pipeline
	f.h.conn.close()
}

// lastBlockLength is the number of bytes fw wrote to its current block
// (the library's BlockWriter.Offset), 0 without one.
func lastBlockLength(fw *hdfs.FileWriter) (int64, error) {
	w, err := fileWriterOf(fw)
	if err != nil {
		return 0, err
	}
	if w.bw.IsNil() {
		return 0, nil
	}
	f := w.bw.Elem().FieldByName("Offset")
	if !f.IsValid() || f.Kind() != reflect.Int64 {
		return 0, errors.New("ufs: hdfs block writer has no Offset field (library version changed?)")
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Int(), nil
}
