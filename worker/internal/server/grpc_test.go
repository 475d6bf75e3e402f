package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
)

func TestUnaryInterceptor(t *testing.T) {
	ic := UnaryInterceptor(slog.New(slog.DiscardHandler))
	info := &grpc.UnaryServerInfo{FullMethod: "/alluxio.BlockWorker/X"}
	for _, tc := range []struct {
		name    string
		handler grpc.UnaryHandler
		code    codes.Code
	}{
		{"panic", func(context.Context, any) (any, error) { panic("boom") }, codes.Internal},
		{"not found", func(context.Context, any) (any, error) {
			return nil, fmt.Errorf("block 3: %w", rpcstatus.ErrNotFound)
		}, codes.NotFound},
		{"plain error", func(context.Context, any) (any, error) { return nil, errors.New("disk on fire") }, codes.Internal},
		{"ok", func(context.Context, any) (any, error) { return 1, nil }, codes.OK},
	} {
		_, err := ic(context.Background(), nil, info, tc.handler)
		if status.Code(err) != tc.code {
			t.Errorf("%s: code %v (%v), want %v", tc.name, status.Code(err), err, tc.code)
		}
	}
}

func TestStreamInterceptorRecovers(t *testing.T) {
	ic := StreamInterceptor(slog.New(slog.DiscardHandler))
	err := ic(nil, nil, &grpc.StreamServerInfo{FullMethod: "/alluxio.BlockWorker/ReadBlock"}, func(any, grpc.ServerStream) error { panic("boom") })
	if status.Code(err) != codes.Internal {
		t.Fatalf("got %v", err)
	}
}

func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		off, n, blockLen int64
		start, end       int64
		ok               bool
	}{
		{0, -1, 10, 0, 10, true},
		{0, 0, 10, 0, 10, true},
		{3, 4, 10, 3, 7, true},
		{10, 0, 10, 10, 10, true},
		{-1, 1, 10, 0, 0, false},
		{0, 11, 10, 0, 0, false},
		{11, 0, 10, 0, 0, false},
		{0, -2, 10, 0, 0, false},
		{5, 1 << 62, 10, 0, 0, false},
	} {
		s, e, err := span(tc.off, tc.n, tc.blockLen)
		if (err == nil) != tc.ok || (tc.ok && (s != tc.start || e != tc.end)) {
			t.Errorf("span(%d,%d,%d) = %d,%d,%v", tc.off, tc.n, tc.blockLen, s, e, err)
		}
		if err != nil && !errors.Is(err, rpcstatus.ErrInvalidArgument) {
			t.Errorf("span error %v is not invalid argument", err)
		}
	}
}
