package masterclient

import (
	"testing"

	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

func TestMountPropsFor(t *testing.T) {
	mounts := []*alluxiopb.MountPointInfo{
		{AlluxioPath: "/", UfsUri: "hdfs://nn:8020/root", Properties: map[string]string{"who": "root-mount"}},
		{AlluxioPath: "/a", UfsUri: "hdfs://nn:8020/data/alice/", Properties: map[string]string{"who": "alice"}},
		{AlluxioPath: "/b", UfsUri: "hdfs://other:8020/", Properties: map[string]string{"who": "other"}},
		{AlluxioPath: "/l", UfsUri: "/tmp/ufs"},
	}
	for _, c := range []struct {
		path, want string
		found      bool
	}{
		{"hdfs://nn:8020/root/x/y", "root-mount", true},
		{"hdfs://NN:8020/data/alice/f 100%.txt", "alice", true},
		{"hdfs://nn:8020/data/alice", "alice", true},
		{"hdfs://nn:8020/data/alicex/f", "", false}, // not under /data/alice
		{"hdfs://other:8020/anything", "other", true},
		{"hdfs://third:8020/root/x", "", false},
		{"file:///tmp/ufs/f", "", true}, // a mount without properties
		{"s3://nn:8020/root/x", "", false},
	} {
		props, found := mountPropsFor(mounts, c.path)
		if got := props["who"]; got != c.want || found != c.found {
			t.Errorf("mountPropsFor(%q) = %q, %v; want %q, %v", c.path, got, found, c.want, c.found)
		}
	}
}
