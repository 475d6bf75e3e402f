package fsmaster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

func ptr[T any](v T) *T { return &v }

// TestRequestValidation sends out-of-range fields of every request type
// that has them; each must fail with InvalidArgument naming the field, and
// change nothing.
func TestRequestValidation(t *testing.T) {
	f := newFixture(t)
	f.mkdir(t, "/d")
	create := func(r *alluxiopb.CreateFileRequest) func() error {
		return func() error { r.Path = "/d/f"; _, err := f.m.CreateFile(bg, r); return err }
	}
	mkdir := func(r *alluxiopb.CreateDirectoryRequest) func() error {
		return func() error { r.Path = "/d/sub"; _, err := f.m.CreateDirectory(bg, r); return err }
	}
	if _, err := f.m.CreateFile(bg, &alluxiopb.CreateFileRequest{Path: "/d/open"}); err != nil {
		t.Fatal(err)
	}
	complete := func(r *alluxiopb.CompleteFileRequest) func() error {
		return func() error { r.Path = "/d/open"; return f.m.CompleteFile(bg, r) }
	}
	setAttr := func(r *alluxiopb.SetAttributeRequest) func() error {
		return func() error { r.Path = "/d/open"; return f.m.SetAttribute(bg, r) }
	}
	tests := []struct {
		name, field string
		run         func() error
	}{
		{"create/negative block size", "block_size_bytes", create(&alluxiopb.CreateFileRequest{BlockSizeBytes: -1})},
		{"create/huge block size", "block_size_bytes", create(&alluxiopb.CreateFileRequest{BlockSizeBytes: 1 << 62})},
		{"create/block size just over 1TB", "block_size_bytes", create(&alluxiopb.CreateFileRequest{BlockSizeBytes: MaxBlockSize + 1})},
		{"create/mode too big", "mode", create(&alluxiopb.CreateFileRequest{Mode: 0o10000})},
		{"create/negative mode", "mode", create(&alluxiopb.CreateFileRequest{Mode: -1})},
		{"create/unknown write type", "write_type", create(&alluxiopb.CreateFileRequest{WriteType: 99})},
		{"create/negative write type", "write_type", create(&alluxiopb.CreateFileRequest{WriteType: -3})},
		{"create/ttl -5", "ttl", create(&alluxiopb.CreateFileRequest{Ttl: -5})},
		{"create/owner NUL", "owner", create(&alluxiopb.CreateFileRequest{Owner: "a\x00b"})},
		{"create/group NUL", "group", create(&alluxiopb.CreateFileRequest{Group: "g\x00"})},
		{"create/long owner", "owner", create(&alluxiopb.CreateFileRequest{Owner: strings.Repeat("o", maxNameLen+1)})},
		{"mkdir/mode too big", "mode", mkdir(&alluxiopb.CreateDirectoryRequest{Mode: 0o1000000})},
		{"mkdir/negative mode", "mode", mkdir(&alluxiopb.CreateDirectoryRequest{Mode: -1})},
		{"mkdir/unknown write type", "write_type", mkdir(&alluxiopb.CreateDirectoryRequest{WriteType: -3})},
		{"mkdir/owner NUL", "owner", mkdir(&alluxiopb.CreateDirectoryRequest{Owner: "\x00"})},
		{"complete/negative length", "length", complete(&alluxiopb.CompleteFileRequest{Length: -7})},
		{"complete/negative ufs length", "ufs_length", complete(&alluxiopb.CompleteFileRequest{UfsLength: -1})},
		{"setattr/mode too big", "mode", setAttr(&alluxiopb.SetAttributeRequest{Mode: ptr[int32](0o1000000)})},
		{"setattr/negative mode", "mode", setAttr(&alluxiopb.SetAttributeRequest{Mode: ptr[int32](-1)})},
		{"setattr/ttl -9", "ttl", setAttr(&alluxiopb.SetAttributeRequest{Ttl: ptr[int64](-9)})},
		{"setattr/unknown ttl action", "ttl_action", setAttr(&alluxiopb.SetAttributeRequest{Ttl: ptr[int64](1), TtlAction: ptr("EXPLODE")})},
		{"setattr/empty owner", "owner", setAttr(&alluxiopb.SetAttributeRequest{Owner: ptr("")})},
		{"setattr/owner NUL", "owner", setAttr(&alluxiopb.SetAttributeRequest{Owner: ptr("x\x00y")})},
		{"setattr/empty group", "group", setAttr(&alluxiopb.SetAttributeRequest{Group: ptr("")})},
		{"setattr/group NUL", "group", setAttr(&alluxiopb.SetAttributeRequest{Group: ptr("g\x00")})},
		{"mount/empty ufs", "ufs_path", func() error { return f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/m"}) }},
		{"mount/relative ufs", "ufs_path", func() error {
			return f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/m", UfsPath: "relative/dir"})
		}},
		{"mount/opaque ufs", "ufs_path", func() error {
			return f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/m", UfsPath: "file:relative"})
		}},
		{"mount/NUL ufs", "ufs_path", func() error {
			return f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/m", UfsPath: "/tmp/a\x00b"})
		}},
	}
	before := snapshotOf(t, f.m)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, rpcstatus.ErrInvalidArgument) {
				t.Fatalf("got %v, want InvalidArgument", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.field) || strings.Contains(msg, "\n") {
				t.Fatalf("message %q does not name %s on one line", msg, tc.field)
			}
		})
	}
	if d := diffSnapshots(before, snapshotOf(t, f.m)); d != "" {
		t.Fatalf("refused requests changed the namespace: %s", d)
	}
}

// TestRequestValidationAccepts: the edges of every range are accepted.
func TestRequestValidationAccepts(t *testing.T) {
	f := newFixture(t)
	for i, r := range []*alluxiopb.CreateFileRequest{
		{BlockSizeBytes: MaxBlockSize},
		{BlockSizeBytes: 1, Mode: 0o7777, Ttl: -1},
		{WriteType: alluxiopb.WriteType_MUST_CACHE, Ttl: 0, Owner: "alice", Group: "staff"},
		{WriteType: alluxiopb.WriteType_ASYNC_THROUGH, Ttl: 1<<63 - 1},
	} {
		r.Path = fmt.Sprintf("/ok%d", i)
		if _, err := f.m.CreateFile(bg, r); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
	}
	if err := f.m.SetAttribute(bg, &alluxiopb.SetAttributeRequest{Path: "/ok1", Ttl: ptr[int64](-1), Mode: ptr[int32](0), Owner: ptr("bob")}); err != nil {
		t.Fatal(err)
	}
	// A TTL near the int64 limit must not overflow into "expired".
	if done := f.m.CheckTTL(bg); len(done) != 0 {
		t.Fatalf("huge TTL expired at once: %v", done)
	}
}

func TestMountOverlap(t *testing.T) {
	f := newFixture(t)
	other := filepath.Join(t.TempDir(), "other")
	for _, d := range []string{filepath.Join(f.ufs, "inside"), filepath.Join(other, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/m", UfsPath: other}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ufs string
		want      error
	}{
		{"inside the root UFS", filepath.Join(f.ufs, "inside"), rpcstatus.ErrInvalidArgument},
		{"the root UFS itself", f.ufs, rpcstatus.ErrAlreadyExists},
		{"holds the root UFS", filepath.Dir(f.ufs), rpcstatus.ErrInvalidArgument},
		{"inside another mount", filepath.Join(other, "sub"), rpcstatus.ErrInvalidArgument},
		{"another mount as file URI", "file://" + other + "/", rpcstatus.ErrAlreadyExists},
		{"holds another mount", filepath.Dir(other), rpcstatus.ErrInvalidArgument},
		{"inside, through ..", filepath.Join(other, "sub") + "/../sub", rpcstatus.ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/n", UfsPath: tc.ufs})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A sibling whose name extends the mount's is no overlap.
	sibling := other + "-2"
	if err := os.Mkdir(sibling, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Mount(bg, &alluxiopb.MountRequest{AlluxioPath: "/n", UfsPath: sibling}); err != nil {
		t.Fatalf("sibling mount: %v", err)
	}
}

func TestUFSLocationOverlaps(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"/a/b", "/a/b/", true},
		{"/a/b", "file:///a/b/c", true},
		{"/a/b", "/a/bc", false},
		{"hdfs://nn:9000/x", "hdfs://NN:9000/x/y", true},
		{"hdfs://nn:9000/x", "hdfs://nn2:9000/x", false},
		{"hdfs://nn:9000/x", "/x", false},
		{"hdfs://nn:9000", "hdfs://nn:9000/anything", true},
		{"/", "/anything", true},
	}
	for _, tc := range tests {
		a, err := parseUFS(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := parseUFS(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.overlaps(b); got != tc.want {
			t.Errorf("%s overlaps %s = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
