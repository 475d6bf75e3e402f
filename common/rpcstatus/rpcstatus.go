// Package rpcstatus defines the errors that cross the wire between clients,
// masters and workers, and translates them to and from gRPC status codes in
// one place: servers call ToGRPC at their boundary, clients call FromGRPC.
package rpcstatus

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors callers branch on. Wrap them with fmt.Errorf("...: %w", Err...)
// to add detail; the message travels to the client, the kind travels as the code.
var (
	ErrNotFound           = errors.New("does not exist")
	ErrAlreadyExists      = errors.New("already exists")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrDirectoryNotEmpty  = errors.New("directory not empty")
	ErrPermissionDenied   = errors.New("permission denied")
	ErrResourceExhausted  = errors.New("resource exhausted")
	// ErrNotLeader means the master is not (or no longer) the leader; clients
	// should find the leader again and retry.
	ErrNotLeader   = errors.New("master is not the leader")
	ErrUnavailable = errors.New("unavailable")
	// ErrIndeterminate means a mutation may or may not have been applied.
	ErrIndeterminate = errors.New("outcome unknown")
	ErrInternal      = errors.New("internal error")
	ErrCanceled      = errors.New("canceled")
)

// ReasonNotLeader is carried in the status message of an Unavailable error
// returned by a standby, so clients can tell it from a dead connection.
const ReasonNotLeader = "NOT_LEADER"

type codeErr struct {
	sentinel error
	code     codes.Code
}

var table = []codeErr{
	{ErrNotFound, codes.NotFound},
	{ErrAlreadyExists, codes.AlreadyExists},
	{ErrInvalidArgument, codes.InvalidArgument},
	{ErrDirectoryNotEmpty, codes.FailedPrecondition},
	{ErrFailedPrecondition, codes.FailedPrecondition},
	{ErrPermissionDenied, codes.PermissionDenied},
	{ErrResourceExhausted, codes.ResourceExhausted},
	{ErrNotLeader, codes.Unavailable},
	{ErrUnavailable, codes.Unavailable},
	{ErrIndeterminate, codes.Unknown},
	{ErrCanceled, codes.Canceled},
	{ErrInternal, codes.Internal},
}

// ToGRPC converts an error into a gRPC status error. Errors that already carry
// a status pass through; context errors map to Canceled/DeadlineExceeded;
// unknown errors become Internal.
func ToGRPC(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, ErrNotLeader):
		return status.Error(codes.Unavailable, ReasonNotLeader+": "+err.Error())
	case errors.Is(err, ErrDirectoryNotEmpty):
		return status.Error(codes.FailedPrecondition, "DIRECTORY_NOT_EMPTY: "+err.Error())
	}
	for _, e := range table {
		if errors.Is(err, e.sentinel) {
			return status.Error(e.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}

// FromGRPC converts a gRPC status error back into a Go error that wraps the
// matching sentinel, so callers can use errors.Is. The message is kept.
func FromGRPC(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	var sentinel error
	switch st.Code() {
	case codes.OK:
		return nil
	case codes.NotFound:
		sentinel = ErrNotFound
	case codes.AlreadyExists:
		sentinel = ErrAlreadyExists
	case codes.InvalidArgument, codes.OutOfRange:
		sentinel = ErrInvalidArgument
	case codes.FailedPrecondition:
		sentinel = ErrFailedPrecondition
		if len(msg) >= 19 && msg[:19] == "DIRECTORY_NOT_EMPTY" {
			sentinel = ErrDirectoryNotEmpty
			msg = trimPrefix(msg, "DIRECTORY_NOT_EMPTY: ")
		}
	case codes.PermissionDenied, codes.Unauthenticated:
		sentinel = ErrPermissionDenied
	case codes.ResourceExhausted:
		sentinel = ErrResourceExhausted
	case codes.Unavailable:
		sentinel = ErrUnavailable
		if len(msg) >= len(ReasonNotLeader) && msg[:len(ReasonNotLeader)] == ReasonNotLeader {
			sentinel = ErrNotLeader
			msg = trimPrefix(msg, ReasonNotLeader+": ")
		}
	case codes.Canceled:
		return fmt.Errorf("%s: %w", msg, context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", msg, context.DeadlineExceeded)
	case codes.Unknown:
		sentinel = ErrIndeterminate
	default:
		sentinel = ErrInternal
	}
	return &wireError{msg: msg, sentinel: sentinel, code: st.Code()}
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// wireError is an error received from a peer: its text is the peer's message,
// and errors.Is matches the sentinel of its status code.
type wireError struct {
	msg      string
	sentinel error
	code     codes.Code
}

func (e *wireError) Error() string              { return e.msg }
func (e *wireError) Unwrap() error              { return e.sentinel }
func (e *wireError) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// Retryable reports whether an RPC error means the request may succeed
// against the (possibly new) leader: unavailable or not-leader.
func Retryable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotLeader)
}
