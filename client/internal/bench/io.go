package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/common/conf"
)

// IOOptions configure the I/O benchmark.
type IOOptions struct {
	// Conf is the client configuration (master address, block size...).
	Conf *conf.Config
	// ClientOptions are added to every FileSystem (tests).
	ClientOptions []client.Option
	// Size is the size of each file; 0 means 256 MiB.
	Size int64
	// Clients are the concurrency levels; nil means 1 and 4.
	Clients []int
	// Base is the Alluxio directory; "" means /alluxio-bench/io-<time>.
	Base string
	// UFSDir, when set, is the local directory of the root UFS: before a
	// cold read the benchmark drops its files from the page cache
	// (fadvise DONTNEED) so cold reads come from the disk.
	UFSDir string
	// WorkerPID, when known, adds the worker's CPU time to each result.
	WorkerPID int
	Logf      func(format string, args ...any)
}

// IO cases.
const (
	IOWriteRemote   = "write remote (MUST_CACHE)"
	IOWriteThrough  = "write THROUGH (UFS via worker)"
	IOReadCold      = "read cold (UFS via worker, caching)"
	IOReadWarm      = "read warm remote"
	IOReadShortCirc = "read warm short-circuit"
)

// IOResult is one I/O case at one concurrency.
type IOResult struct {
	Case    string
	Clients int
	Bytes   int64
	Elapsed time.Duration
	Rate    float64 // bytes per second, all clients together
	// CPU is this process's CPU time plus the worker's (when WorkerPID is
	// known, else -1) during the case: CPU per byte does not depend on how
	// much of the machine others use.
	CPU time.Duration
}

// RunIO writes and reads files of Size with each concurrency: MUST_CACHE
// writes (remote), THROUGH writes, cold reads of the THROUGH files (from the
// UFS, caching them), warm remote reads with short-circuit disabled, and
// warm short-circuit reads.
func RunIO(ctx context.Context, o IOOptions) ([]IOResult, error) {
	if o.Size <= 0 {
		o.Size = 256 << 20
	}
	if len(o.Clients) == 0 {
		o.Clients = []int{1, 4}
	}
	if o.Base == "" {
		o.Base = fmt.Sprintf("/alluxio-bench/io-%d", time.Now().UnixNano())
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	remoteCfg, err := o.Conf.With("alluxio.user.short.circuit.enabled", "false")
	if err != nil {
		return nil, err
	}
	scCfg, err := o.Conf.With("alluxio.user.short.circuit.enabled", "true")
	if err != nil {
		return nil, err
	}
	remote, err := client.NewFromConfig(ctx, remoteCfg, o.ClientOptions...)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer remote.Close()
	sc, err := client.NewFromConfig(ctx, scCfg, o.ClientOptions...)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer sc.Close()
	if err := remote.CreateDirectory(ctx, o.Base, client.Recursive(), client.AllowExists(), client.CacheThrough); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer remote.Delete(context.WithoutCancel(ctx), o.Base, client.Recursive())

	var out []IOResult
	cpuNow := func() time.Duration {
		w := procCPU(o.WorkerPID)
		if w < 0 {
			return -1
		}
		return selfCPU() + w
	}
	cpu0 := cpuNow()
	add := func(name string, n int, el time.Duration) {
		r := IOResult{Case: name, Clients: n, Bytes: int64(n) * o.Size, Elapsed: el, CPU: -1}
		if c := cpuNow(); c >= 0 && cpu0 >= 0 {
			r.CPU = c - cpu0
		}
		r.Rate = float64(r.Bytes) / el.Seconds()
		o.Logf("io %-42s clients=%d %s", name, n, fmtBytesRate(r.Rate))
		out = append(out, r)
	}
	for _, n := range o.Clients {
		paths := make([]string, n)
		for i := range paths {
			paths[i] = fmt.Sprintf("%s/c%d-%d", o.Base, n, i)
		}
		el, err := each(ctx, paths, func(ctx context.Context, p string) error {
			return writeFile(ctx, remote, p+".cache", o.Size, client.MustCache)
		})
		if err != nil {
			return out, err
		}
		add(IOWriteRemote, n, el)
		for _, p := range paths {
			if err := remote.Delete(ctx, p+".cache"); err != nil {
				return out, fmt.Errorf("bench: %w", err)
			}
		}
		cpu0 = cpuNow()
		el, err = each(ctx, paths, func(ctx context.Context, p string) error { return writeFile(ctx, remote, p, o.Size, client.Through) })
		if err != nil {
			return out, err
		}
		add(IOWriteThrough, n, el)
		if o.UFSDir != "" {
			dropPageCache(o.UFSDir)
		}
		for _, c := range []struct {
			name string
			fs   *client.FileSystem
		}{{IOReadCold, remote}, {IOReadWarm, remote}, {IOReadShortCirc, sc}} {
			cpu0 = cpuNow()
			el, err := each(ctx, paths, func(ctx context.Context, p string) error { return readFile(ctx, c.fs, p, o.Size) })
			if err != nil {
				return out, err
			}
			add(c.name, n, el)
		}
		for _, p := range paths {
			if err := remote.Delete(ctx, p); err != nil {
				return out, fmt.Errorf("bench: %w", err)
			}
		}
	}
	return out, nil
}

// each runs f on every path concurrently and returns the wall time.
func each(ctx context.Context, paths []string, f func(ctx context.Context, p string) error) (time.Duration, error) {
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	start := time.Now()
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(ctx, p)
		}()
	}
	wg.Wait()
	el := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, fmt.Errorf("bench: %w", err)
		}
	}
	return el, nil
}

func writeFile(ctx context.Context, fs *client.FileSystem, p string, size int64, wt client.WriteType) error {
	w, err := fs.CreateFile(ctx, p, wt)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i*31 + 7)
	}
	for n := int64(0); n < size; {
		k := min(int64(len(buf)), size-n)
		if _, err := w.Write(buf[:k]); err != nil {
			w.Close()
			return err
		}
		n += k
	}
	return w.Close()
}

func readFile(ctx context.Context, fs *client.FileSystem, p string, size int64) error {
	r, err := fs.OpenFile(ctx, p)
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := drain(r, make([]byte, 1<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	if n != size {
		return fmt.Errorf("read %s: %d bytes, want %d", p, n, size)
	}
	return nil
}

// drain reads r to EOF with buf (io.Discard's ReadFrom would use 8 KiB reads).
func drain(r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// dropPageCache asks the kernel to forget the cached pages of every file
// under dir; errors are ignored (the cold read is then warmer than cold).
func dropPageCache(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if f, err := os.Open(p); err == nil {
			_ = f.Sync()
			fadviseDontNeed(f)
			f.Close()
		}
		return nil
	})
}
