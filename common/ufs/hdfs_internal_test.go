package ufs

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	hdfs "github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func writeHadoopConf(t *testing.T, dir, file string, props map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<configuration>\n")
	for k, v := range props {
		b.WriteString("  <property><name>" + k + "</name><value>" + v + "</value></property>\n")
	}
	b.WriteString("</configuration>\n")
	if err := os.WriteFile(filepath.Join(dir, file), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHDFSOptions(t *testing.T) {
	haDir := t.TempDir()
	writeHadoopConf(t, haDir, "core-site.xml", map[string]string{"fs.defaultFS": "hdfs://mycluster"})
	writeHadoopConf(t, haDir, "hdfs-site.xml", map[string]string{
		"dfs.nameservices":                       "mycluster,single,broken",
		"dfs.ha.namenodes.mycluster":             "nn1, nn2",
		"dfs.namenode.rpc-address.mycluster.nn1": "nn1.example:8020",
		"dfs.namenode.rpc-address.mycluster.nn2": "nn2.example:8020",
		"dfs.namenode.rpc-address.single":        "one.example:9000",
		"dfs.ha.namenodes.broken":                "a,b",
		"dfs.namenode.rpc-address.broken.a":      "a.example:8020",
	})
	krbDir := t.TempDir()
	writeHadoopConf(t, krbDir, "core-site.xml", map[string]string{"hadoop.security.authentication": "kerberos"})
	files := filepath.Join(haDir, "core-site.xml") + ":" + filepath.Join(haDir, "hdfs-site.xml")

	tests := []struct {
		name    string
		uri     string
		props   map[string]string
		env     map[string]string
		addrs   []string
		user    string
		wantErr string
	}{
		{name: "host and port", uri: "hdfs://nn:9000/x", addrs: []string{"nn:9000"}},
		{name: "default port", uri: "hdfs://nn/x", addrs: []string{"nn:8020"}},
		{name: "HA nameservice from HADOOP_CONF_DIR", uri: "hdfs://mycluster/x", env: map[string]string{"HADOOP_CONF_DIR": haDir},
			addrs: []string{"nn1.example:8020", "nn2.example:8020"}},
		{name: "HA nameservice from property files", uri: "hdfs://mycluster/x", props: map[string]string{HDFSConfigurationProperty: files},
			addrs: []string{"nn1.example:8020", "nn2.example:8020"}},
		{name: "HA nameservice from property dir", uri: "hdfs://mycluster/x", props: map[string]string{HDFSConfigurationProperty: haDir},
			addrs: []string{"nn1.example:8020", "nn2.example:8020"}},
		{name: "single-NameNode nameservice", uri: "hdfs://single/x", env: map[string]string{"HADOOP_CONF_DIR": haDir}, addrs: []string{"one.example:9000"}},
		{name: "defaultFS", uri: "hdfs:///x", env: map[string]string{"HADOOP_CONF_DIR": haDir}, addrs: []string{"nn1.example:8020", "nn2.example:8020"}},
		{name: "no defaultFS", uri: "hdfs:///x", wantErr: "names no NameNode"},
		{name: "nameservice missing an address", uri: "hdfs://broken/x", env: map[string]string{"HADOOP_CONF_DIR": haDir}, wantErr: "NameNode b has no dfs.namenode.rpc-address.broken.b"},
		{name: "kerberos", uri: "hdfs://nn:9000/", env: map[string]string{"HADOOP_CONF_DIR": krbDir}, wantErr: "Kerberos"},
		{name: "user from property", uri: "hdfs://nn:1/", props: map[string]string{HDFSUserProperty: "alice"}, env: map[string]string{"HADOOP_USER_NAME": "bob"}, addrs: []string{"nn:1"}, user: "alice"},
		{name: "user from HADOOP_USER_NAME", uri: "hdfs://nn:1/", env: map[string]string{"HADOOP_USER_NAME": "bob"}, addrs: []string{"nn:1"}, user: "bob"},
		{name: "bad timeout", uri: "hdfs://nn:1/", props: map[string]string{HDFSRPCTimeoutProperty: "soon"}, wantErr: HDFSRPCTimeoutProperty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			o, err := hdfsOptionsFor(u, tt.props, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.addresses, tt.addrs) {
				t.Errorf("addresses = %q, want %q", o.addresses, tt.addrs)
			}
			if tt.user != "" && o.user != tt.user {
				t.Errorf("user = %q, want %q", o.user, tt.user)
			}
			if o.user == "" {
				t.Error("no user")
			}
		})
	}
}

// TestHDFSNamenodeRPC checks that the calls the library lacks can be made
// through its connection (see hdfs_rpc.go): a library upgrade that changes
// its internals fails here.
func TestHDFSNamenodeRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // a silent NameNode: NewClient only dials and writes
		}
	}()
	c, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{ln.Addr().String()}, User: "test",
		NamenodeDialFunc: timeoutDialer(time.Second, time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := namenodeOf(c); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name   string
		fields map[string]any
	}{
		{"Rename2RequestProto", map[string]any{"src": "/a", "dst": "/b", "overwriteDest": false}},
		{"Rename2ResponseProto", nil},
		{"RecoverLeaseRequestProto", map[string]any{"src": "/a", "clientName": "x"}},
		{"RecoverLeaseResponseProto", nil},
		{"FsyncRequestProto", map[string]any{"src": "/a", "client": "x"}},
		{"CompleteRequestProto", map[string]any{"src": "/a", "clientName": "x", "fileId": uint64(1)}},
		{"CompleteResponseProto", nil},
	} {
		if _, err := hdfsMessage(m.name, m.fields); err != nil {
			t.Error(err)
		}
	}
}

// TestHDFSWriterInternals checks the library internals writeHDFSFile relies
// on to retry addBlock: a library upgrade that changes them fails here.
func TestHDFSWriterInternals(t *testing.T) {
	for _, name := range []string{"AddBlockRequestProto", "AddBlockResponseProto", "LocatedBlockProto", "ExtendedBlockProto"} {
		if _, err := hdfsMessage(name, nil); err != nil {
			t.Fatal(err)
		}
	}
	fw := &hdfs.FileWriter{}
	w, err := fileWriterOf(fw)
	if err != nil {
		t.Fatal(err)
	}
	if !w.bw.IsNil() {
		t.Fatal("a new FileWriter has a block writer")
	}
	resp, err := hdfsMessage("AddBlockResponseProto", nil)
	if err != nil {
		t.Fatal(err)
	}
	rm := resp.ProtoReflect()
	fd := rm.Descriptor().Fields().ByName("block")
	rm.Set(fd, protoreflect.ValueOfMessage(rm.NewField(fd).Message()))
	var dial func(context.Context, string, string) (net.Conn, error)
	if err := installBlock(w, rm, "client-x", reflect.ValueOf(dial)); err != nil {
		t.Fatal(err)
	}
	if w.bw.IsNil() || w.bw.Elem().FieldByName("ClientName").String() != "client-x" {
		t.Fatal("installBlock did not give the writer its block")
	}
}
