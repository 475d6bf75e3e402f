package client

import (
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"time"

	pb "github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// WriteType says where the bytes of a new file go. A WriteType is also a
// CreateOption and a CreateDirectoryOption.
type WriteType int

// Write types, as in Alluxio.
const (
	WriteTypeDefault WriteType = iota // alluxio.user.file.writetype.default
	MustCache                         // blocks on a worker only
	CacheThrough                      // blocks on a worker and the file in the UFS
	Through                           // the file in the UFS only
	AsyncThrough                      // blocks on a worker; the master persists later
)

var writeTypeNames = [...]string{"DEFAULT", "MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"}

// String returns Alluxio's name of the write type, e.g. "CACHE_THROUGH".
func (t WriteType) String() string {
	if t >= 0 && int(t) < len(writeTypeNames) {
		return writeTypeNames[t]
	}
	return "WriteType(" + strconv.Itoa(int(t)) + ")"
}

// ParseWriteType parses an Alluxio write type name such as "MUST_CACHE".
func ParseWriteType(s string) (WriteType, error) {
	for i, n := range writeTypeNames[1:] {
		if strings.EqualFold(s, n) {
			return WriteType(i + 1), nil
		}
	}
	return 0, fmt.Errorf("client: unknown write type %q (want MUST_CACHE, CACHE_THROUGH, THROUGH or ASYNC_THROUGH): %w", s, ErrInvalidArgument)
}

func (t WriteType) proto() pb.WriteType {
	switch t {
	case MustCache:
		return pb.WriteType_MUST_CACHE
	case CacheThrough:
		return pb.WriteType_CACHE_THROUGH
	case Through:
		return pb.WriteType_THROUGH
	case AsyncThrough:
		return pb.WriteType_ASYNC_THROUGH
	}
	return pb.WriteType_WRITE_TYPE_UNSPECIFIED
}

func (t WriteType) caches() bool   { return t == MustCache || t == CacheThrough || t == AsyncThrough }
func (t WriteType) throughs() bool { return t == CacheThrough || t == Through }

// ReadType says whether reads populate the cache. A ReadType is also an
// OpenOption.
type ReadType int

// Read types, as in Alluxio.
const (
	ReadTypeDefault ReadType = iota // alluxio.user.file.readtype.default
	NoCache                         // never cache blocks read from the UFS
	Cache                           // cache blocks read from the UFS
	CachePromote                    // cache, and move blocks to the top tier
)

var readTypeNames = [...]string{"DEFAULT", "NO_CACHE", "CACHE", "CACHE_PROMOTE"}

// String returns Alluxio's name of the read type, e.g. "CACHE".
func (t ReadType) String() string {
	if t >= 0 && int(t) < len(readTypeNames) {
		return readTypeNames[t]
	}
	return "ReadType(" + strconv.Itoa(int(t)) + ")"
}

// ParseReadType parses an Alluxio read type name such as "NO_CACHE".
func ParseReadType(s string) (ReadType, error) {
	for i, n := range readTypeNames[1:] {
		if strings.EqualFold(s, n) {
			return ReadType(i + 1), nil
		}
	}
	return 0, fmt.Errorf("client: unknown read type %q (want NO_CACHE, CACHE or CACHE_PROMOTE): %w", s, ErrInvalidArgument)
}

// WorkerAddress is where a worker serves data.
type WorkerAddress struct {
	Host           string
	RPCPort        int
	WebPort        int
	TieredIdentity string
	// DataPort is the port of the worker's data server (0: none; blocks
	// then move over gRPC streams on RPCPort).
	DataPort int
}

// String returns host:rpcport.
func (a WorkerAddress) String() string {
	return net.JoinHostPort(a.Host, strconv.Itoa(a.RPCPort))
}

// BlockLocation names one cached copy of a block.
type BlockLocation struct {
	WorkerID int64
	Address  WorkerAddress
	Tier     string
}

// FileBlock is one block of a file.
type FileBlock struct {
	ID        int64
	Offset    int64 // of the block's first byte in the file
	Length    int64
	Locations []BlockLocation
}

// URIStatus is the status of a file or directory, as `alluxio fs stat`
// shows it.
type URIStatus struct {
	FileID           int64
	Name             string
	Path             string
	UfsPath          string
	Length           int64
	BlockSize        int64
	CreationTime     time.Time
	ModificationTime time.Time
	AccessTime       time.Time
	Completed        bool
	IsDir            bool
	Pinned           bool
	Cacheable        bool
	Persisted        bool
	MountPoint       bool
	MountID          int64
	// TTL is the time to live; negative means none.
	TTL       time.Duration
	TTLAction string
	Owner     string
	Group     string
	// Mode holds the permission bits (e.g. 0755).
	Mode                uint32
	PersistenceState    string
	InAlluxioPercentage int
	ParentID            int64
	ChildCount          int64
	BlockIDs            []int64
	Blocks              []FileBlock
}

// FileMode returns the mode as an fs.FileMode, with fs.ModeDir for directories.
func (s *URIStatus) FileMode() fs.FileMode {
	m := fs.FileMode(s.Mode) & fs.ModePerm
	if s.IsDir {
		m |= fs.ModeDir
	}
	return m
}

func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func workerAddrFromProto(a *pb.WorkerNetAddress) WorkerAddress {
	return WorkerAddress{Host: a.GetHost(), RPCPort: int(a.GetRpcPort()), WebPort: int(a.GetWebPort()), TieredIdentity: a.GetTieredIdentity(), DataPort: int(a.GetDataPort())}
}

func statusFromProto(fi *pb.FileInfo) *URIStatus {
	if fi == nil {
		return nil
	}
	s := &URIStatus{
		FileID:              fi.GetFileId(),
		Name:                fi.GetName(),
		Path:                fi.GetPath(),
		UfsPath:             fi.GetUfsPath(),
		Length:              fi.GetLength(),
		BlockSize:           fi.GetBlockSizeBytes(),
		CreationTime:        msTime(fi.GetCreationTimeMs()),
		ModificationTime:    msTime(fi.GetLastModificationTimeMs()),
		AccessTime:          msTime(fi.GetLastAccessTimeMs()),
		Completed:           fi.GetCompleted(),
		IsDir:               fi.GetFolder(),
		Pinned:              fi.GetPinned(),
		Cacheable:           fi.GetCacheable(),
		Persisted:           fi.GetPersisted(),
		MountPoint:          fi.GetMountPoint(),
		MountID:             fi.GetMountId(),
		TTL:                 -1,
		TTLAction:           fi.GetTtlAction(),
		Owner:               fi.GetOwner(),
		Group:               fi.GetGroup(),
		Mode:                uint32(fi.GetMode()),
		PersistenceState:    fi.GetPersistenceState(),
		InAlluxioPercentage: int(fi.GetInAlluxioPercentage()),
		ParentID:            fi.GetParentId(),
		ChildCount:          fi.GetChildCount(),
		BlockIDs:            append([]int64(nil), fi.GetBlockIds()...),
	}
	if fi.GetTtl() >= 0 {
		s.TTL = time.Duration(fi.GetTtl()) * time.Millisecond
	}
	for _, fb := range fi.GetFileBlockInfos() {
		b := FileBlock{ID: fb.GetBlockInfo().GetBlockId(), Offset: fb.GetOffset(), Length: fb.GetBlockInfo().GetLength()}
		for _, l := range fb.GetBlockInfo().GetLocations() {
			b.Locations = append(b.Locations, BlockLocation{WorkerID: l.GetWorkerId(), Address: workerAddrFromProto(l.GetWorkerAddress()), Tier: l.GetTierAlias()})
		}
		s.Blocks = append(s.Blocks, b)
	}
	return s
}

// TierCapacity is the capacity and usage of one storage tier.
type TierCapacity struct {
	Alias    string
	Capacity int64
	Used     int64
}

// WorkerInfo describes a worker, as `alluxio fsadmin report` shows it.
type WorkerInfo struct {
	ID          int64
	Address     WorkerAddress
	LastContact time.Duration
	// State is "LIVE" or "LOST" (or what the master reports).
	State      string
	Capacity   int64
	Used       int64
	StartTime  time.Time
	Tiers      []TierCapacity
	BlockCount int64
}

func workerInfoFromProto(w *pb.WorkerInfo, defState string) WorkerInfo {
	wi := WorkerInfo{
		ID:          w.GetId(),
		Address:     workerAddrFromProto(w.GetAddress()),
		LastContact: time.Duration(w.GetLastContactSec()) * time.Second,
		State:       w.GetState(),
		Capacity:    w.GetCapacityBytes(),
		Used:        w.GetUsedBytes(),
		StartTime:   msTime(w.GetStartTimeMs()),
		BlockCount:  w.GetBlockCount(),
	}
	if wi.State == "" {
		wi.State = defState
	}
	for _, t := range w.GetTiers() {
		wi.Tiers = append(wi.Tiers, TierCapacity{Alias: t.GetAlias(), Capacity: t.GetCapacityBytes(), Used: t.GetUsedBytes()})
	}
	return wi
}

// BlockMasterInfo is the cluster's capacity summary.
type BlockMasterInfo struct {
	Capacity        int64
	Used            int64
	Free            int64
	CapacityOnTiers map[string]int64
	UsedOnTiers     map[string]int64
	LiveWorkers     int
	LostWorkers     int
}

// MasterStatus describes one master process.
type MasterStatus struct {
	Address         string // host:port
	Role            string // LEADER, STANDBY or SINGLE
	Epoch           int64
	JournalSequence int64
	StartTime       time.Time
	Version         string
}

// MasterInfo describes the masters of the cluster.
type MasterInfo struct {
	LeaderAddress      string // host:port
	Masters            []MasterStatus
	ClusterID          string
	Version            string
	StartTime          time.Time
	UpTime             time.Duration
	JournalFolder      string
	ZooKeeperEnabled   bool
	ZooKeeperAddresses []string
	RPCPort            int
	WebPort            int
	SafeMode           bool
}

func masterAddr(a *pb.MasterAddress) string {
	if a == nil || a.GetHost() == "" {
		return ""
	}
	return net.JoinHostPort(a.GetHost(), strconv.Itoa(int(a.GetRpcPort())))
}

// MountPointInfo is one entry of the mount table.
type MountPointInfo struct {
	AlluxioPath string
	UfsURI      string
	ReadOnly    bool
	MountID     int64
	Properties  map[string]string
}
