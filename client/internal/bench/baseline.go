package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// GRPCNoop measures no-op gRPC round trips on loopback: clients (one
// connection each) call grpc.health Check on addr in a closed loop for d.
// addr "" means a server in this process; StartNoopServer runs one in its
// own process, as the master is. It returns ops/s and the latencies.
func GRPCNoop(ctx context.Context, addr string, clients int, d time.Duration) (float64, Latencies, error) {
	r, lat, _, err := GRPCNoopCPU(ctx, addr, 0, clients, d)
	return r, lat, err
}

// GRPCNoopCPU is GRPCNoop that also returns the CPU time per call of this
// process plus the server process serverPID (this process alone if 0, or
// -1 if unknown).
func GRPCNoopCPU(ctx context.Context, addr string, serverPID, clients int, d time.Duration) (float64, Latencies, time.Duration, error) {
	if addr == "" {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, Latencies{}, 0, fmt.Errorf("bench: grpc baseline: %w", err)
		}
		srv := grpc.NewServer(noopServerOptions()...)
		healthpb.RegisterHealthServer(srv, health.NewServer())
		go srv.Serve(lis)
		defer srv.Stop()
		addr = lis.Addr().String()
	}
	conns := make([]healthpb.HealthClient, clients)
	for i := range conns {
		cc, err := grpc.NewClient(addr, dialOptions()...)
		if err != nil {
			return 0, Latencies{}, 0, fmt.Errorf("bench: grpc baseline: %w", err)
		}
		defer cc.Close()
		conns[i] = healthpb.NewHealthClient(cc)
	}
	c0, s0 := selfCPU(), procCPU(serverPID)
	r := closedLoop(ctx, clients, d, func(ctx context.Context, c, _ int) error {
		_, err := conns[c].Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	})
	per := time.Duration(-1)
	if serverPID == 0 && r.Ops > 0 {
		per = (selfCPU() - c0) / time.Duration(r.Ops)
	} else if s1 := procCPU(serverPID); s0 >= 0 && s1 >= 0 && r.Ops > 0 {
		per = (selfCPU() - c0 + s1 - s0) / time.Duration(r.Ops)
	}
	return r.Rate, r.Lat, per, r.Err
}

// ServeNoop serves grpc.health on a free loopback port, writes
// "listening ADDR" to stdout and returns when stdin reaches EOF (the parent
// of `alluxio bench noop-server` closed it) or ctx is done.
func ServeNoop(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bench: noop server: %w", err)
	}
	srv := grpc.NewServer(noopServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	defer srv.Stop()
	fmt.Fprintf(stdout, "listening %s\n", lis.Addr())
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, stdin); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// StartNoopServer runs `exe bench noop-server` and returns its address,
// its pid and a function that stops it.
func StartNoopServer(exe string) (string, int, func(), error) {
	cmd := exec.Command(exe, "bench", "noop-server")
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", 0, nil, fmt.Errorf("bench: noop server: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, fmt.Errorf("bench: noop server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("bench: noop server: %w", err)
	}
	stop := func() {
		in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		stop()
		return "", 0, nil, fmt.Errorf("bench: noop server said %q: %v", line, err)
	}
	return addr, cmd.Process.Pid, stop, nil
}

// TCPLoopback measures single-stream loopback TCP throughput in bytes/s:
// one goroutine writes 1 MiB buffers for d, another reads them.
func TCPLoopback(ctx context.Context, d time.Duration) (float64, error) {
	r, _, err := TCPLoopbackCPU(ctx, d)
	return r, err
}

// TCPLoopbackCPU is TCPLoopback that also returns the CPU time of both
// ends per GiB moved.
func TCPLoopbackCPU(ctx context.Context, d time.Duration) (float64, time.Duration, error) {
	cpu0 := selfCPU()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, fmt.Errorf("bench: tcp baseline: %w", err)
	}
	defer lis.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := lis.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		n, _ := drain(c, make([]byte, 1<<20))
		got <- n
	}()
	c, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		return 0, 0, fmt.Errorf("bench: tcp baseline: %w", err)
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	deadline := start.Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, err := c.Write(buf); err != nil {
			c.Close()
			return 0, 0, fmt.Errorf("bench: tcp baseline: %w", err)
		}
	}
	c.Close()
	n := <-got
	el := time.Since(start)
	if n < 0 {
		return 0, 0, fmt.Errorf("bench: tcp baseline: accept failed")
	}
	var perGiB time.Duration
	if n > 0 {
		perGiB = time.Duration(float64(selfCPU()-cpu0) / float64(n) * (1 << 30))
	}
	return float64(n) / el.Seconds(), perGiB, nil
}

// TmpfsRead measures sequential reads of a size-byte file in dir (a tmpfs
// such as /dev/shm) with 1 MiB reads, best of five passes, in bytes/s.
func TmpfsRead(ctx context.Context, dir string, size int64) (float64, error) {
	r, _, err := TmpfsReadCPU(ctx, dir, size)
	return r, err
}

// TmpfsReadCPU is TmpfsRead that also returns the CPU time per GiB read.
func TmpfsReadCPU(ctx context.Context, dir string, size int64) (float64, time.Duration, error) {
	f, err := os.CreateTemp(dir, "alluxio-bench-tmpfs-")
	if err != nil {
		return 0, 0, fmt.Errorf("bench: tmpfs baseline: %w", err)
	}
	name := f.Name()
	defer os.Remove(name)
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for w := int64(0); w < size; w += int64(len(buf)) {
		if _, err := f.Write(buf[:min(int64(len(buf)), size-w)]); err != nil {
			f.Close()
			return 0, 0, fmt.Errorf("bench: tmpfs baseline: %w", err)
		}
	}
	f.Close()
	best := 0.0
	var cpu time.Duration
	var total int64
	for pass := 0; pass < 5 && ctx.Err() == nil; pass++ {
		r, err := os.Open(name)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: tmpfs baseline: %w", err)
		}
		start, c0 := time.Now(), selfCPU()
		n, err := drain(r, buf)
		el := time.Since(start)
		cpu += selfCPU() - c0
		total += n
		r.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("bench: tmpfs baseline: %w", err)
		}
		best = max(best, float64(n)/el.Seconds())
	}
	var perGiB time.Duration
	if total > 0 {
		perGiB = time.Duration(float64(cpu) / float64(total) * (1 << 30))
	}
	return best, perGiB, nil
}

// FsyncRate measures small appends each followed by fsync in dir (the
// journal folder's file system) for d, in fsyncs per second.
func FsyncRate(ctx context.Context, dir string, d time.Duration) (float64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("bench: fsync baseline: %w", err)
	}
	f, err := os.CreateTemp(dir, ".alluxio-bench-fsync-")
	if err != nil {
		return 0, fmt.Errorf("bench: fsync baseline: %w", err)
	}
	defer os.Remove(filepath.Clean(f.Name()))
	defer f.Close()
	rec := make([]byte, 128)
	n := 0
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		if _, err := f.Write(rec); err != nil {
			return 0, fmt.Errorf("bench: fsync baseline: %w", err)
		}
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("bench: fsync baseline: %w", err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// loopResult is the outcome of a closed loop.
type loopResult struct {
	Ops     int
	Elapsed time.Duration
	Rate    float64
	Lat     Latencies
	Err     error // the first error; the loop stops at it
}

// errDone lets an operation end the loop early (e.g. nothing left to delete).
var errDone = fmt.Errorf("bench: done")

// closedLoop runs op from clients goroutines, each calling it again as soon
// as it returns, for d. op gets the client index and that client's call
// count. The rate is operations over the wall time until the last client
// stopped.
func closedLoop(ctx context.Context, clients int, d time.Duration, op func(ctx context.Context, client, i int) error) loopResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lats := make([][]time.Duration, clients)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			l := make([]time.Duration, 0, 4096)
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				err := op(ctx, c, i)
				if err != nil {
					if err != errDone && ctx.Err() == nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
					}
					cancel()
					break
				}
				l = append(l, time.Since(t0))
			}
			lats[c] = l
		}(c)
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	r := loopResult{Ops: len(all), Elapsed: el, Lat: summarize(all), Err: firstErr}
	if el > 0 {
		r.Rate = float64(r.Ops) / el.Seconds()
	}
	return r
}

// The no-op baseline and the master benchmark use the same gRPC transport
// settings as the client library and the master (static flow-control
// windows: no BDP ping and window update per call; long-lived stream
// workers), so the ratio compares the master's work with gRPC's alone.
const (
	benchStreamWindow = 8 << 20
	benchConnWindow   = 16 << 20
	noopStreamWorkers = 64
)

// dialOptions are the options of every benchmark connection to a master or
// to the no-op server.
func dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStaticStreamWindowSize(benchStreamWindow), grpc.WithStaticConnWindowSize(benchConnWindow),
	}
}

// noopServerOptions are the master's transport settings for the no-op server.
func noopServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.StaticStreamWindowSize(benchStreamWindow), grpc.StaticConnWindowSize(benchConnWindow),
		grpc.NumStreamWorkers(noopStreamWorkers),
	}
}
