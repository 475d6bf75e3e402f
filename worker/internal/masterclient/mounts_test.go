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
	for _, c := range []struct{ path, want string }{
		{"hdfs://nn:8020/root/x/y", "root-mount"},
		{"hdfs://NN:8020/data/alice/f 100%.txt", "alice"},
		{"hdfs://nn:8020/data/alice", "alice"},
		{"hdfs://nn:8020/data/alicex/f", ""}, // not under /data/alice
		{"hdfs://other:8020/anything", "other"},
		{"hdfs://third:8020/root/x", ""},
		{"file:///tmp/ufs/f", ""}, // a mount without properties
		{"s3://nn:8020/root/x", ""},
	} {
		got := mountPropsFor(mounts, c.path)["who"]
		if got != c.want {
			t.Errorf("mountPropsFor(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}
