package server

import (
	"context"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// TestRootUFSOptions: alluxio.master.mount.table.root.option.<key> reaches
// every open of the root UFS as <key> (the start-up probe and the mount
// point's opens), and the mount table shows it as the root's properties.
func TestRootUFSOptions(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "ufs")
	if err := os.MkdirAll(filepath.Join(root, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []map[string]string
	reg := ufs.NewRegistry()
	reg.Register("", func(ctx context.Context, u *url.URL, props map[string]string) (ufs.UnderFileSystem, error) {
		mu.Lock()
		seen = append(seen, maps.Clone(props))
		mu.Unlock()
		return ufs.NewLocal(), nil
	})
	c, err := conf.FromMap(map[string]string{
		"alluxio.master.journal.folder":                        filepath.Join(dir, "journal"),
		"alluxio.master.mount.table.root.ufs":                  root,
		"alluxio.master.rpc.port":                              "0",
		"alluxio.master.web.port":                              "0",
		"alluxio.master.bind.host":                             "127.0.0.1",
		conf.RootUFSOptionPrefix + "alluxio.underfs.hdfs.user": "bob",
		conf.RootUFSOptionPrefix + "custom.key":                "v",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(context.Background(), Options{Conf: c, UFS: reg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	conn, err := grpc.NewClient(srv.RPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fs := alluxiopb.NewFileSystemMasterClientServiceClient(conn)
	// /d is only in the UFS: its status loads through the root mount.
	if _, err := fs.GetStatus(context.Background(), &alluxiopb.GetStatusRequest{Path: "/d"}); err != nil {
		t.Fatalf("GetStatus(/d): %v", err)
	}
	want := map[string]string{"alluxio.underfs.hdfs.user": "bob", "custom.key": "v"}
	mu.Lock()
	opens := slices.Clone(seen)
	mu.Unlock()
	if len(opens) < 2 {
		t.Fatalf("the root UFS was opened %d times, want the probe and the mount point's", len(opens))
	}
	for i, p := range opens {
		if !maps.Equal(p, want) {
			t.Errorf("open %d of the root UFS had props %v, want %v", i, p, want)
		}
	}
	mt, err := fs.GetMountTable(context.Background(), &alluxiopb.GetMountTableRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mp := range mt.GetMountPoints() {
		if mp.GetAlluxioPath() == "/" {
			found = true
			if !maps.Equal(mp.GetProperties(), want) {
				t.Errorf("mount table: root properties %v, want %v", mp.GetProperties(), want)
			}
		}
	}
	if !found {
		t.Errorf("mount table %v has no root", mt.GetMountPoints())
	}
}
