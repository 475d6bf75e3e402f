package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"

	"github.com/alluxio-go/alluxio/common/datacodec"
	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// NewGRPCServer returns a gRPC server serving svc, with interceptors that
// recover panics and translate errors with rpcstatus.ToGRPC.
func NewGRPCServer(svc *Service, log *slog.Logger, opts ...grpc.ServerOption) *grpc.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = append(opts,
		grpc.ChainUnaryInterceptor(UnaryInterceptor(log)),
		grpc.ChainStreamInterceptor(StreamInterceptor(log)),
		grpc.MaxRecvMsgSize(MaxChunkSize+(1<<20)),
		grpc.ForceServerCodecV2(datacodec.New()),
	)
	gs := grpc.NewServer(opts...)
	alluxiopb.RegisterBlockWorkerServer(gs, svc)
	return gs
}

// UnaryInterceptor turns panics into Internal errors and handler errors into
// gRPC status errors.
func UnaryInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("worker: panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				resp, err = nil, fmt.Errorf("worker: panic in %s: %v: %w", info.FullMethod, r, rpcstatus.ErrInternal)
			}
			err = rpcstatus.ToGRPC(err)
		}()
		return handler(ctx, req)
	}
}

// StreamInterceptor is UnaryInterceptor for streaming methods.
func StreamInterceptor(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("worker: panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = fmt.Errorf("worker: panic in %s: %v: %w", info.FullMethod, r, rpcstatus.ErrInternal)
			}
			err = rpcstatus.ToGRPC(err)
		}()
		return handler(srv, ss)
	}
}
