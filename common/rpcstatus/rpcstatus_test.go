package rpcstatus

import (
	"errors"
	"fmt"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, s := range []error{ErrNotFound, ErrAlreadyExists, ErrInvalidArgument, ErrFailedPrecondition,
		ErrDirectoryNotEmpty, ErrPermissionDenied, ErrResourceExhausted, ErrNotLeader, ErrUnavailable,
		ErrIndeterminate, ErrInternal} {
		in := fmt.Errorf("path /a/b: %w", s)
		out := FromGRPC(ToGRPC(in))
		if !errors.Is(out, s) {
			t.Errorf("%v: round trip lost the sentinel: got %v", s, out)
		}
		if out.Error() != in.Error() {
			t.Errorf("%v: message changed: %q -> %q", s, in.Error(), out.Error())
		}
	}
	if !Retryable(FromGRPC(ToGRPC(ErrNotLeader))) {
		t.Error("not-leader must be retryable")
	}
	if Retryable(FromGRPC(ToGRPC(ErrNotFound))) {
		t.Error("not-found must not be retryable")
	}
	if FromGRPC(ToGRPC(nil)) != nil {
		t.Error("nil must stay nil")
	}
}
