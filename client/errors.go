package client

import (
	"errors"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

// Errors returned by FileSystem methods wrap one of these sentinels; test
// them with errors.Is. They are the same values as in package rpcstatus.
var (
	ErrNotFound           = rpcstatus.ErrNotFound
	ErrAlreadyExists      = rpcstatus.ErrAlreadyExists
	ErrInvalidArgument    = rpcstatus.ErrInvalidArgument
	ErrFailedPrecondition = rpcstatus.ErrFailedPrecondition
	ErrDirectoryNotEmpty  = rpcstatus.ErrDirectoryNotEmpty
	ErrPermissionDenied   = rpcstatus.ErrPermissionDenied
	ErrResourceExhausted  = rpcstatus.ErrResourceExhausted
	ErrNotLeader          = rpcstatus.ErrNotLeader
	ErrUnavailable        = rpcstatus.ErrUnavailable
	ErrIndeterminate      = rpcstatus.ErrIndeterminate
	ErrInternal           = rpcstatus.ErrInternal
	ErrCanceled           = rpcstatus.ErrCanceled
)

// ErrZooKeeperUnreachable is wrapped by the error of a FileSystem call that
// could not find the leader because no ZooKeeper server of
// alluxio.zookeeper.address could be reached (and none ever was). It is not
// retried: the ZooKeeper connection timeout already bounded the wait.
var ErrZooKeeperUnreachable = errors.New("ZooKeeper unreachable")

// ErrClosed is returned by operations on a closed FileSystem, FileReader or
// FileWriter.
var ErrClosed = errors.New("client: already closed")
