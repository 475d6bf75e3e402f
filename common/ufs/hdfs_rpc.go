package ufs

import (
	"errors"
	"fmt"
	"reflect"
	"time"
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

// notReplicatedYet is the NameNode's answer to addBlock while the block
// before the file's last one is not yet reported by a DataNode.
const notReplicatedYet = "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException"

// addBlockRetries bounds how often a refused addBlock is sent again, first
// after addBlockFirstDelay, doubling up to addBlockMaxDelay (about 12s in
// all; the Java client's dfs.client.block.write.locateFollowingBlock.retries
// is 5 from 400ms, about 12s too).
var (
	addBlockRetries    = 10
	addBlockFirstDelay = 50 * time.Millisecond
	addBlockMaxDelay   = 2 * time.Second
)

// fileWriter is what writeHDFSFile needs of the library's FileWriter's
// internals, read once per block boundary.
type fileWriter struct {
	bw          reflect.Value // *transfer.BlockWriter field, settable
	blockSize   int64
	useHostname bool // the client's UseDatanodeHostname
}

func fileWriterOf(fw *hdfs.FileWriter) (fileWriter, error) {
	v := reflect.ValueOf(fw).Elem()
	bwf, bsf := v.FieldByName("blockWriter"), v.FieldByName("blockSize")
	if !bwf.IsValid() || bwf.Kind() != reflect.Pointer || !bsf.IsValid() || bsf.Kind() != reflect.Int64 {
		return fileWriter{}, errors.New("ufs: hdfs file writer has no blockWriter/blockSize fields (library version changed?)")
	}
	w := fileWriter{bw: reflect.NewAt(bwf.Type(), unsafe.Pointer(bwf.UnsafeAddr())).Elem(), blockSize: bsf.Int()}
	if c := v.FieldByName("client"); c.IsValid() && c.Kind() == reflect.Pointer && !c.IsNil() {
		if u := c.Elem().FieldByName("options").FieldByName("UseDatanodeHostname"); u.IsValid() && u.Kind() == reflect.Bool {
			w.useHostname = u.Bool()
		}
	}
	return w, nil
}

// writeHDFSFile writes b to fw, the writer of src. The library's Write
// adds the next block itself when one is full, and gives up if the NameNode
// refuses with NotReplicatedYetException (the block before the last one is
// not yet reported: a file of three or more blocks written faster than its
// DataNodes report), leaving its writer without a block. The Java client
// retries addBlock with backoff; so does this: it writes b in pieces that
// cross at most one block boundary, so that the block the library finalized
// is known, sends addBlock again with it as the previous block, and gives
// the library's writer the new block to go on with. With encrypted data
// transfer (SASL) it does not retry: the DataNode dialer is bound to the
// previous block's token.
func (h *hdfsFS) writeHDFSFile(fw *hdfs.FileWriter, src string, b []byte) (int, error) {
	w, err := fileWriterOf(fw)
	if err != nil {
		return 0, err
	}
	piece := int(max(w.blockSize, 1))
	done := 0
	for done < len(b) {
		end := done + min(piece, len(b)-done)
		var prev proto.Message
		var fileID *uint64
		var dial reflect.Value
		if !w.bw.IsNil() {
			if prev, fileID, err = writerBlock(fw); err != nil {
				return done, err
			}
			dial = w.bw.Elem().FieldByName("DialFunc")
		}
		fw.SetDeadline(time.Now().Add(h.opts.rpcTimeout))
		n, err := fw.Write(b[done:end])
		fw.SetDeadline(time.Time{})
		done += n
		if err == nil {
			continue
		}
		if remoteException(err) != notReplicatedYet || prev == nil || !w.bw.IsNil() || !dial.IsValid() || h.encryptedTransfer(fw) {
			return done, err
		}
		if err := h.addBlockAgain(w, src, prev, fileID, dial, err); err != nil {
			return done, err
		}
	}
	return done, nil
}

// encryptedTransfer reports whether fw's client protects DataNode
// connections (SASL), which binds a dialer to one block's token.
func (h *hdfsFS) encryptedTransfer(fw *hdfs.FileWriter) bool {
	c := reflect.ValueOf(fw).Elem().FieldByName("client")
	if !c.IsValid() || c.Kind() != reflect.Pointer || c.IsNil() {
		return true
	}
	dtp := c.Elem().FieldByName("options").FieldByName("DataTransferProtection")
	if !dtp.IsValid() || dtp.Kind() != reflect.String || dtp.String() != "" {
		return true
	}
	d, err := h.conn.client.ServerDefaults()
	return err != nil || d.EncryptDataTransfer
}

// addBlockAgain sends addBlock for src with prev (the block the library
// finalized) until the NameNode gives a block, and installs it in the
// library's writer; first is the library's error, returned (with the count)
// if every attempt is refused.
func (h *hdfsFS) addBlockAgain(w fileWriter, src string, prev proto.Message, fileID *uint64, dial reflect.Value, first error) error {
	fields := map[string]any{"src": src, "clientName": h.conn.client.Name()}
	if fileID != nil {
		fields["fileId"] = *fileID
	}
	delay := addBlockFirstDelay
	var err error
	for attempt := 1; attempt <= addBlockRetries; attempt++ {
		time.Sleep(delay)
		delay = min(2*delay, addBlockMaxDelay)
		var req, resp proto.Message
		if req, err = hdfsMessage("AddBlockRequestProto", fields); err != nil {
			return err
		}
		rm := req.ProtoReflect()
		rm.Set(rm.Descriptor().Fields().ByName("previous"), protoreflect.ValueOfMessage(prev.ProtoReflect()))
		if resp, err = hdfsMessage("AddBlockResponseProto", nil); err != nil {
			return err
		}
		err = h.conn.nn.Execute("addBlock", req, resp)
		if err == nil {
			return installBlock(w, resp.ProtoReflect(), h.conn.client.Name(), dial)
		}
		if remoteException(err) != notReplicatedYet {
			return err
		}
	}
	return fmt.Errorf("%w (addBlock refused %d more times)", first, addBlockRetries)
}

// installBlock gives the library's writer, left without a block by a
// refused addBlock, the block of resp (an AddBlockResponseProto), as its
// startNewBlock would.
func installBlock(w fileWriter, resp protoreflect.Message, clientName string, dial reflect.Value) error {
	fd := resp.Descriptor().Fields().ByName("block")
	if fd == nil || !resp.Has(fd) {
		return errors.New("ufs: hdfs addBlock answered no block")
	}
	located := reflect.ValueOf(resp.Get(fd).Message().Interface())
	nb := reflect.New(w.bw.Type().Elem())
	e := nb.Elem()
	set := []struct {
		name string
		v    reflect.Value
	}{
		{"ClientName", reflect.ValueOf(clientName)},
		{"Block", located},
		{"BlockSize", reflect.ValueOf(w.blockSize)},
		{"DialFunc", dial},
		{"UseDatanodeHostname", reflect.ValueOf(w.useHostname)},
	}
	for _, s := range set {
		f := e.FieldByName(s.name)
		if !f.IsValid() || !f.CanSet() || !s.v.Type().AssignableTo(f.Type()) {
			return fmt.Errorf("ufs: hdfs block writer field %s cannot take a %s (library version changed?)", s.name, s.v.Type())
		}
		f.Set(s.v)
	}
	w.bw.Set(nb)
	return nil
}
