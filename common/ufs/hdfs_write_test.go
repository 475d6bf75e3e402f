package ufs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	hdfs "github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// remoteErr is an exception from the NameNode, as the library reports it.
type remoteErr struct{ method, exception, message string }

func (e remoteErr) Error() string {
	return fmt.Sprintf("%s call failed with ERROR_APPLICATION (%s)", e.method, e.exception)
}
func (e remoteErr) Method() string    { return e.method }
func (e remoteErr) Desc() string      { return "ERROR_APPLICATION" }
func (e remoteErr) Exception() string { return e.exception }
func (e remoteErr) Message() string   { return e.message + "\n\tat org.apache.hadoop..." }

var _ hdfs.Error = remoteErr{}

// TestHDFSWriteFailure: a failure of a write to an HDFS file is told
// apart, in one line naming the file: the NameNode unreachable (naming the
// NameNodes), a DataNode of the pipeline failed (naming it), the lease lost
// to another client (the fence), and the NameNode's other answers as
// before; the sentinels callers branch on stay wrapped.
func TestHDFSWriteFailure(t *testing.T) {
	h := &hdfsFS{opts: hdfsOptions{authority: "nn:9000", addresses: []string{"nn1:8020", "nn2:8020"}}}
	dnErr := &net.OpError{Op: "write", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 9866}, Err: syscall.EPIPE}
	nnDown := errors.New("no available namenodes: dial tcp 10.0.0.1:8020: connect: connection refused")
	leaseGone := remoteErr{"fsync", "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException",
		"Client (=DFSClient_NONMAPREDUCE_1) is not the lease owner (=HDFS_NameNode-1)"}
	deleted := remoteErr{"addBlock", "java.io.FileNotFoundException", "File does not exist: /log (inode 1234)"}
	safeMode := remoteErr{"addBlock", "org.apache.hadoop.hdfs.server.namenode.SafeModeException", "Cannot add block: Name node is in safe mode."}
	for _, tc := range []struct {
		name  string
		err   error
		dn    string
		probe error // the NameNode's answer to the lease check
		asked bool  // whether the NameNode should be asked
		want  []string
		is    []error
		not   []string
		isNot []error
	}{
		{name: "DataNode pipeline", err: dnErr, dn: "10.0.0.5:9866", asked: true,
			want: []string{"HDFS DataNode write pipeline to 10.0.0.5:9866 failed", "broken pipe"},
			is:   []error{rpcstatus.ErrUnavailable}, not: []string{"NameNode"}, isNot: []error{ErrLeaseLost}},
		{name: "DataNode ack timeout", err: fmt.Errorf("ufs: hdfs pipeline to 10.0.0.5:9866: packets 3..4 not acknowledged in time: %w", context.DeadlineExceeded),
			dn: "10.0.0.5:9866", asked: true,
			want: []string{"HDFS DataNode write pipeline to 10.0.0.5:9866 failed", "not acknowledged in time"},
			is:   []error{rpcstatus.ErrUnavailable}, not: []string{"NameNode"}},
		{name: "NameNode unreachable", err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, probe: nnDown, asked: true,
			want: []string{"HDFS NameNode unreachable (NameNodes nn1:8020, nn2:8020)"},
			is:   []error{rpcstatus.ErrUnavailable}, not: []string{"DataNode"}},
		{name: "whole HDFS down", err: dnErr, dn: "10.0.0.5:9866", probe: nnDown, asked: true,
			want: []string{"HDFS NameNode unreachable (NameNodes nn1:8020, nn2:8020)"},
			is:   []error{rpcstatus.ErrUnavailable}},
		{name: "fenced: pipeline cut by the lease recovery", err: dnErr, dn: "10.0.0.5:9866", probe: leaseGone, asked: true,
			want: []string{"lease lost", "recovered or closed by another client", "broken pipe", "is not the lease owner"},
			is:   []error{ErrLeaseLost}, not: []string{"unreachable", "DataNode write pipeline"}, isNot: []error{rpcstatus.ErrUnavailable}},
		{name: "fenced: NameNode refuses", err: leaseGone,
			want: []string{"lease lost", "recovered or closed by another client", "is not the lease owner"},
			is:   []error{ErrLeaseLost}, isNot: []error{rpcstatus.ErrUnavailable}},
		{name: "deleted", err: dnErr, dn: "10.0.0.5:9866", probe: deleted, asked: true,
			want: []string{"lease lost", "deleted while being written", "File does not exist"},
			is:   []error{ErrLeaseLost, ErrNotFound}},
		{name: "NameNode exception", err: safeMode,
			want: []string{"safe mode"}, is: []error{rpcstatus.ErrUnavailable}, not: []string{"DataNode", "lease"}},
		{name: "canceled", err: fmt.Errorf("x: %w", context.Canceled),
			is: []error{context.Canceled}, not: []string{"DataNode", "NameNode"}, isNot: []error{rpcstatus.ErrUnavailable}},
		{name: "unsupported transfer protocol", err: errUntracked, dn: "10.0.0.5:9866",
			not: []string{"DataNode write pipeline"}, isNot: []error{rpcstatus.ErrUnavailable}},
		{name: "network failure not known to be a DataNode's, NameNode answers", err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, asked: true,
			want: []string{"HDFS unreachable"}, is: []error{rpcstatus.ErrUnavailable}, not: []string{"DataNode"}},
	} {
		asked := false
		err := h.writeFailure("write", "/log", tc.err, tc.dn, func() error { asked = true; return tc.probe })
		msg := err.Error()
		if asked != tc.asked {
			t.Errorf("%s: NameNode asked = %v, want %v", tc.name, asked, tc.asked)
		}
		if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "ufs: write hdfs://nn:9000/log: ") {
			t.Errorf("%s: %q is not one line naming the file", tc.name, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q does not say %q", tc.name, msg, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(msg, w) {
				t.Errorf("%s: %q says %q", tc.name, msg, w)
			}
		}
		for _, s := range tc.is {
			if !errors.Is(err, s) {
				t.Errorf("%s: %q does not wrap %v", tc.name, msg, s)
			}
		}
		for _, s := range tc.isNot {
			if errors.Is(err, s) {
				t.Errorf("%s: %q wraps %v", tc.name, msg, s)
			}
		}
	}
}

// TestHDFSFailedDataNode: which DataNode a write failure names: the ack
// tracker's failed connection, else the block's pipeline DataNode that a
// network error names; a network error of another address (the
// NameNode's) names none.
func TestHDFSFailedDataNode(t *testing.T) {
	fw := &hdfs.FileWriter{}
	w, err := fileWriterOf(fw)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hdfsMessage("AddBlockResponseProto", nil)
	if err != nil {
		t.Fatal(err)
	}
	rm := resp.ProtoReflect()
	bfd := rm.Descriptor().Fields().ByName("block")
	lb := rm.NewField(bfd).Message()
	locs := lb.Mutable(lb.Descriptor().Fields().ByName("locs")).List()
	for _, dn := range []struct {
		ip   string
		port uint32
	}{{"10.0.0.5", 9866}, {"10.0.0.6", 9866}} {
		info := locs.NewElement().Message()
		id := info.Mutable(info.Descriptor().Fields().ByName("id")).Message()
		id.Set(id.Descriptor().Fields().ByName("ipAddr"), protoreflect.ValueOfString(dn.ip))
		id.Set(id.Descriptor().Fields().ByName("xferPort"), protoreflect.ValueOfUint32(dn.port))
		locs.Append(protoreflect.ValueOfMessage(info))
	}
	rm.Set(bfd, protoreflect.ValueOfMessage(lb))
	var dial func(context.Context, string, string) (net.Conn, error)
	if err := installBlock(w, rm, "client-x", reflect.ValueOf(dial)); err != nil {
		t.Fatal(err)
	}
	if got := pipelineAddrs(fw); strings.Join(got, ",") != "10.0.0.5:9866,10.0.0.6:9866" {
		t.Fatalf("pipelineAddrs = %v", got)
	}
	f := &hdfsFileWrite{fw: fw}
	opErr := func(ip string, port int) error {
		return &net.OpError{Op: "write", Net: "tcp", Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: port}, Err: syscall.ECONNRESET}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{opErr("10.0.0.6", 9866), "10.0.0.6:9866"},
		{opErr("10.0.0.1", 8020), ""}, // the NameNode
		{errors.New("Ack error from datanode: ERROR"), "10.0.0.5:9866, 10.0.0.6:9866"},
		{errors.New("write failed: ERROR (replica exists)"), "10.0.0.5:9866, 10.0.0.6:9866"},
		{errors.New("something else"), ""},
	} {
		if got := f.failedDataNode(tc.err); got != tc.want {
			t.Errorf("failedDataNode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	// The tracker knows better: its connection to 10.0.0.5 failed.
	tr := newAckTracker()
	tr.cur = &trackedConn{addr: "10.0.0.5:9866", sent: 3, acked: 1, err: errors.New("reset")}
	f.t = tr
	if got := f.failedDataNode(opErr("10.0.0.1", 8020)); got != "10.0.0.5:9866" {
		t.Errorf("failedDataNode with a failed tracked connection = %q", got)
	}
	tr.cur = &trackedConn{addr: "10.0.0.5:9866", sent: 3, acked: 1} // waitAcked gave up
	if got := f.failedDataNode(fmt.Errorf("packets 2..3 not acknowledged in time: %w", context.DeadlineExceeded)); got != "10.0.0.5:9866" {
		t.Errorf("failedDataNode with packets unacknowledged = %q", got)
	}
	tr.cur = &trackedConn{addr: "10.0.0.5:9866", sent: 3, acked: 3, closed: true} // a finished block
	if got := f.failedDataNode(errors.New("something else")); got != "" {
		t.Errorf("failedDataNode with a finished block's connection = %q, want none", got)
	}
}
