package daemon

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
	"github.com/alluxio-go/alluxio/worker/internal/server"
)

// fakeMaster is a BlockMasterWorkerService that records what workers send
// and hands out queued commands in heartbeat answers.
type fakeMaster struct {
	alluxiopb.UnimplementedBlockMasterWorkerServiceServer
	mu            sync.Mutex
	nextID        int64
	registrations []*alluxiopb.RegisterWorkerRequest
	commits       []*alluxiopb.CommitBlockRequest
	heartbeats    []*alluxiopb.BlockHeartbeatRequest
	commands      map[int64][]*alluxiopb.Command // by worker id
	lastAddress   *alluxiopb.WorkerNetAddress    // of the last GetWorkerId
	// hang makes heartbeats block until the caller gives up (a partitioned master).
	hang atomic.Bool

	gs   *grpc.Server
	addr string
}

func startFakeMaster(t testing.TB, addr string) *fakeMaster {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lis net.Listener
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		lis, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // the port of a just-stopped master
	}
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMaster{nextID: 100 + rand.Int64N(1000), gs: grpc.NewServer(), addr: lis.Addr().String()}
	alluxiopb.RegisterBlockMasterWorkerServiceServer(m.gs, m)
	go m.gs.Serve(lis)
	t.Cleanup(m.gs.Stop)
	return m
}

func (m *fakeMaster) GetWorkerId(ctx context.Context, req *alluxiopb.GetWorkerIdRequest) (*alluxiopb.GetWorkerIdResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	m.lastAddress = req.GetWorkerAddress()
	return &alluxiopb.GetWorkerIdResponse{WorkerId: m.nextID}, nil
}

func (m *fakeMaster) RegisterWorker(ctx context.Context, req *alluxiopb.RegisterWorkerRequest) (*alluxiopb.RegisterWorkerResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registrations = append(m.registrations, req)
	return &alluxiopb.RegisterWorkerResponse{}, nil
}

func (m *fakeMaster) BlockHeartbeat(ctx context.Context, req *alluxiopb.BlockHeartbeatRequest) (*alluxiopb.BlockHeartbeatResponse, error) {
	if m.hang.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heartbeats = append(m.heartbeats, req)
	cmd := &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_NOTHING}
	if q := m.commands[req.GetWorkerId()]; len(q) > 0 {
		cmd, m.commands[req.GetWorkerId()] = q[0], q[1:]
	}
	return &alluxiopb.BlockHeartbeatResponse{Command: cmd}, nil
}

func (m *fakeMaster) CommitBlock(ctx context.Context, req *alluxiopb.CommitBlockRequest) (*alluxiopb.CommitBlockResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commits = append(m.commits, req)
	return &alluxiopb.CommitBlockResponse{}, nil
}

// send queues a command for the worker with the given id.
func (m *fakeMaster) send(workerID int64, cmd *alluxiopb.Command) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.commands == nil {
		m.commands = map[int64][]*alluxiopb.Command{}
	}
	m.commands[workerID] = append(m.commands[workerID], cmd)
}

func (m *fakeMaster) numRegistrations() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.registrations)
}

func (m *fakeMaster) lastRegistration() *alluxiopb.RegisterWorkerRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.registrations) == 0 {
		return nil
	}
	return m.registrations[len(m.registrations)-1]
}

func (m *fakeMaster) commitFor(id int64) *alluxiopb.CommitBlockRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.commits {
		if c.GetBlockId() == id {
			return c
		}
	}
	return nil
}

// anyHeartbeat reports whether a recorded heartbeat satisfies f.
func (m *fakeMaster) anyHeartbeat(f func(*alluxiopb.BlockHeartbeatRequest) bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.ContainsFunc(m.heartbeats, f)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

type testWorker struct {
	*Worker
	client alluxiopb.BlockWorkerClient
	props  map[string]string
}

func workerProps(t testing.TB, masterAddr string) map[string]string {
	host, port, _ := net.SplitHostPort(masterAddr)
	return map[string]string{
		"alluxio.master.hostname":                      host,
		"alluxio.master.rpc.port":                      port,
		"alluxio.worker.hostname":                      "127.0.0.1",
		"alluxio.worker.bind.host":                     "127.0.0.1",
		"alluxio.worker.rpc.port":                      "0",
		"alluxio.worker.web.port":                      "0",
		"alluxio.worker.block.heartbeat.interval":      "20ms",
		"alluxio.worker.tieredstore.levels":            "1",
		"alluxio.worker.tieredstore.level0.alias":      "MEM",
		"alluxio.worker.tieredstore.level0.dirs.path":  t.TempDir(),
		"alluxio.worker.tieredstore.level0.dirs.quota": "64MB",
	}
}

func startWorker(t testing.TB, props map[string]string) *testWorker {
	t.Helper()
	return startWorkerWith(t, props, Options{})
}

func startWorkerWith(t testing.TB, props map[string]string, opts Options) *testWorker {
	t.Helper()
	c, err := conf.FromMap(props)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Start(c, testLogger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })
	conn, err := grpc.NewClient(w.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &testWorker{Worker: w, client: alluxiopb.NewBlockWorkerClient(conn), props: props}
}

func setup(t *testing.T) (*fakeMaster, *testWorker) {
	t.Helper()
	m := startFakeMaster(t, "")
	w := startWorker(t, workerProps(t, m.addr))
	waitFor(t, "registration", func() bool { return w.Master.Registered() })
	return m, w
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return b
}

func writeBlock(t testing.TB, c alluxiopb.BlockWorkerClient, id int64, data []byte, chunk int) (*alluxiopb.WriteBlockResponse, error) {
	t.Helper()
	stream, err := c.WriteBlock(context.Background())
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Header{Header: &alluxiopb.WriteBlockHeader{BlockId: id}}}); err != nil {
		return nil, err
	}
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if err := stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: data[off:end]}}); err != nil {
			break // the server failed; CloseAndRecv reports why
		}
	}
	return stream.CloseAndRecv()
}

func readBlock(c alluxiopb.BlockWorkerClient, req *alluxiopb.ReadBlockRequest) ([]byte, int, error) {
	stream, err := c.ReadBlock(context.Background(), req)
	if err != nil {
		return nil, 0, err
	}
	var buf bytes.Buffer
	chunks := 0
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return buf.Bytes(), chunks, nil
		}
		if err != nil {
			return buf.Bytes(), chunks, err
		}
		chunks++
		buf.Write(resp.GetChunk())
	}
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: got %v, want code %s", what, err, code)
	}
}

func TestComponentWriteAndRead(t *testing.T) {
	m, w := setup(t)
	data := randBytes(3<<20 + 12345)
	resp, err := writeBlock(t, w.client, 7, data, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetLength() != int64(len(data)) || resp.GetBlockId() != 7 {
		t.Fatalf("response = %v", resp)
	}
	c := m.commitFor(7)
	if c == nil || c.GetLength() != int64(len(data)) || c.GetTierAlias() != "MEM" || c.GetWorkerId() != w.Master.WorkerID() || c.GetUsedBytesOnTier() < int64(len(data)) {
		t.Fatalf("commit at master = %v", c)
	}
	got, chunks, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 7, Length: -1})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("full read: err=%v equal=%v", err, bytes.Equal(got, data))
	}
	if chunks != 4 {
		t.Fatalf("full read in %d chunks, want 4 of ~1MB", chunks)
	}
	for _, r := range []struct{ off, n int64 }{{0, 1}, {100, 2 << 20}, {int64(len(data)) - 10, 10}, {int64(len(data)), 0}} {
		got, _, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 7, Offset: r.off, Length: r.n, ChunkSize: 64 << 10})
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		want := data[r.off:]
		if r.n > 0 {
			want = data[r.off : r.off+r.n]
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("range %v: wrong bytes", r)
		}
	}
	for _, bad := range []struct {
		name string
		req  *alluxiopb.ReadBlockRequest
		code codes.Code
	}{
		{"negative offset", &alluxiopb.ReadBlockRequest{BlockId: 7, Offset: -1}, codes.InvalidArgument},
		{"huge length", &alluxiopb.ReadBlockRequest{BlockId: 7, Length: 1 << 50}, codes.InvalidArgument},
		{"offset past end", &alluxiopb.ReadBlockRequest{BlockId: 7, Offset: int64(len(data)) + 1}, codes.InvalidArgument},
		{"huge chunk", &alluxiopb.ReadBlockRequest{BlockId: 7, ChunkSize: 1 << 40}, codes.InvalidArgument},
		{"absent", &alluxiopb.ReadBlockRequest{BlockId: 8}, codes.NotFound},
		{"huge ufs block", &alluxiopb.ReadBlockRequest{BlockId: 8, Ufs: &alluxiopb.UfsReadOptions{UfsPath: "/x", BlockSize: 1 << 60}}, codes.InvalidArgument},
	} {
		_, _, err := readBlock(w.client, bad.req)
		wantCode(t, bad.name, err, bad.code)
	}
	// A second write of the same block is refused.
	_, err = writeBlock(t, w.client, 7, []byte("x"), 1)
	wantCode(t, "rewrite", err, codes.AlreadyExists)

	st, err := w.client.GetWorkerStatus(context.Background(), &alluxiopb.GetWorkerStatusRequest{})
	if err != nil || st.GetBlockCount() != 1 || st.GetWorkerId() != w.Master.WorkerID() || st.GetMasterAddress() != m.addr || st.GetUsedBytesOnTiers()["MEM"] != int64(len(data)) {
		t.Fatalf("status = %v, %v", st, err)
	}
	// The new block reaches the master's view through the heartbeat too.
	waitFor(t, "heartbeat with block 7", func() bool {
		return m.anyHeartbeat(func(h *alluxiopb.BlockHeartbeatRequest) bool {
			return slices.Contains(h.GetAddedBlocksOnTiers()["MEM"].GetBlockIds(), 7) && h.GetAddedBlockLengths()[7] == int64(len(data))
		})
	})
}

func TestComponentCancelWrite(t *testing.T) {
	_, w := setup(t)
	stream, err := w.client.WriteBlock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Header{Header: &alluxiopb.WriteBlockHeader{BlockId: 1}}})
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: randBytes(1000)}})
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Cancel{Cancel: true}})
	_, err = stream.CloseAndRecv()
	wantCode(t, "canceled write", err, codes.Canceled)
	if w.Store.Has(1) || w.Store.Usage()[0].Used != 0 {
		t.Fatal("canceled block left behind")
	}
	// A client that goes away mid-write leaves nothing either.
	ctx, cancel := context.WithCancel(context.Background())
	stream, _ = w.client.WriteBlock(ctx)
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Header{Header: &alluxiopb.WriteBlockHeader{BlockId: 2}}})
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: randBytes(1000)}})
	waitFor(t, "bytes reserved", func() bool { return w.Store.Usage()[0].Used > 0 })
	cancel()
	waitFor(t, "abort", func() bool { return w.Store.Usage()[0].Used == 0 })
	if w.Store.Has(2) {
		t.Fatal("abandoned block visible")
	}
	// Header must come first.
	stream, _ = w.client.WriteBlock(context.Background())
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: []byte("x")}})
	_, err = stream.CloseAndRecv()
	wantCode(t, "chunk before header", err, codes.InvalidArgument)
}

func TestComponentQuotaFull(t *testing.T) {
	m := startFakeMaster(t, "")
	props := workerProps(t, m.addr)
	props["alluxio.worker.tieredstore.level0.dirs.quota"] = "4MB"
	w := startWorker(t, props)
	_, err := writeBlock(t, w.client, 1, randBytes(5<<20), 1<<20)
	wantCode(t, "oversized block", err, codes.ResourceExhausted)
	if !strings.Contains(err.Error(), "resource exhausted") {
		t.Fatalf("error should say why: %v", err)
	}
	waitFor(t, "space released", func() bool { return w.Store.Usage()[0].Used == 0 })
	if w.Store.Has(1) {
		t.Fatal("partial block visible")
	}
	ents, _ := os.ReadDir(filepath.Join(props["alluxio.worker.tieredstore.level0.dirs.path"], "alluxioworker"))
	if len(ents) != 0 {
		t.Fatalf("block files left: %v", ents)
	}
	data := randBytes(1 << 20)
	if _, err := writeBlock(t, w.client, 2, data, 1<<20); err != nil {
		t.Fatalf("a block that fits: %v", err)
	}
	// A reservation larger than the tier (the client reserves a whole block)
	// does not stop a small block.
	stream, _ := w.client.WriteBlock(context.Background())
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Header{Header: &alluxiopb.WriteBlockHeader{BlockId: 3, SpaceToReserve: 8 << 20}}})
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: data}})
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatalf("small block with an oversized reservation: %v", err)
	}
}

func writeUFSFile(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ufs", "file")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestComponentReadThroughUFS(t *testing.T) {
	m, w := setup(t)
	const bs = 2 << 20
	data := randBytes(bs + bs/2)
	path := writeUFSFile(t, data)
	second := &alluxiopb.UfsReadOptions{UfsPath: path, OffsetInFile: bs, BlockSize: bs / 2}
	// Cached read of a range of the second block.
	got, _, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 1002, Offset: 500, Length: 1000, Cache: true, Ufs: second})
	if err != nil || !bytes.Equal(got, data[bs+500:bs+1500]) {
		t.Fatalf("read through: err=%v", err)
	}
	waitFor(t, "block cached and committed", func() bool { return w.Store.Has(1002) && m.commitFor(1002) != nil })
	if c := m.commitFor(1002); c.GetLength() != bs/2 {
		t.Fatalf("commit = %v", c)
	}
	// Served from the cache now, without UFS options.
	got, _, err = readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 1002, Length: -1})
	if err != nil || !bytes.Equal(got, data[bs:]) {
		t.Fatalf("cached read: err=%v", err)
	}
	// A no-cache read of the first block serves it without storing it.
	got, _, err = readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 1001, Ufs: &alluxiopb.UfsReadOptions{UfsPath: path, BlockSize: bs}})
	if err != nil || !bytes.Equal(got, data[:bs]) {
		t.Fatalf("no-cache read: err=%v", err)
	}
	if w.Store.Has(1001) {
		t.Fatal("no-cache read stored the block")
	}
	// CacheBlock loads it without streaming.
	if _, err := w.client.CacheBlock(context.Background(), &alluxiopb.CacheBlockRequest{BlockId: 1001, Ufs: &alluxiopb.UfsReadOptions{UfsPath: path, BlockSize: bs}}); err != nil {
		t.Fatal(err)
	}
	if meta, ok := w.Store.Get(1001); !ok || meta.Length != bs || m.commitFor(1001) == nil {
		t.Fatal("CacheBlock did not store and commit the block")
	}
	// A UFS file shorter than the block is an error and caches nothing.
	_, _, err = readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 1003, Cache: true, Ufs: &alluxiopb.UfsReadOptions{UfsPath: path, OffsetInFile: bs, BlockSize: bs}})
	wantCode(t, "short UFS file", err, codes.FailedPrecondition)
	waitFor(t, "no temp left", func() bool { return !w.Store.Has(1003) && w.Store.Usage()[0].Used == int64(len(data)) })
	// Missing UFS file.
	_, _, err = readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 1004, Ufs: &alluxiopb.UfsReadOptions{UfsPath: path + ".missing", BlockSize: 10}})
	wantCode(t, "missing UFS file", err, codes.NotFound)
	var metricsText string
	waitFor(t, "metrics", func() bool {
		resp, err := http.Get("http://" + w.WebAddr() + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		metricsText = string(b)
		return resp.StatusCode == 200
	})
	for _, want := range []string{`alluxio_worker_blocks{tier="MEM"} 2`, "alluxio_worker_ufs_reads_total", "alluxio_worker_bytes_read_total", `alluxio_worker_used_bytes{tier="MEM"}`, "alluxio_worker_evictions_total", "alluxio_worker_master_registered 1", "alluxio_worker_registrations_total 1"} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	resp, err := http.Get("http://" + w.WebAddr() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
}

func TestComponentShortCircuit(t *testing.T) {
	m, w := setup(t)
	data := randBytes(5000)
	if _, err := writeBlock(t, w.client, 3, data, 1000); err != nil {
		t.Fatal(err)
	}
	open, err := w.client.OpenLocalBlock(context.Background(), &alluxiopb.OpenLocalBlockRequest{BlockId: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(open.GetPath()); err != nil || !bytes.Equal(got, data) || open.GetLength() != 5000 {
		t.Fatalf("short-circuit file: %v", err)
	}
	// A FREE while locked defers the removal until the lock is released.
	m.send(w.Master.WorkerID(), &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_FREE, BlockIds: []int64{3}})
	waitFor(t, "free applied", func() bool { return !w.Store.Has(3) })
	if _, err := os.Stat(open.GetPath()); err != nil {
		t.Fatal("file removed while locked")
	}
	if _, err := w.client.CloseLocalBlock(context.Background(), &alluxiopb.CloseLocalBlockRequest{BlockId: 3, LockId: open.GetLockId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(open.GetPath()); !os.IsNotExist(err) {
		t.Fatal("file kept after the lock was released")
	}
	_, err = w.client.CloseLocalBlock(context.Background(), &alluxiopb.CloseLocalBlockRequest{BlockId: 3, LockId: open.GetLockId()})
	wantCode(t, "double close", err, codes.NotFound)
	_, err = w.client.OpenLocalBlock(context.Background(), &alluxiopb.OpenLocalBlockRequest{BlockId: 3})
	wantCode(t, "open absent", err, codes.NotFound)
}

func TestComponentRestartRecoversBlocks(t *testing.T) {
	m := startFakeMaster(t, "")
	props := workerProps(t, m.addr)
	w := startWorker(t, props)
	want := map[int64][]byte{}
	for id := int64(1); id <= 3; id++ {
		want[id] = randBytes(int(id) * 1000)
		if _, err := writeBlock(t, w.client, id, want[id], 512); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := m.numRegistrations()
	w2 := startWorker(t, props)
	waitFor(t, "re-registration", func() bool { return m.numRegistrations() > before })
	reg := m.lastRegistration()
	if ids := reg.GetCurrentBlocksOnTiers()["MEM"].GetBlockIds(); !slices.Equal(ids, []int64{1, 2, 3}) {
		t.Fatalf("registered blocks = %v", ids)
	}
	if reg.GetBlockLengths()[2] != 2000 || reg.GetTotalBytesOnTiers()["MEM"] != 64<<20 || reg.GetUsedBytesOnTiers()["MEM"] != 6000 {
		t.Fatalf("registration = %v", reg)
	}
	for id, data := range want {
		got, _, err := readBlock(w2.client, &alluxiopb.ReadBlockRequest{BlockId: id})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("block %d after restart: %v", id, err)
		}
	}
}

func TestComponentRegisterCommand(t *testing.T) {
	m, w := setup(t)
	if _, err := writeBlock(t, w.client, 9, randBytes(100), 100); err != nil {
		t.Fatal(err)
	}
	before := m.numRegistrations()
	m.send(w.Master.WorkerID(), &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_REGISTER})
	waitFor(t, "full re-registration", func() bool { return m.numRegistrations() > before })
	reg := m.lastRegistration()
	if !slices.Contains(reg.GetCurrentBlocksOnTiers()["MEM"].GetBlockIds(), 9) || reg.GetBlockLengths()[9] != 100 {
		t.Fatalf("re-registration lacks block 9: %v", reg)
	}
	if !slices.Equal(reg.GetStorageTiers(), []string{"MEM"}) {
		t.Fatalf("tiers = %v", reg.GetStorageTiers())
	}
}

func TestComponentFreeAndDeleteCommands(t *testing.T) {
	m, w := setup(t)
	for id := int64(1); id <= 3; id++ {
		if _, err := writeBlock(t, w.client, id, randBytes(100), 100); err != nil {
			t.Fatal(err)
		}
	}
	m.send(w.Master.WorkerID(), &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_FREE, BlockIds: []int64{1, 2, 99}})
	m.send(w.Master.WorkerID(), &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_DELETE, BlockIds: []int64{3}})
	waitFor(t, "blocks removed", func() bool { return w.Store.BlockCount() == 0 })
	waitFor(t, "removals reported", func() bool {
		var removed []int64
		m.mu.Lock()
		for _, h := range m.heartbeats {
			removed = append(removed, h.GetRemovedBlockIds()...)
		}
		m.mu.Unlock()
		return slices.Contains(removed, 1) && slices.Contains(removed, 2) && slices.Contains(removed, 3)
	})
	_, _, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 1})
	wantCode(t, "freed block", err, codes.NotFound)
}

func TestComponentPersistCommand(t *testing.T) {
	m, w := setup(t)
	// A second worker (peer) holds the second block.
	peer := startWorker(t, workerProps(t, m.addr))
	waitFor(t, "peer registration", func() bool { return peer.Master.Registered() })
	b1, b2 := randBytes(3000), randBytes(1234)
	if _, err := writeBlock(t, w.client, 11, b1, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := writeBlock(t, peer.client, 12, b2, 1000); err != nil {
		t.Fatal(err)
	}
	_, peerPort, _ := net.SplitHostPort(peer.Addr())
	var port int32
	fmt.Sscan(peerPort, &port)
	peerLoc := &alluxiopb.BlockLocation{WorkerId: peer.Master.WorkerID(), WorkerAddress: &alluxiopb.WorkerNetAddress{Host: "127.0.0.1", RpcPort: port}, TierAlias: "MEM"}
	out := filepath.Join(t.TempDir(), "persisted", "dir", "file")
	m.send(w.Master.WorkerID(), &alluxiopb.Command{CommandType: alluxiopb.CommandType_COMMAND_PERSIST, PersistFiles: []*alluxiopb.PersistFile{
		{FileId: 500, UfsPath: out, Length: 4234, BlockSizeBytes: 3000, Mode: 0o640, Blocks: []*alluxiopb.BlockInfo{
			{BlockId: 11, Length: 3000},
			{BlockId: 12, Length: 1234, Locations: []*alluxiopb.BlockLocation{peerLoc}},
		}},
		{FileId: 501, UfsPath: out + ".lost", Length: 10, Blocks: []*alluxiopb.BlockInfo{{BlockId: 77, Length: 10}}},
	}})
	waitFor(t, "persisted file reported", func() bool {
		return m.anyHeartbeat(func(h *alluxiopb.BlockHeartbeatRequest) bool { return slices.Contains(h.GetPersistedFileIds(), 500) })
	})
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, append(append([]byte{}, b1...), b2...)) {
		t.Fatalf("persisted file: %v", err)
	}
	waitFor(t, "failed persist reported", func() bool {
		return m.anyHeartbeat(func(h *alluxiopb.BlockHeartbeatRequest) bool { return h.GetFailedPersistFiles()[501] != "" })
	})
	if _, err := os.Stat(out + ".lost"); !os.IsNotExist(err) {
		t.Fatal("a failed persist left a file")
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Fatalf("UFS directory holds %d entries, want only the file (no temp files)", len(ents))
	}
}

func TestComponentMasterRestart(t *testing.T) {
	m, w := setup(t)
	data := randBytes(2000)
	if _, err := writeBlock(t, w.client, 5, data, 1000); err != nil {
		t.Fatal(err)
	}
	addr := m.addr
	m.gs.Stop()
	waitFor(t, "worker notices the master is gone", func() bool { return !w.Master.Registered() })
	// Reads keep working while the master is down.
	got, _, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 5})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with the master down: %v", err)
	}
	// A write during the outage waits for the master to come back.
	wrote := make(chan error, 1)
	go func() {
		_, err := writeBlock(t, w.client, 6, data, 1000)
		wrote <- err
	}()
	waitFor(t, "block 6 stored locally", func() bool { return w.Store.Has(6) })
	m2 := startFakeMaster(t, addr)
	waitFor(t, "registration with the new master", func() bool { return m2.numRegistrations() > 0 && w.Master.Registered() })
	if err := <-wrote; err != nil {
		t.Fatalf("write across the master restart: %v", err)
	}
	if m2.commitFor(6) == nil {
		t.Fatal("block 6 not committed at the new master")
	}
	if ids := m2.lastRegistration().GetCurrentBlocksOnTiers()["MEM"].GetBlockIds(); !slices.Equal(ids, []int64{5, 6}) {
		t.Fatalf("new master got blocks %v", ids)
	}
}

func TestComponentWriteUfsFile(t *testing.T) {
	_, w := setup(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b.txt")
	stream, err := w.client.WriteUfsFile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&alluxiopb.WriteUfsFileRequest{Value: &alluxiopb.WriteUfsFileRequest_Header{Header: &alluxiopb.UfsFileHeader{UfsPath: path, Mode: 0o644}}})
	stream.Send(&alluxiopb.WriteUfsFileRequest{Value: &alluxiopb.WriteUfsFileRequest_Chunk{Chunk: []byte("hello ")}})
	stream.Send(&alluxiopb.WriteUfsFileRequest{Value: &alluxiopb.WriteUfsFileRequest_Chunk{Chunk: []byte("world")}})
	resp, err := stream.CloseAndRecv()
	if err != nil || resp.GetLength() != 11 {
		t.Fatalf("WriteUfsFile: %v %v", resp, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "hello world" {
		t.Fatalf("UFS file = %q", b)
	}
	// Canceled: nothing appears.
	stream, _ = w.client.WriteUfsFile(context.Background())
	stream.Send(&alluxiopb.WriteUfsFileRequest{Value: &alluxiopb.WriteUfsFileRequest_Header{Header: &alluxiopb.UfsFileHeader{UfsPath: path + "2"}}})
	stream.Send(&alluxiopb.WriteUfsFileRequest{Value: &alluxiopb.WriteUfsFileRequest_Chunk{Chunk: []byte("x")}})
	stream.Send(&alluxiopb.WriteUfsFileRequest{Value: &alluxiopb.WriteUfsFileRequest_Cancel{Cancel: true}})
	_, err = stream.CloseAndRecv()
	wantCode(t, "canceled UFS write", err, codes.Canceled)
	if _, err := os.Stat(path + "2"); !os.IsNotExist(err) {
		t.Fatal("canceled UFS file visible")
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "a"))
	if len(ents) != 1 {
		t.Fatalf("UFS dir has %d entries, want 1", len(ents))
	}
}

func TestRunCommandLine(t *testing.T) {
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"--version"}, &out, &errb); err != nil || !strings.Contains(out.String(), "alluxio-worker") {
		t.Fatalf("--version: %v %q", err, out.String())
	}
	confDir := t.TempDir()
	err := Run(context.Background(), []string{"--conf-dir", confDir, "-Dalluxio.worker.rpc.port=notaport"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "alluxio.worker.rpc.port") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("bad port: %v", err)
	}
	err = Run(context.Background(), []string{"--conf-dir", confDir, "-D", "alluxio.worker.tieredstore.levels=5"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "levels") {
		t.Fatalf("bad levels: %v", err)
	}
	if err := Run(context.Background(), []string{"--nope"}, &out, &errb); !errors.Is(err, ErrUsage) {
		t.Fatalf("bad flag: %v", err)
	}

	// --format wipes block data.
	tier := t.TempDir()
	os.MkdirAll(filepath.Join(tier, "alluxioworker"), 0o755)
	os.WriteFile(filepath.Join(tier, "alluxioworker", "42"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(confDir, "alluxio-site.properties"), []byte(
		"alluxio.worker.tieredstore.level0.dirs.path="+tier+"\nalluxio.worker.tieredstore.level0.dirs.quota=1MB\n"), 0o644)
	out.Reset()
	if err := Run(context.Background(), []string{"--conf-dir", confDir, "--format"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tier, "alluxioworker", "42")); !os.IsNotExist(err) {
		t.Fatal("--format left block data")
	}

	// Running until the context ends, then stopping cleanly.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	errb.Reset()
	webPort := freePort(t)
	go func() {
		done <- Run(ctx, []string{"--conf-dir", confDir, "-Dalluxio.worker.rpc.port=0", "-Dalluxio.worker.web.port=" + webPort,
			"-Dalluxio.master.hostname=127.0.0.1", "-Dalluxio.master.rpc.port=1", "-Dalluxio.worker.bind.host=127.0.0.1"}, io.Discard, &syncWriter{w: &errb})
	}()
	waitFor(t, "healthz", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + webPort + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

type tLogWriter struct{ t testing.TB }

func (w tLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testLogger logs through t.Log (shown for failing tests and with -v).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// freePort returns a port that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func TestComponentShortCircuitLeaseExpires(t *testing.T) {
	m := startFakeMaster(t, "")
	w := startWorkerWith(t, workerProps(t, m.addr), Options{LockLease: 50 * time.Millisecond, LockJanitorInterval: 10 * time.Millisecond})
	if _, err := writeBlock(t, w.client, 4, randBytes(100), 100); err != nil {
		t.Fatal(err)
	}
	open, err := w.client.OpenLocalBlock(context.Background(), &alluxiopb.OpenLocalBlockRequest{BlockId: 4})
	if err != nil {
		t.Fatal(err)
	}
	// The client "dies" without CloseLocalBlock; the lease runs out.
	waitFor(t, "lease expiry", func() bool { return w.Store.LockCount() == 0 })
	_, err = w.client.CloseLocalBlock(context.Background(), &alluxiopb.CloseLocalBlockRequest{BlockId: 4, LockId: open.GetLockId()})
	wantCode(t, "close after expiry", err, codes.NotFound)
	if err := w.Store.Remove(4); err != nil || w.Store.Has(4) {
		t.Fatalf("block still locked after the lease expired: %v", err)
	}
}

func TestComponentTiersAndPromote(t *testing.T) {
	m := startFakeMaster(t, "")
	props := workerProps(t, m.addr)
	props["alluxio.worker.tieredstore.levels"] = "2"
	props["alluxio.worker.tieredstore.level0.dirs.quota"] = "2MB"
	props["alluxio.worker.tieredstore.level0.watermark.high.ratio"] = "1"
	props["alluxio.worker.tieredstore.level0.watermark.low.ratio"] = "1"
	props["alluxio.worker.tieredstore.level1.alias"] = "SSD"
	props["alluxio.worker.tieredstore.level1.dirs.path"] = t.TempDir() + "," + t.TempDir()
	props["alluxio.worker.tieredstore.level1.dirs.quota"] = "8MB"
	w := startWorker(t, props)
	waitFor(t, "registration", w.Master.Registered)
	if reg := m.lastRegistration(); !slices.Equal(reg.GetStorageTiers(), []string{"MEM", "SSD"}) || reg.GetTotalBytesOnTiers()["SSD"] != 16<<20 {
		t.Fatalf("registration = %v", reg)
	}
	blocks := map[int64][]byte{}
	for id := int64(1); id <= 3; id++ {
		blocks[id] = randBytes(1 << 20)
		if _, err := writeBlock(t, w.client, id, blocks[id], 256<<10); err != nil {
			t.Fatal(err)
		}
	}
	// MEM holds two 1MB blocks: the least recently used one went to SSD.
	if meta, _ := w.Store.Get(1); meta.Tier != "SSD" {
		t.Fatalf("block 1 on %q, want SSD", meta.Tier)
	}
	waitFor(t, "move reported", func() bool {
		return m.anyHeartbeat(func(h *alluxiopb.BlockHeartbeatRequest) bool {
			return slices.Contains(h.GetAddedBlocksOnTiers()["SSD"].GetBlockIds(), 1)
		})
	})
	// CACHE_PROMOTE brings it back (and pushes another one down).
	got, _, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 1, Promote: true})
	if err != nil || !bytes.Equal(got, blocks[1]) {
		t.Fatalf("promoted read: %v", err)
	}
	if meta, _ := w.Store.Get(1); meta.Tier != "MEM" {
		t.Fatalf("block 1 on %q after promote, want MEM", meta.Tier)
	}
	if meta, _ := w.Store.Get(2); meta.Tier != "SSD" {
		t.Fatalf("block 2 on %q, want SSD (LRU)", meta.Tier)
	}
	for id, data := range blocks {
		if got, _, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: id}); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("block %d: %v", id, err)
		}
	}
	// Writing to an explicit tier.
	stream, _ := w.client.WriteBlock(context.Background())
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Header{Header: &alluxiopb.WriteBlockHeader{BlockId: 9, TierAlias: "SSD", SpaceToReserve: 10}}})
	stream.Send(&alluxiopb.WriteBlockRequest{Value: &alluxiopb.WriteBlockRequest_Chunk{Chunk: []byte("0123456789")}})
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	if c := m.commitFor(9); c == nil || c.GetTierAlias() != "SSD" {
		t.Fatalf("commit = %v", c)
	}
}

// The worker serves its data server on alluxio.worker.data.port (0: a free
// port) and advertises the port bound; a block written there is committed
// at the master and readable over gRPC.
func TestComponentDataServer(t *testing.T) {
	m, w := setup(t)
	_, portStr, _ := net.SplitHostPort(w.DataAddr())
	m.mu.Lock()
	addr := m.lastAddress
	m.mu.Unlock()
	if addr.GetDataPort() == 0 || strconv.Itoa(int(addr.GetDataPort())) != portStr {
		t.Fatalf("advertised data port %d, listening on %s", addr.GetDataPort(), w.DataAddr())
	}
	c, err := net.DialTimeout("tcp", w.DataAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	data := randBytes(100 << 10)
	hdr, _ := proto.Marshal(&alluxiopb.WriteBlockHeader{BlockId: 77})
	msg := binary.BigEndian.AppendUint32([]byte{server.DataOpWrite}, uint32(len(hdr)))
	msg = append(msg, hdr...)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(data)))
	msg = append(msg, data...)
	msg = binary.BigEndian.AppendUint32(msg, 0)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	var pre [4]byte
	if _, err := io.ReadFull(c, pre[:]); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint32(pre[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	resp := &alluxiopb.DataResponseHeader{}
	if err := proto.Unmarshal(b, resp); err != nil || resp.GetCode() != 0 || resp.GetLength() != int64(len(data)) {
		t.Fatalf("write answer %v, %v", resp, err)
	}
	waitFor(t, "commit at the master", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, cm := range m.commits {
			if cm.GetBlockId() == 77 {
				return true
			}
		}
		return false
	})
	got, _, err := readBlock(w.client, &alluxiopb.ReadBlockRequest{BlockId: 77})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back over gRPC: %d bytes, %v", len(got), err)
	}
}
