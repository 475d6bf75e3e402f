package ufs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	hdfs "github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ErrLeaseLost is wrapped by the failure of a write to an HDFS file whose
// lease the writer no longer holds: another client recovered the file
// (RecoverLease, the journal's fence), or the file was closed or deleted.
// Every later write of that writer fails too.
var ErrLeaseLost = errors.New("ufs: hdfs lease lost")

// The three HDFS writers (the backend's hdfsWriter, HDFSFileWriter and
// HDFSLogWriter) share the steps below: the file's creation, Write through
// writeHDFSFile, Close through closeHDFSFile, and the classification of
// their failures (writeFailure).

// createHDFSFile creates the new file q with the NameNode's default
// replication and block size, on cl (the connection of h, whose client
// then holds the file's lease). With noEncryption it refuses a cluster that
// encrypts data transfer (errUntracked: the ack tracker cannot read it).
// cleanup releases a file created after ctx ended.
func createHDFSFile(ctx context.Context, cl *hdfs.Client, q string, mode os.FileMode, noEncryption bool, cleanup func()) (*hdfs.FileWriter, error) {
	if mode == 0 {
		mode = 0o644
	}
	return doValue(ctx, func() (*hdfs.FileWriter, error) {
		d, err := cl.ServerDefaults()
		if err != nil {
			return nil, err
		}
		if noEncryption && d.EncryptDataTransfer {
			return nil, errUntracked
		}
		return cl.CreateFile(q, d.Replication, d.BlockSize, mode)
	}, func(fw *hdfs.FileWriter) {
		fw.Close()
		if cleanup != nil {
			cleanup()
		}
	})
}

// hdfsFileWrite is one HDFS file being written: the writers' shared state
// and steps. It is not safe for concurrent use.
type hdfsFileWrite struct {
	h    *hdfsFS // the connection that created the file (its lease holder)
	fw   *hdfs.FileWriter
	src  string      // the HDFS path written
	name string      // the path messages name (a temporary file's target)
	t    *ackTracker // the DataNode connections' tracker, or nil
	done bool
}

// write writes b (see writeHDFSFile); a failure is classified
// (writeFailure).
func (f *hdfsFileWrite) write(b []byte) (int, error) {
	if f.done {
		return 0, fmt.Errorf("ufs: write %s: writer is closed", f.h.uri(f.name))
	}
	if len(b) == 0 {
		// The library would allocate a block for no bytes, and HDFS then
		// never completes the file.
		return 0, nil
	}
	n, err := f.h.writeHDFSFile(f.fw, f.src, b)
	if err != nil {
		return n, f.failure("write", err)
	}
	return n, nil
}

// close completes the file (see closeHDFSFile, with its retry delays); a
// failure is classified (writeFailure).
func (f *hdfsFileWrite) close(firstDelay, maxDelay time.Duration) error {
	if f.done {
		return fmt.Errorf("ufs: close %s: writer is closed", f.h.uri(f.name))
	}
	f.done = true
	if err := f.h.closeHDFSFile(f.fw, f.src, firstDelay, maxDelay); err != nil {
		return f.failure("close", err)
	}
	return nil
}

// failure classifies err, a failure of op on the file's DataNode pipeline
// or at its NameNode, asking the NameNode about the file's lease when that
// tells the cases apart.
func (f *hdfsFileWrite) failure(op string, err error) error {
	return f.h.writeFailure(op, f.name, err, f.failedDataNode(err), func() error { return f.h.checkLease(f.fw, f.src) })
}

// failedDataNode is the address of the DataNode whose connection err (or
// the ack tracker) shows failed, "" when err is not known to come from a
// DataNode (the NameNode's connection fails with the same network errors).
func (f *hdfsFileWrite) failedDataNode(err error) string {
	if f.t != nil {
		if addr := f.t.failed(); addr != "" {
			return addr
		}
	}
	pipeline := pipelineAddrs(f.fw)
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Addr != nil {
		for _, a := range pipeline {
			if a == oe.Addr.String() {
				return a
			}
		}
	}
	// The library's own DataNode failures: a negative acknowledgement, a
	// refused pipeline set-up, a stream closed by an earlier failure.
	if m := err.Error(); strings.Contains(m, "Ack error from datanode") || strings.Contains(m, "invalid ack sequence number") ||
		strings.HasPrefix(m, "write failed: ") || errors.Is(err, io.ErrClosedPipe) {
		if len(pipeline) > 0 {
			return strings.Join(pipeline, ", ")
		}
		return "?"
	}
	return ""
}

// writeFailure describes, in one line naming the URI of p, the failure err
// of op on an HDFS file being written:
//
//   - the NameNode says the writer's lease is gone (LeaseExpiredException,
//     or the file no longer exists), in err or when probe asks it after a
//     transport failure: the file was recovered, closed or deleted by
//     another client, wrapping ErrLeaseLost (and ErrNotFound when it is
//     gone);
//   - the NameNode does not answer probe after a transport failure: HDFS
//     NameNode unreachable, naming the NameNodes, wrapping
//     rpcstatus.ErrUnavailable;
//   - the failure is the DataNode dn's (its connection failed, it refused
//     or did not acknowledge in time) and the NameNode answers: the
//     DataNode write pipeline to dn failed, wrapping
//     rpcstatus.ErrUnavailable;
//   - anything else (NameNode exceptions, cancellation, an unsupported
//     transfer protocol, a network failure not known to be a DataNode's)
//     as wrap has it.
//
// probe (nil: not asked) asks the NameNode whether the writer still holds
// the file's lease; it is asked only after a failure that did not come from
// the NameNode itself.
func (h *hdfsFS) writeFailure(op, p string, err error, dn string, probe func() error) error {
	if err == nil {
		return nil
	}
	where := h.uri(p)
	if leaseLost(err) {
		return h.leaseLostError(op, p, err, err)
	}
	transport := remoteException(err) == "" && !errors.Is(err, context.Canceled) && !errors.Is(err, errUntracked) &&
		(dn != "" || unreachable(err) || errors.Is(err, context.DeadlineExceeded))
	if !transport {
		return h.wrap(op, p, err)
	}
	if probe != nil {
		switch perr := probe(); {
		case leaseLost(perr):
			return h.leaseLostError(op, p, err, perr)
		case perr != nil && unreachable(perr):
			return fmt.Errorf("ufs: %s %s: HDFS NameNode unreachable (NameNodes %s): %v: %w", op, where,
				strings.Join(h.opts.addresses, ", "), firstLine(err), rpcstatus.ErrUnavailable)
		}
	}
	if dn != "" {
		return fmt.Errorf("ufs: %s %s: HDFS DataNode write pipeline to %s failed: %v: %w", op, where, dn, firstLine(err), rpcstatus.ErrUnavailable)
	}
	return h.wrap(op, p, err)
}

// leaseLostError is writeFailure's lost-lease line: cause is the failure,
// answer the NameNode's word on the lease (cause itself, or the probe's).
func (h *hdfsFS) leaseLostError(op, p string, cause, answer error) error {
	what := firstLine(answer)
	if answer != cause {
		what = firstLine(cause) + "; the NameNode: " + what
	}
	if remoteException(answer) == "java.io.FileNotFoundException" {
		return fmt.Errorf("ufs: %s %s: %w: the file was deleted while being written: %v: %w", op, h.uri(p), ErrLeaseLost, what, ErrNotFound)
	}
	return fmt.Errorf("ufs: %s %s: %w: the file was recovered or closed by another client: %v", op, h.uri(p), ErrLeaseLost, what)
}

// leaseLost reports whether err is the NameNode's refusal of a writer that
// no longer holds the file's lease.
func leaseLost(err error) bool {
	switch remoteException(err) {
	case "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException", "java.io.FileNotFoundException":
		return true
	}
	return false
}

// checkLease asks the NameNode whether this client still holds the lease of
// src, written by fw: an fsync without a block length is the NameNode's
// lease check and changes nothing else. It fails with LeaseExpiredException
// or FileNotFoundException when the lease is gone.
func (h *hdfsFS) checkLease(fw *hdfs.FileWriter, src string) error {
	fields := map[string]any{"src": src, "client": h.conn.client.Name()}
	if _, id, err := writerBlock(fw); err == nil && id != nil {
		fields["fileId"] = *id
	}
	_, err := h.call("fsync", "Fsync", fields)
	return err
}

// pipelineAddrs lists the DataNodes ("ip:xferPort") of the block fw is
// writing, the first being the one it sends to; nil without a block.
func pipelineAddrs(fw *hdfs.FileWriter) []string {
	w, err := fileWriterOf(fw)
	if err != nil || w.bw.IsNil() {
		return nil
	}
	b := w.bw.Elem().FieldByName("Block")
	if !b.IsValid() || b.Kind() != reflect.Pointer || b.IsNil() {
		return nil
	}
	lb, ok := b.Interface().(proto.Message)
	if !ok {
		return nil
	}
	return locatedBlockAddrs(lb.ProtoReflect())
}

// locatedBlockAddrs lists the DataNodes of a LocatedBlockProto.
func locatedBlockAddrs(m protoreflect.Message) []string {
	locs := m.Descriptor().Fields().ByName("locs")
	if locs == nil || !locs.IsList() {
		return nil
	}
	var out []string
	l := m.Get(locs).List()
	for i := 0; i < l.Len(); i++ {
		dn := l.Get(i).Message()
		idf := dn.Descriptor().Fields().ByName("id")
		if idf == nil {
			continue
		}
		id := dn.Get(idf).Message()
		ip, port := id.Descriptor().Fields().ByName("ipAddr"), id.Descriptor().Fields().ByName("xferPort")
		if ip == nil || port == nil {
			continue
		}
		out = append(out, net.JoinHostPort(id.Get(ip).String(), strconv.FormatUint(id.Get(port).Uint(), 10)))
	}
	return out
}
