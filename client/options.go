package client

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/alluxio-go/alluxio/common/retry"
)

// Option configures a FileSystem.
type Option func(*fsOptions)

type fsOptions struct {
	masterAddr string
	inquire    MasterInquireClient
	logger     *slog.Logger
	dialOpts   []grpc.DialOption
	retry      *retry.Policy
	hostname   string
	user       *[2]string
	tp         trace.TracerProvider
}

// WithMasterAddress connects to the master at host:port, overriding
// alluxio.master.hostname and alluxio.master.rpc.port.
func WithMasterAddress(addr string) Option { return func(o *fsOptions) { o.masterAddr = addr } }

// WithMasterInquireClient finds the leader master through ic (e.g. a
// ZooKeeper-backed one). It takes precedence over WithMasterAddress.
func WithMasterInquireClient(ic MasterInquireClient) Option {
	return func(o *fsOptions) { o.inquire = ic }
}

// WithTracerProvider traces the FileSystem's calls with tp: a span
// "alluxio.client.<Method>" per call, a child span "alluxio.rpc.attempt" per
// master RPC attempt (attributes alluxio.master.address, alluxio.rpc.attempt,
// rpc.grpc.status_code) with an event "leader re-resolved" when the leader is
// looked up again, and otelgrpc client spans whose W3C trace context reaches
// the masters' and workers' server spans. The default is a no-op provider;
// no global is read or set.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *fsOptions) { o.tp = tp } }

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(o *fsOptions) { o.logger = l } }

// WithDialOptions adds gRPC dial options to every master and worker
// connection (e.g. transport credentials or otelgrpc stats handlers). Without
// transport credentials the connections are insecure.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *fsOptions) { o.dialOpts = append(o.dialOpts, opts...) }
}

// WithRetryPolicy overrides the master RPC retry policy from
// alluxio.user.rpc.retry.*.
func WithRetryPolicy(p retry.Policy) Option { return func(o *fsOptions) { o.retry = &p } }

// WithHostname sets the client's host name for locality (overrides
// alluxio.user.hostname and os.Hostname).
func WithHostname(h string) Option { return func(o *fsOptions) { o.hostname = h } }

// WithUser sets the owner and group of new files and directories when the
// call names none; the default is the OS user running the client and its
// primary group, as Alluxio's SIMPLE authentication does.
func WithUser(user, group string) Option {
	return func(o *fsOptions) { o.user = &[2]string{user, group} }
}

// CreateOption configures CreateFile. WriteType, BlockSize, Mode, Owner,
// Group, TTL, Recursive and Overwrite are CreateOptions.
type CreateOption interface{ applyCreate(*createOptions) }

type createOptions struct {
	writeType WriteType
	blockSize int64
	mode      uint32
	owner     string
	group     string
	ttl       time.Duration
	recursive bool
	overwrite bool
}

// CreateDirectoryOption configures CreateDirectory. Recursive, AllowExists,
// Mode, Owner, Group and WriteType are CreateDirectoryOptions.
type CreateDirectoryOption interface{ applyMkdir(*mkdirOptions) }

type mkdirOptions struct {
	recursive   bool
	allowExists bool
	mode        uint32
	owner       string
	group       string
	writeType   WriteType
}

// OpenOption configures OpenFile. ReadType is an OpenOption.
type OpenOption interface{ applyOpen(*openOptions) }

type openOptions struct {
	readType ReadType
}

// ListOption configures ListStatus. Recursive is a ListOption.
type ListOption interface{ applyList(*listOptions) }

type listOptions struct{ recursive bool }

// DeleteOption configures Delete. Recursive and AlluxioOnly are DeleteOptions.
type DeleteOption interface{ applyDelete(*deleteOptions) }

type deleteOptions struct{ recursive, alluxioOnly bool }

// FreeOption configures Free. Recursive and Forced are FreeOptions.
type FreeOption interface{ applyFree(*freeOptions) }

type freeOptions struct{ recursive, forced bool }

// MountOption configures Mount. ReadOnly and MountProperties are MountOptions.
type MountOption interface{ applyMount(*mountOptions) }

type mountOptions struct {
	readOnly bool
	props    map[string]string
}

func (t WriteType) applyCreate(o *createOptions) { o.writeType = t }
func (t WriteType) applyMkdir(o *mkdirOptions)   { o.writeType = t }
func (t ReadType) applyOpen(o *openOptions)      { o.readType = t }

// BlockSize sets the block size of a new file in bytes.
type BlockSize int64

func (b BlockSize) applyCreate(o *createOptions) { o.blockSize = int64(b) }

// Mode sets the permission bits of a new file or directory, e.g. Mode(0640).
type Mode uint32

func (m Mode) applyCreate(o *createOptions) { o.mode = uint32(m) }
func (m Mode) applyMkdir(o *mkdirOptions)   { o.mode = uint32(m) }

// Owner sets the owner of a new file or directory.
type Owner string

func (s Owner) applyCreate(o *createOptions) { o.owner = string(s) }
func (s Owner) applyMkdir(o *mkdirOptions)   { o.owner = string(s) }

// Group sets the group of a new file or directory.
type Group string

func (s Group) applyCreate(o *createOptions) { o.group = string(s) }
func (s Group) applyMkdir(o *mkdirOptions)   { o.group = string(s) }

// TTL sets the time to live of a new file.
type TTL time.Duration

func (t TTL) applyCreate(o *createOptions) { o.ttl = time.Duration(t) }

type flagOption int

const (
	flagRecursive flagOption = iota
	flagAllowExists
	flagOverwrite
	flagAlluxioOnly
	flagForced
	flagReadOnly
)

// Recursive makes CreateFile and CreateDirectory create missing parents,
// ListStatus list the whole subtree, Delete remove non-empty directories and
// Free free a whole subtree.
func Recursive() interface {
	CreateOption
	CreateDirectoryOption
	ListOption
	DeleteOption
	FreeOption
} {
	return flagRecursive
}

// AllowExists makes CreateDirectory succeed when the directory exists.
func AllowExists() CreateDirectoryOption { return flagAllowExists }

// Overwrite makes CreateFile replace an existing file.
func Overwrite() CreateOption { return flagOverwrite }

// AlluxioOnly makes Delete remove the path from Alluxio only, leaving the UFS.
func AlluxioOnly() DeleteOption { return flagAlluxioOnly }

// Forced makes Free free pinned files too.
func Forced() FreeOption { return flagForced }

// ReadOnly mounts the UFS read-only.
func ReadOnly() MountOption { return flagReadOnly }

func (f flagOption) applyCreate(o *createOptions) {
	switch f {
	case flagRecursive:
		o.recursive = true
	case flagOverwrite:
		o.overwrite = true
	}
}

func (f flagOption) applyMkdir(o *mkdirOptions) {
	switch f {
	case flagRecursive:
		o.recursive = true
	case flagAllowExists:
		o.allowExists = true
	}
}

func (f flagOption) applyList(o *listOptions) {
	if f == flagRecursive {
		o.recursive = true
	}
}

func (f flagOption) applyDelete(o *deleteOptions) {
	switch f {
	case flagRecursive:
		o.recursive = true
	case flagAlluxioOnly:
		o.alluxioOnly = true
	}
}

func (f flagOption) applyFree(o *freeOptions) {
	switch f {
	case flagRecursive:
		o.recursive = true
	case flagForced:
		o.forced = true
	}
}

func (f flagOption) applyMount(o *mountOptions) {
	if f == flagReadOnly {
		o.readOnly = true
	}
}

// MountProperties passes properties (e.g. credentials) to the UFS of a mount.
type MountProperties map[string]string

func (p MountProperties) applyMount(o *mountOptions) {
	if o.props == nil {
		o.props = map[string]string{}
	}
	for k, v := range p {
		o.props[k] = v
	}
}

// SetAttributeOptions lists the attributes to change; nil fields are left
// alone.
type SetAttributeOptions struct {
	Mode   *uint32
	Owner  *string
	Group  *string
	Pinned *bool
	// TTL sets the time to live; a negative value removes it.
	TTL *time.Duration
	// TTLAction is "DELETE" or "FREE".
	TTLAction *string
	// Recursive applies the change to a directory's whole subtree.
	Recursive bool
}

// Ptr returns a pointer to v, for SetAttributeOptions fields.
func Ptr[T any](v T) *T { return &v }
