package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/datacodec"
	"github.com/alluxio-go/alluxio/common/pathutil"
	"github.com/alluxio-go/alluxio/common/retry"
	"github.com/alluxio-go/alluxio/common/version"
	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// tracerName is the instrumentation scope of the client's spans.
const tracerName = "github.com/alluxio-go/alluxio/client"

// rpcTimeout bounds clean-up calls made after the caller's context ended.
const rpcTimeout = 30 * time.Second

// FileSystem is a connection to a cluster: the leader master for metadata,
// workers for data. It is safe for concurrent use; Close releases it.
type FileSystem struct {
	cfg          *conf.Config
	logger       *slog.Logger
	inquire      MasterInquireClient
	ownInquire   bool // built from the configuration: Close closes it
	tracer       trace.Tracer
	dialOpts     []grpc.DialOption
	retry        retry.Policy
	hostname     string
	user, group  string // default owner of new inodes
	shortCircuit bool
	blockSize    int64
	chunkSize    int64
	writeType    WriteType
	readType     ReadType
	// isLocal reports whether a worker host is this client's host; tests
	// replace it.
	isLocal func(host string) bool

	// codec and bufs serve the block data streams (see common/datacodec): write
	// chunks are pooled buffers that the transport frees once sent.
	codec datacodec.Codec
	bufs  mem.BufferPool

	mu         sync.Mutex
	closed     bool
	masterAddr string
	conns      map[string]*grpc.ClientConn // by host:port, masters and workers

	dead deadWorkers // workers that just refused connections
}

// New connects to the cluster described by the client configuration
// (alluxio-site.properties in ALLUXIO_CONF_DIR, the environment and
// ALLUXIO_USER_JAVA_OPTS), adjusted by opts.
func New(ctx context.Context, opts ...Option) (*FileSystem, error) {
	var o fsOptions
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := conf.Load(conf.LoadOptions{Scope: conf.ScopeClient, Logger: o.logger})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return NewFromConfig(ctx, cfg, opts...)
}

// NewFromConfig connects to the cluster described by cfg, adjusted by opts.
// Connections are made lazily; ctx bounds only the set-up.
func NewFromConfig(ctx context.Context, cfg *conf.Config, opts ...Option) (*FileSystem, error) {
	var o fsOptions
	for _, opt := range opts {
		opt(&o)
	}
	if cfg == nil {
		var err error
		if cfg, err = conf.FromMap(nil); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	f := &FileSystem{
		cfg:          cfg,
		logger:       o.logger,
		inquire:      o.inquire,
		shortCircuit: cfg.GetBool("alluxio.user.short.circuit.enabled"),
		blockSize:    cfg.GetBytes("alluxio.user.block.size.bytes.default"),
		chunkSize:    cfg.GetBytes("alluxio.user.network.reader.chunk.size.bytes"),
		hostname:     o.hostname,
		conns:        make(map[string]*grpc.ClientConn),
		codec:        datacodec.New(),
		bufs:         new(datacodec.Pool),
	}
	if f.logger == nil {
		f.logger = slog.New(slog.DiscardHandler)
	}
	if f.chunkSize <= 0 {
		f.chunkSize = 1 << 20
	}
	if f.blockSize <= 0 {
		return nil, fmt.Errorf("client: alluxio.user.block.size.bytes.default must be positive: %w", ErrInvalidArgument)
	}
	var err error
	if f.writeType, err = ParseWriteType(cfg.Get("alluxio.user.file.writetype.default")); err != nil {
		return nil, err
	}
	if f.readType, err = ParseReadType(cfg.Get("alluxio.user.file.readtype.default")); err != nil {
		return nil, err
	}
	if o.retry != nil {
		f.retry = *o.retry
	} else {
		f.retry = retry.Policy{
			BaseSleep:   cfg.GetDuration("alluxio.user.rpc.retry.base.sleep"),
			MaxSleep:    cfg.GetDuration("alluxio.user.rpc.retry.max.sleep"),
			MaxDuration: cfg.GetDuration("alluxio.user.rpc.retry.max.duration"),
		}
	}
	if f.inquire == nil {
		if o.masterAddr != "" {
			f.inquire = NewStaticInquireClient(o.masterAddr)
		} else if f.inquire, err = InquireClientFromConfig(cfg); err != nil {
			return nil, err
		} else {
			f.ownInquire = true
		}
	}
	tp := o.tp
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	f.tracer = tp.Tracer(tracerName, trace.WithInstrumentationVersion(version.Version))
	if o.user != nil {
		f.user, f.group = o.user[0], o.user[1]
	} else {
		f.user, f.group = osUser()
	}
	if f.hostname == "" {
		f.hostname = cfg.Get("alluxio.user.hostname")
	}
	if f.hostname == "" {
		f.hostname, _ = os.Hostname()
	}
	f.isLocal = f.defaultIsLocal
	f.dialOpts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20)),
	}, o.dialOpts...)
	if o.tp != nil {
		f.dialOpts = append(f.dialOpts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(tp),
			otelgrpc.WithPropagators(propagation.TraceContext{}),
			otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		)))
	}
	return f, nil
}

// Config returns the configuration the FileSystem was built from.
func (f *FileSystem) Config() *conf.Config { return f.cfg }

// Close closes every connection. It is idempotent.
func (f *FileSystem) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	var errs []error
	if c, ok := f.inquire.(io.Closer); ok && f.ownInquire {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close inquire client: %w", err))
		}
	}
	for addr, cc := range f.conns {
		if err := cc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", addr, err))
		}
	}
	f.conns = nil
	return errors.Join(errs...)
}

// osUser returns the name and primary group of the user running the client
// ("" when unknown).
func osUser() (string, string) {
	u, err := user.Current()
	if err != nil {
		return "", ""
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return u.Username, ""
	}
	return u.Username, g.Name
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func newOperationID() *pb.OperationId {
	var b [16]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; fall back to time.
		binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixNano()))
	}
	return &pb.OperationId{
		MostSignificantBits:  int64(binary.BigEndian.Uint64(b[:8])),
		LeastSignificantBits: int64(binary.BigEndian.Uint64(b[8:])),
	}
}

func cleanPath(p string) (string, error) {
	c, err := pathutil.Clean(p)
	if err != nil {
		return "", fmt.Errorf("client: %w", err)
	}
	return c, nil
}

func opErr(op, path string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("client: %s %s: %w", op, path, err)
}

func (f *FileSystem) fsClient(cc *grpc.ClientConn) pb.FileSystemMasterClientServiceClient {
	return pb.NewFileSystemMasterClientServiceClient(cc)
}

// GetStatus returns the status of a file or directory.
func (f *FileSystem) GetStatus(ctx context.Context, path string) (_ *URIStatus, err error) {
	ctx, span := f.startSpan(ctx, "GetStatus", attrPath.String(path))
	defer func() { endSpan(span, err) }()
	fi, err := f.getStatus(ctx, path)
	if err != nil {
		return nil, err
	}
	return statusFromProto(fi), nil
}

func (f *FileSystem) getStatus(ctx context.Context, path string) (*pb.FileInfo, error) {
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	var resp *pb.GetStatusResponse
	err = f.callMaster(ctx, "GetStatus", idempotent, func(ctx context.Context, cc *grpc.ClientConn) error {
		var err error
		resp, err = f.fsClient(cc).GetStatus(ctx, &pb.GetStatusRequest{Path: p, LoadMetadata: true})
		return err
	})
	if err != nil {
		return nil, opErr("get status", p, err)
	}
	return resp.GetFileInfo(), nil
}

// Exists reports whether path exists.
func (f *FileSystem) Exists(ctx context.Context, path string) (bool, error) {
	ctx, span := f.startSpan(ctx, "Exists", attrPath.String(path))
	_, err := f.getStatus(ctx, path)
	if errors.Is(err, ErrNotFound) {
		span.End()
	} else {
		endSpan(span, err)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// ListStatus lists a directory's children (or, with Recursive, its whole
// subtree); for a file it returns the file's own status.
func (f *FileSystem) ListStatus(ctx context.Context, path string, opts ...ListOption) (_ []*URIStatus, err error) {
	ctx, span := f.startSpan(ctx, "ListStatus", attrPath.String(path))
	defer func() { endSpan(span, err) }()
	var o listOptions
	for _, opt := range opts {
		opt.applyList(&o)
	}
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	var out []*URIStatus
	err = f.callMaster(ctx, "ListStatus", idempotent, func(ctx context.Context, cc *grpc.ClientConn) error {
		out = out[:0]
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := f.fsClient(cc).ListStatus(ctx, &pb.ListStatusRequest{Path: p, Recursive: o.recursive, LoadMetadata: true})
		if err != nil {
			return err
		}
		for {
			resp, err := stream.Recv()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			for _, fi := range resp.GetFileInfos() {
				out = append(out, statusFromProto(fi))
			}
		}
	})
	if err != nil {
		return nil, opErr("list", p, err)
	}
	return out, nil
}

// CreateDirectory creates a directory. With Recursive it creates missing
// parents; with AllowExists an existing directory is not an error.
func (f *FileSystem) CreateDirectory(ctx context.Context, path string, opts ...CreateDirectoryOption) (err error) {
	ctx, span := f.startSpan(ctx, "CreateDirectory", attrPath.String(path))
	defer func() { endSpan(span, err) }()
	o := mkdirOptions{writeType: WriteTypeDefault}
	for _, opt := range opts {
		opt.applyMkdir(&o)
	}
	if o.writeType == WriteTypeDefault {
		o.writeType = f.writeType
	}
	p, err := cleanPath(path)
	if err != nil {
		return err
	}
	req := &pb.CreateDirectoryRequest{
		Path: p, Recursive: o.recursive, AllowExists: o.allowExists, Mode: int32(o.mode),
		WriteType: o.writeType.proto(), Owner: orDefault(o.owner, f.user), Group: orDefault(o.group, f.group),
		OperationId: newOperationID(),
	}
	err = f.callMaster(ctx, "CreateDirectory", mutation, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := f.fsClient(cc).CreateDirectory(ctx, req)
		return err
	})
	return opErr("create directory", p, err)
}

// Delete removes a file or an empty directory; with Recursive a non-empty
// directory too. With AlluxioOnly the UFS is left untouched.
func (f *FileSystem) Delete(ctx context.Context, path string, opts ...DeleteOption) (err error) {
	ctx, span := f.startSpan(ctx, "Delete", attrPath.String(path))
	defer func() { endSpan(span, err) }()
	var o deleteOptions
	for _, opt := range opts {
		opt.applyDelete(&o)
	}
	p, err := cleanPath(path)
	if err != nil {
		return err
	}
	req := &pb.DeleteRequest{Path: p, Recursive: o.recursive, AlluxioOnly: o.alluxioOnly, OperationId: newOperationID()}
	err = f.callMaster(ctx, "Remove", mutation, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := f.fsClient(cc).Remove(ctx, req)
		return err
	})
	return opErr("delete", p, err)
}

// Rename moves src to dst.
func (f *FileSystem) Rename(ctx context.Context, src, dst string) (err error) {
	ctx, span := f.startSpan(ctx, "Rename", attrPath.String(src), attrDstPath.String(dst))
	defer func() { endSpan(span, err) }()
	s, err := cleanPath(src)
	if err != nil {
		return err
	}
	d, err := cleanPath(dst)
	if err != nil {
		return err
	}
	req := &pb.RenameRequest{SrcPath: s, DstPath: d, OperationId: newOperationID()}
	err = f.callMaster(ctx, "Rename", mutation, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := f.fsClient(cc).Rename(ctx, req)
		return err
	})
	if err != nil {
		return fmt.Errorf("client: rename %s to %s: %w", s, d, err)
	}
	return nil
}

// Free removes the cached blocks of a file (or, with Recursive, of a
// directory's subtree) from the workers; the data stays in the UFS.
func (f *FileSystem) Free(ctx context.Context, path string, opts ...FreeOption) (err error) {
	ctx, span := f.startSpan(ctx, "Free", attrPath.String(path))
	defer func() { endSpan(span, err) }()
	var o freeOptions
	for _, opt := range opts {
		opt.applyFree(&o)
	}
	p, err := cleanPath(path)
	if err != nil {
		return err
	}
	req := &pb.FreeRequest{Path: p, Recursive: o.recursive, Forced: o.forced}
	err = f.callMaster(ctx, "Free", idempotent, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := f.fsClient(cc).Free(ctx, req)
		return err
	})
	return opErr("free", p, err)
}

// ScheduleAsyncPersistence asks the master to persist a file to the UFS in
// the background.
func (f *FileSystem) ScheduleAsyncPersistence(ctx context.Context, path string) (err error) {
	ctx, span := f.startSpan(ctx, "ScheduleAsyncPersistence", attrPath.String(path))
	defer func() { endSpan(span, err) }()
	p, err := cleanPath(path)
	if err != nil {
		return err
	}
	err = f.callMaster(ctx, "ScheduleAsyncPersistence", idempotent, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := f.fsClient(cc).ScheduleAsyncPersistence(ctx, &pb.ScheduleAsyncPersistenceRequest{Path: p})
		return err
	})
	return opErr("schedule persistence of", p, err)
}

// Persist schedules the persistence of a file and waits until the master
// reports it persisted or ctx ends. A persisted file returns at once.
func (f *FileSystem) Persist(ctx context.Context, path string) (err error) {
	ctx, span := f.startSpan(ctx, "Persist", attrPath.String(path))
	defer func() { endSpan(span, err) }()
	st, err := f.GetStatus(ctx, path)
	if err != nil {
		return err
	}
	if st.Persisted {
		return nil
	}
	if st.IsDir {
		return fmt.Errorf("client: persist %s: is a directory: %w", st.Path, ErrInvalidArgument)
	}
	if st.PersistenceState != "TO_BE_PERSISTED" {
		if err := f.ScheduleAsyncPersistence(ctx, path); err != nil {
			return err
		}
	}
	wait := 20 * time.Millisecond
	for {
		st, err := f.GetStatus(ctx, path)
		if err != nil {
			return err
		}
		if st.Persisted {
			return nil
		}
		if st.PersistenceState == "LOST" {
			return fmt.Errorf("client: persist %s: persistence failed (state LOST): %w", st.Path, ErrInternal)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("client: persist %s: %w", st.Path, ctx.Err())
		case <-t.C:
		}
		if wait < time.Second {
			wait *= 2
		}
	}
}

// Mount mounts the UFS at ufsPath (e.g. "/data" or "hdfs://nn:9000/x") at
// alluxioPath.
func (f *FileSystem) Mount(ctx context.Context, alluxioPath, ufsPath string, opts ...MountOption) (err error) {
	ctx, span := f.startSpan(ctx, "Mount", attrPath.String(alluxioPath), attribute.String("alluxio.ufs_path", ufsPath))
	defer func() { endSpan(span, err) }()
	var o mountOptions
	for _, opt := range opts {
		opt.applyMount(&o)
	}
	p, err := cleanPath(alluxioPath)
	if err != nil {
		return err
	}
	req := &pb.MountRequest{AlluxioPath: p, UfsPath: ufsPath, ReadOnly: o.readOnly, Properties: o.props, OperationId: newOperationID()}
	err = f.callMaster(ctx, "Mount", mutation, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := f.fsClient(cc).Mount(ctx, req)
		return err
	})
	if err != nil {
		return fmt.Errorf("client: mount %s at %s: %w", ufsPath, p, err)
	}
	return nil
}

// Unmount removes the mount point at alluxioPath.
func (f *FileSystem) Unmount(ctx context.Context, alluxioPath string) (err error) {
	ctx, span := f.startSpan(ctx, "Unmount", attrPath.String(alluxioPath))
	defer func() { endSpan(span, err) }()
	p, err := cleanPath(alluxioPath)
	if err != nil {
		return err
	}
	req := &pb.UnmountRequest{AlluxioPath: p, OperationId: newOperationID()}
	err = f.callMaster(ctx, "Unmount", mutation, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := f.fsClient(cc).Unmount(ctx, req)
		return err
	})
	return opErr("unmount", p, err)
}

// GetMountTable returns the mount points keyed by Alluxio path.
func (f *FileSystem) GetMountTable(ctx context.Context) (_ map[string]MountPointInfo, err error) {
	ctx, span := f.startSpan(ctx, "GetMountTable")
	defer func() { endSpan(span, err) }()
	var resp *pb.GetMountTableResponse
	err = f.callMaster(ctx, "GetMountTable", idempotent, func(ctx context.Context, cc *grpc.ClientConn) error {
		var err error
		resp, err = f.fsClient(cc).GetMountTable(ctx, &pb.GetMountTableRequest{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("client: get mount table: %w", err)
	}
	out := make(map[string]MountPointInfo, len(resp.GetMountPoints()))
	for _, m := range resp.GetMountPoints() {
		out[m.GetAlluxioPath()] = MountPointInfo{
			AlluxioPath: m.GetAlluxioPath(), UfsURI: m.GetUfsUri(), ReadOnly: m.GetReadOnly(),
			MountID: m.GetMountId(), Properties: m.GetProperties(),
		}
	}
	return out, nil
}

// SetAttribute changes the attributes set in opts.
func (f *FileSystem) SetAttribute(ctx context.Context, path string, opts SetAttributeOptions) (err error) {
	ctx, span := f.startSpan(ctx, "SetAttribute", attrPath.String(path))
	defer func() { endSpan(span, err) }()
	p, err := cleanPath(path)
	if err != nil {
		return err
	}
	req := &pb.SetAttributeRequest{Path: p, Owner: opts.Owner, Group: opts.Group, Pinned: opts.Pinned, TtlAction: opts.TTLAction, Recursive: opts.Recursive, OperationId: newOperationID()}
	if opts.Mode != nil {
		m := int32(*opts.Mode & 0o7777)
		req.Mode = &m
	}
	if opts.TTL != nil {
		ttl := int64(-1)
		if *opts.TTL >= 0 {
			ttl = opts.TTL.Milliseconds()
		}
		req.Ttl = &ttl
	}
	if opts.TTLAction != nil {
		a := strings.ToUpper(*opts.TTLAction)
		if a != "DELETE" && a != "FREE" {
			return fmt.Errorf("client: set attribute %s: ttl action %q is not DELETE or FREE: %w", p, *opts.TTLAction, ErrInvalidArgument)
		}
		req.TtlAction = &a
	}
	err = f.callMaster(ctx, "SetAttribute", mutation, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := f.fsClient(cc).SetAttribute(ctx, req)
		return err
	})
	return opErr("set attribute of", p, err)
}

// GetMasterInfo describes the masters.
func (f *FileSystem) GetMasterInfo(ctx context.Context) (_ *MasterInfo, err error) {
	ctx, span := f.startSpan(ctx, "GetMasterInfo")
	defer func() { endSpan(span, err) }()
	var resp *pb.GetMasterInfoResponse
	err = f.callMaster(ctx, "GetMasterInfo", idempotent, func(ctx context.Context, cc *grpc.ClientConn) error {
		var err error
		resp, err = pb.NewMetaMasterClientServiceClient(cc).GetMasterInfo(ctx, &pb.GetMasterInfoRequest{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("client: get master info: %w", err)
	}
	mi := &MasterInfo{
		LeaderAddress: masterAddr(resp.GetLeaderAddress()), ClusterID: resp.GetClusterId(), Version: resp.GetVersion(),
		StartTime: msTime(resp.GetStartTimeMs()), UpTime: time.Duration(resp.GetUpTimeMs()) * time.Millisecond,
		JournalFolder: resp.GetJournalFolder(), ZooKeeperEnabled: resp.GetZookeeperEnabled(),
		ZooKeeperAddresses: resp.GetZookeeperAddresses(), RPCPort: int(resp.GetRpcPort()), WebPort: int(resp.GetWebPort()),
		SafeMode: resp.GetSafeMode(),
	}
	for _, m := range resp.GetMasters() {
		mi.Masters = append(mi.Masters, MasterStatus{
			Address: masterAddr(m.GetAddress()), Role: m.GetRole(), Epoch: m.GetEpoch(),
			JournalSequence: m.GetJournalSequence(), StartTime: msTime(m.GetStartTimeMs()), Version: m.GetVersion(),
		})
	}
	return mi, nil
}

// GetWorkerInfoList lists the live workers, then the lost ones (State "LOST").
func (f *FileSystem) GetWorkerInfoList(ctx context.Context) (_ []WorkerInfo, err error) {
	ctx, span := f.startSpan(ctx, "GetWorkerInfoList")
	defer func() { endSpan(span, err) }()
	var resp *pb.GetWorkerInfoListResponse
	err = f.callMaster(ctx, "GetWorkerInfoList", idempotent, func(ctx context.Context, cc *grpc.ClientConn) error {
		var err error
		resp, err = pb.NewBlockMasterClientServiceClient(cc).GetWorkerInfoList(ctx, &pb.GetWorkerInfoListRequest{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("client: get worker list: %w", err)
	}
	var out []WorkerInfo
	for _, w := range resp.GetWorkerInfos() {
		out = append(out, workerInfoFromProto(w, "LIVE"))
	}
	for _, w := range resp.GetLostWorkers() {
		wi := workerInfoFromProto(w, "LOST")
		wi.State = "LOST"
		out = append(out, wi)
	}
	return out, nil
}

// GetBlockMasterInfo returns the cluster's capacity summary.
func (f *FileSystem) GetBlockMasterInfo(ctx context.Context) (_ *BlockMasterInfo, err error) {
	ctx, span := f.startSpan(ctx, "GetBlockMasterInfo")
	defer func() { endSpan(span, err) }()
	var resp *pb.GetBlockMasterInfoResponse
	err = f.callMaster(ctx, "GetBlockMasterInfo", idempotent, func(ctx context.Context, cc *grpc.ClientConn) error {
		var err error
		resp, err = pb.NewBlockMasterClientServiceClient(cc).GetBlockMasterInfo(ctx, &pb.GetBlockMasterInfoRequest{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("client: get block master info: %w", err)
	}
	return &BlockMasterInfo{
		Capacity: resp.GetCapacityBytes(), Used: resp.GetUsedBytes(), Free: resp.GetFreeBytes(),
		CapacityOnTiers: resp.GetCapacityBytesOnTiers(), UsedOnTiers: resp.GetUsedBytesOnTiers(),
		LiveWorkers: int(resp.GetLiveWorkerNum()), LostWorkers: int(resp.GetLostWorkerNum()),
	}, nil
}

// defaultIsLocal reports whether host names this machine: the client's host
// name, a loopback address, or an address of a local interface.
func (f *FileSystem) defaultIsLocal(host string) bool {
	if host == "" {
		return false
	}
	if strings.EqualFold(host, f.hostname) || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
