package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"strings"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/telemetry"
)

// startFake starts an in-process fake cluster for the examples; real
// programs connect to a running master instead.
func startFake() (*fakecluster.Cluster, *client.FileSystem) {
	c, err := fakecluster.Start(fakecluster.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fsys, err := client.NewFromConfig(context.Background(), nil, client.WithMasterAddress(c.Addr()))
	if err != nil {
		log.Fatal(err)
	}
	return c, fsys
}

func Example() {
	c, fsys := startFake()
	defer c.Close()
	defer fsys.Close()
	ctx := context.Background()

	w, err := fsys.CreateFile(ctx, "/greetings/hello.txt", client.CacheThrough, client.Recursive())
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "hello, alluxio\n")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	r, err := fsys.OpenFile(ctx, "/greetings/hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	fmt.Print(string(b))

	st, _ := fsys.GetStatus(ctx, "/greetings/hello.txt")
	fmt.Println(st.Length, st.PersistenceState, st.InAlluxioPercentage)
	// Output:
	// hello, alluxio
	// 15 PERSISTED 100
}

func ExampleFileSystem_ListStatus() {
	c, fsys := startFake()
	defer c.Close()
	defer fsys.Close()
	ctx := context.Background()

	fsys.CreateDirectory(ctx, "/logs/2024", client.Recursive())
	for _, name := range []string{"/logs/a.log", "/logs/2024/b.log"} {
		w, _ := fsys.CreateFile(ctx, name, client.MustCache)
		io.WriteString(w, name)
		w.Close()
	}
	list, err := fsys.ListStatus(ctx, "/logs", client.Recursive())
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range list {
		fmt.Println(st.Path, st.IsDir, st.Length)
	}
	// Output:
	// /logs/2024 true 0
	// /logs/2024/b.log false 16
	// /logs/a.log false 11
}

func ExampleFileSystem_GetStatus_notFound() {
	c, fsys := startFake()
	defer c.Close()
	defer fsys.Close()

	_, err := fsys.GetStatus(context.Background(), "/missing")
	fmt.Println(errors.Is(err, client.ErrNotFound))
	// Output: true
}

func ExampleFileReader_ReadAt() {
	c, fsys := startFake()
	defer c.Close()
	defer fsys.Close()
	ctx := context.Background()

	// Tiny blocks: the read below spans two of them.
	w, _ := fsys.CreateFile(ctx, "/abc", client.BlockSize(4), client.MustCache)
	io.WriteString(w, "abcdefghij")
	w.Close()

	r, _ := fsys.OpenFile(ctx, "/abc")
	defer r.Close()
	buf := make([]byte, 4)
	r.ReadAt(buf, 2)
	fmt.Println(string(buf), len(r.Status().Blocks))
	// Output: cdef 3
}

func ExampleFileSystem_SetAttribute() {
	c, fsys := startFake()
	defer c.Close()
	defer fsys.Close()
	ctx := context.Background()

	fsys.CreateDirectory(ctx, "/shared")
	err := fsys.SetAttribute(ctx, "/shared", client.SetAttributeOptions{
		Mode:  client.Ptr(uint32(0o770)),
		Group: client.Ptr("staff"),
	})
	if err != nil {
		log.Fatal(err)
	}
	st, _ := fsys.GetStatus(ctx, "/shared")
	fmt.Printf("%v %s\n", st.FileMode(), st.Group)
	// Output: drwxrwx--- staff
}

func ExampleNewIOFS() {
	c, fsys := startFake()
	defer c.Close()
	defer fsys.Close()
	ctx := context.Background()

	for _, p := range []string{"/site/index.html", "/site/css/main.css"} {
		w, _ := fsys.CreateFile(ctx, p, client.Recursive())
		io.WriteString(w, strings.ToUpper(p))
		w.Close()
	}
	fsfs, _ := client.NewIOFS(ctx, fsys, "/site")
	fs.WalkDir(fsfs, ".", func(path string, d fs.DirEntry, err error) error {
		fmt.Println(path, d.IsDir())
		return err
	})
	b, _ := fs.ReadFile(fsfs, "css/main.css")
	fmt.Println(string(b))
	// Output:
	// . true
	// css true
	// css/main.css false
	// index.html false
	// /SITE/CSS/MAIN.CSS
}

// In fault-tolerant mode the client needs only the ZooKeeper ensemble: it
// finds the leader master there, follows failovers, and tells a failed
// mutation from one that may have been applied.
func Example_zooKeeper() {
	cfg, err := conf.FromMap(map[string]string{
		"alluxio.zookeeper.enabled": "true",
		"alluxio.zookeeper.address": "zk1:2181,zk2:2181,zk3:2181",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	fsys, err := client.NewFromConfig(ctx, cfg) // or a path alluxio://zk@zk1:2181,zk2:2181/...
	if err != nil {
		log.Fatal(err)
	}
	defer fsys.Close()
	err = fsys.CreateDirectory(ctx, "/jobs/42", client.Recursive())
	switch {
	case err == nil:
	case errors.Is(err, client.ErrIndeterminate):
		// The master may have created it: look before trying again.
	case errors.Is(err, client.ErrZooKeeperUnreachable):
		// No ZooKeeper server answered.
	default:
		// A definite failure: nothing was applied.
	}
}

// Tracing: spans per call and per RPC attempt, exported as the OTEL_*
// environment says (common/telemetry), with no global provider.
func ExampleWithTracerProvider() {
	ctx := context.Background()
	shutdown, tp, err := telemetry.Setup(ctx, "my-app")
	if err != nil {
		log.Fatal(err)
	}
	defer shutdown(ctx)
	fsys, err := client.New(ctx, client.WithTracerProvider(tp))
	if err != nil {
		log.Fatal(err)
	}
	defer fsys.Close()
}
