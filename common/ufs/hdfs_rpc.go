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
