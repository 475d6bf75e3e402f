package client

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/retry"
)

// TestMaybeAppliedThenNoVerdict: the first attempt of a mkdir is applied by
// the master but its answer is lost; what the retry gets decides whether
// the failure is definite. Only a verdict code sent by a master's gRPC
// server is; anything else (a status gRPC made up from an HTTP 404 or a
// broken answer, Internal or Unimplemented from a server) leaves the
// outcome unknown.
func TestMaybeAppliedThenNoVerdict(t *testing.T) {
	tests := []struct {
		name string
		// second is what the retry gets: fromServer errors are injected in
		// the master (a real gRPC answer), others are made up in the client
		// without sending anything.
		second        error
		fromServer    bool
		indeterminate bool
		want          error
	}{
		{"http 404 (client-side Unimplemented)", status.Error(codes.Unimplemented, "unexpected HTTP status code received from server: 404 (Not Found)"), false, true, ErrInternal},
		{"http 403 (client-side PermissionDenied)", status.Error(codes.PermissionDenied, "unexpected HTTP status code received from server: 403 (Forbidden)"), false, true, ErrPermissionDenied},
		{"Unimplemented from a server", status.Error(codes.Unimplemented, "unknown service"), true, true, ErrInternal},
		{"Internal from a server", status.Error(codes.Internal, "proxy error"), true, true, ErrInternal},
		{"verdict of the master", status.Error(codes.FailedPrecondition, "no"), true, false, ErrFailedPrecondition},
		{"not found from the master", status.Error(codes.NotFound, "gone"), true, false, ErrNotFound},
		{"directory not empty from the master", status.Error(codes.FailedPrecondition, "DIRECTORY_NOT_EMPTY: /d"), true, false, ErrDirectoryNotEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startCluster(t, fakecluster.Options{})
			var n atomic.Int32
			icpt := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				if methodBase(method) != "CreateDirectory" {
					return invoker(ctx, method, req, reply, cc, opts...)
				}
				switch n.Add(1) {
				case 1:
					if err := invoker(ctx, method, req, reply, cc, opts...); err != nil {
						return err
					}
					if tt.fromServer {
						c.FailNext("CreateDirectory", 1, tt.second)
					}
					return status.Error(codes.Unavailable, "answer lost")
				default:
					if !tt.fromServer {
						return tt.second
					}
					return invoker(ctx, method, req, reply, cc, opts...)
				}
			}
			f := newFS(t, c, nil,
				WithDialOptions(grpc.WithUnaryInterceptor(icpt)),
				WithRetryPolicy(retry.Policy{BaseSleep: time.Millisecond, MaxSleep: 2 * time.Millisecond, MaxDuration: 5 * time.Second}))
			err := f.CreateDirectory(context.Background(), "/d")
			if ok, _ := f.Exists(context.Background(), "/d"); !ok {
				t.Fatalf("set-up: /d not applied (%v)", err)
			}
			if got := errors.Is(err, ErrIndeterminate); got != tt.indeterminate || !errors.Is(err, tt.want) {
				t.Errorf("err = %v: indeterminate %v, want %v (and wrapping %v)", err, got, tt.indeterminate, tt.want)
			}
		})
	}

	// A verdict when nothing may have applied stays definite.
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	c.FailNext("CreateDirectory", 1, status.Error(codes.Internal, "boom"))
	// Internal sent to a master: the request left, so unknown.
	if err := f.CreateDirectory(context.Background(), "/e"); !errors.Is(err, ErrIndeterminate) {
		t.Errorf("Internal after sending: %v, want ErrIndeterminate", err)
	}
	if err := f.Delete(context.Background(), "/nope"); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrIndeterminate) {
		t.Errorf("delete of a missing path: %v", err)
	}
}

func methodBase(full string) string {
	for i := len(full) - 1; i >= 0; i-- {
		if full[i] == '/' {
			return full[i+1:]
		}
	}
	return full
}
