package ufs

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	hdfs "github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// github.com/colinmarc/hdfs/v2 (v2.4.0, pinned in go.mod) lacks three
// NameNode calls this package needs: rename2 without overwrite (Client.Rename
// always replaces the destination, so a non-replacing rename would be a
// racy stat-then-rename), recoverLease (the fence a new journal writer puts
// on a deposed one) and fsync. The library's connection can send any
// ClientProtocol call, and its generated messages are in the protobuf
// registry, so these calls go through it here: the connection is read from
// the client's unexported field once, at construction, and a library whose
// internals changed fails there (and in TestHDFSNamenodeRPC) with a clear
// error rather than misbehaving later.

// namenodeRPC is the library's NameNode connection (*rpc.NamenodeConnection).
type namenodeRPC interface {
	Execute(method string, req, resp proto.Message) error
}

// namenodeOf returns the NameNode connection of c.
func namenodeOf(c *hdfs.Client) (namenodeRPC, error) {
	v := reflect.ValueOf(c).Elem().FieldByName("namenode")
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, errors.New("ufs: hdfs client has no namenode connection field (library version changed?)")
	}
	v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	nn, ok := v.Interface().(namenodeRPC)
	if !ok {
		return nil, fmt.Errorf("ufs: hdfs namenode connection %s has no Execute method (library version changed?)", v.Type())
	}
	return nn, nil
}

// hdfsMessage returns a new hadoop.hdfs.<name> message with fields set.
func hdfsMessage(name string, fields map[string]any) (proto.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("hadoop.hdfs." + name))
	if err != nil {
		return nil, fmt.Errorf("ufs: hdfs message %s: %w", name, err)
	}
	m := mt.New()
	for k, v := range fields {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(k))
		if fd == nil {
			return nil, fmt.Errorf("ufs: hdfs message %s has no field %s", name, k)
		}
		m.Set(fd, protoreflect.ValueOf(v))
	}
	return m.Interface(), nil
}

// call runs one ClientProtocol method, e.g. call("rename2", "Rename2", ...)
// sends a Rename2RequestProto and reads a Rename2ResponseProto.
func (h *hdfsFS) call(method, msg string, fields map[string]any) (protoreflect.Message, error) {
	req, err := hdfsMessage(msg+"RequestProto", fields)
	if err != nil {
		return nil, err
	}
	resp, err := hdfsMessage(msg+"ResponseProto", nil)
	if err != nil {
		return nil, err
	}
	if err := h.conn.nn.Execute(method, req, resp); err != nil {
		return nil, err
	}
	return resp.ProtoReflect(), nil
}

// boolField reads a bool field of a response.
func boolField(m protoreflect.Message, name string) bool {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	return fd != nil && m.Get(fd).Bool()
}

// remoteException is the Java exception class of an error from the
// NameNode, or "".
func remoteException(err error) string {
	var re hdfs.Error
	if errors.As(err, &re) {
		return re.Exception()
	}
	return ""
}

// writerBlock returns the block fw is writing (the library's
// ExtendedBlockProto, nil before the first byte) and fw's file id. Close
// sets the block's final length in this same message. The library's Close
// sends the block only on its first call, and the NameNode does not commit
// it on that call while the file's previous block is still unreported, so a
// retried Close would wait forever; complete resends it instead.
func writerBlock(fw *hdfs.FileWriter) (block proto.Message, fileID *uint64, err error) {
	v := reflect.ValueOf(fw).Elem()
	bwf, idf := v.FieldByName("blockWriter"), v.FieldByName("fileId")
	if !bwf.IsValid() || bwf.Kind() != reflect.Pointer || !idf.IsValid() {
		return nil, nil, errors.New("ufs: hdfs file writer has no blockWriter/fileId fields (library version changed?)")
	}
	if p, ok := reflect.NewAt(idf.Type(), unsafe.Pointer(idf.UnsafeAddr())).Elem().Interface().(*uint64); ok {
		fileID = p
	}
	bw := reflect.NewAt(bwf.Type(), unsafe.Pointer(bwf.UnsafeAddr())).Elem()
	if bw.IsNil() {
		return nil, fileID, nil
	}
	lbf := bw.Elem().FieldByName("Block")
	if !lbf.IsValid() {
		return nil, nil, errors.New("ufs: hdfs block writer has no Block field (library version changed?)")
	}
	lb, ok := lbf.Interface().(proto.Message)
	if !ok || lb == nil {
		return nil, nil, errors.New("ufs: hdfs block writer's Block is not a message (library version changed?)")
	}
	m := lb.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("b")
	if fd == nil || !m.Has(fd) {
		return nil, nil, errors.New("ufs: hdfs located block has no block (library version changed?)")
	}
	return m.Get(fd).Message().Interface(), fileID, nil
}

// complete asks the NameNode to close the file src that this client is
// writing, with last as its final block; false means "not yet" (a block is
// still waiting for its DataNode's report).
func (h *hdfsFS) complete(src string, last proto.Message, fileID *uint64) (bool, error) {
	fields := map[string]any{"src": src, "clientName": h.conn.client.Name()}
	if fileID != nil {
		fields["fileId"] = *fileID
	}
	req, err := hdfsMessage("CompleteRequestProto", fields)
	if err != nil {
		return false, err
	}
	if last != nil {
		rm := req.ProtoReflect()
		rm.Set(rm.Descriptor().Fields().ByName("last"), protoreflect.ValueOfMessage(last.ProtoReflect()))
	}
	resp, err := hdfsMessage("CompleteResponseProto", nil)
	if err != nil {
		return false, err
	}
	if err := h.conn.nn.Execute("complete", req, resp); err != nil {
		return false, err
	}
	return boolField(resp.ProtoReflect(), "result"), nil
}
