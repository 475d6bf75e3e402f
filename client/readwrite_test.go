package client

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/alluxio-go/alluxio/client/internal/fakecluster"
)

func TestWriteTypes(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	data := randomBytes(3*testBlock+testBlock/2, 1)
	for _, tc := range []struct {
		wt        WriteType
		cached    int  // blocks cached after the write
		ufsAtOnce bool // in the UFS when Close returns
		ufsLater  bool // in the UFS eventually
	}{
		{MustCache, 4, false, false},
		{CacheThrough, 4, true, true},
		{Through, 0, true, true},
		{AsyncThrough, 4, false, true},
	} {
		t.Run(tc.wt.String(), func(t *testing.T) {
			p := "/wt/" + tc.wt.String()
			writeFile(t, f, p, data, tc.wt, Recursive())
			if got := len(c.CachedBlocks(p)); got != tc.cached {
				t.Errorf("cached blocks = %d, want %d", got, tc.cached)
			}
			_, inUfs := c.UFSFile(c.UFSPath(p))
			if tc.wt != AsyncThrough && inUfs != tc.ufsAtOnce {
				t.Errorf("in UFS at close = %v, want %v", inUfs, tc.ufsAtOnce)
			}
			if tc.ufsLater {
				poll(t, "persistence", func() bool { return c.Persisted(p) })
				got, _ := c.UFSFile(c.UFSPath(p))
				mustEqual(t, "UFS contents", got, data)
			}
			st, err := f.GetStatus(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Length != int64(len(data)) || !st.Completed || st.BlockSize != testBlock {
				t.Errorf("status: length %d completed %v block size %d", st.Length, st.Completed, st.BlockSize)
			}
			mustEqual(t, "read back", readFile(t, f, p), data)
		})
	}
}

func TestWriteUsesChunksAndReservesBlock(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	writeFile(t, f, "/a", randomBytes(2*testBlock+5, 2), MustCache)
	s := c.Workers()[0].Stats()
	if s.WriteBlocks != 3 {
		t.Errorf("committed blocks = %d, want 3", s.WriteBlocks)
	}
	if s.LastChunkSize > testChunk {
		t.Errorf("largest chunk %d > %d", s.LastChunkSize, testChunk)
	}
	if s.SpaceReserved != testBlock {
		t.Errorf("space reserved %d, want %d", s.SpaceReserved, testBlock)
	}
}

func TestDefaultWriteTypeFromConfig(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, map[string]string{"alluxio.user.file.writetype.default": "THROUGH"})
	writeFile(t, f, "/t", []byte("through"))
	if len(c.CachedBlocks("/t")) != 0 {
		t.Error("THROUGH default cached blocks")
	}
	if got, ok := c.UFSFile(c.UFSPath("/t")); !ok || string(got) != "through" {
		t.Errorf("UFS has %q, %v", got, ok)
	}
}

func TestEmptyFile(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	for _, wt := range []WriteType{MustCache, CacheThrough, Through} {
		p := "/empty-" + wt.String()
		writeFile(t, f, p, nil, wt)
		if got := readFile(t, f, p); len(got) != 0 {
			t.Errorf("%s: read %d bytes", p, len(got))
		}
	}
}

func TestSeekAndReadAtBlockBoundaries(t *testing.T) {
	for _, sc := range []string{"true", "false"} {
		t.Run("shortCircuit="+sc, func(t *testing.T) {
			c := startCluster(t, fakecluster.Options{})
			f := newFS(t, c, map[string]string{"alluxio.user.short.circuit.enabled": sc})
			data := randomBytes(3*testBlock+100, 3)
			writeFile(t, f, "/f", data, MustCache)
			r, err := f.OpenFile(context.Background(), "/f")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cases := []struct{ off, n int }{
				{0, 10}, {testBlock - 1, 2}, {testBlock, testBlock}, {testBlock - 5, testBlock + 10},
				{2*testBlock + 7, testBlock + 93}, {len(data) - 1, 1}, {100, 3*testBlock - 200}, {0, len(data)},
			}
			for _, tc := range cases {
				buf := make([]byte, tc.n)
				n, err := r.ReadAt(buf, int64(tc.off))
				if err != nil || n != tc.n {
					t.Fatalf("ReadAt(%d, %d) = %d, %v", tc.off, tc.n, n, err)
				}
				mustEqual(t, "ReadAt", buf, data[tc.off:tc.off+tc.n])

				if _, err := r.Seek(int64(tc.off), io.SeekStart); err != nil {
					t.Fatal(err)
				}
				buf2 := make([]byte, tc.n)
				if _, err := io.ReadFull(r, buf2); err != nil {
					t.Fatalf("Read after Seek(%d): %v", tc.off, err)
				}
				mustEqual(t, "Seek+Read", buf2, data[tc.off:tc.off+tc.n])
			}
			// Past the end.
			buf := make([]byte, 10)
			n, err := r.ReadAt(buf, int64(len(data)-4))
			if n != 4 || err != io.EOF {
				t.Errorf("ReadAt at end = %d, %v; want 4, EOF", n, err)
			}
			if pos, _ := r.Seek(-3, io.SeekEnd); pos != int64(len(data)-3) {
				t.Errorf("Seek from end = %d", pos)
			}
			rest, err := io.ReadAll(r)
			if err != nil || len(rest) != 3 {
				t.Errorf("tail read = %d, %v", len(rest), err)
			}
			if _, err := r.Seek(-1, io.SeekStart); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("negative seek: %v", err)
			}
			if n, err := r.Read(buf); n != 0 || err != io.EOF {
				t.Errorf("Read at EOF = %d, %v", n, err)
			}
			s := c.Workers()[0].Stats()
			if sc == "true" && (s.LocalOpens == 0 || s.ReadBlocks != 0) {
				t.Errorf("short-circuit: %+v", s)
			}
			if sc == "false" && (s.LocalOpens != 0 || s.ReadBlocks == 0) {
				t.Errorf("streaming: %+v", s)
			}
			r.Close()
			if n := c.Workers()[0].OpenLocks(); n != 0 {
				t.Errorf("%d local block locks left", n)
			}
		})
	}
}

func TestReadTypesFromUFS(t *testing.T) {
	for _, tc := range []struct {
		rt      ReadType
		cached  bool
		promote bool
	}{
		{NoCache, false, false},
		{Cache, true, false},
		{CachePromote, true, true},
	} {
		t.Run(tc.rt.String(), func(t *testing.T) {
			c := startCluster(t, fakecluster.Options{})
			f := newFS(t, c, nil)
			data := randomBytes(2*testBlock+1, 4)
			writeFile(t, f, "/u", data, CacheThrough)
			if err := f.Free(context.Background(), "/u"); err != nil {
				t.Fatal(err)
			}
			if n := len(c.CachedBlocks("/u")); n != 0 {
				t.Fatalf("%d blocks cached after free", n)
			}
			mustEqual(t, "read from UFS", readFile(t, f, "/u", tc.rt), data)
			s := c.Workers()[0].Stats()
			if s.UfsReads != 3 {
				t.Errorf("UFS reads = %d, want 3", s.UfsReads)
			}
			if got := len(c.CachedBlocks("/u")) == 3; got != tc.cached {
				t.Errorf("cached after read = %v, want %v", got, tc.cached)
			}
			if (s.Promotes > 0) != tc.promote {
				t.Errorf("promotes = %d", s.Promotes)
			}
			st, _ := f.GetStatus(context.Background(), "/u")
			if want := map[bool]int{true: 100, false: 0}[tc.cached]; st.InAlluxioPercentage != want {
				t.Errorf("in Alluxio %d%%, want %d%%", st.InAlluxioPercentage, want)
			}
		})
	}
}

func TestDefaultReadTypeFromConfig(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, map[string]string{"alluxio.user.file.readtype.default": "NO_CACHE"})
	writeFile(t, f, "/u", []byte("hello"), Through)
	readFile(t, f, "/u")
	if len(c.CachedBlocks("/u")) != 0 {
		t.Error("NO_CACHE default cached the block")
	}
}

// remoteOnly makes every worker look remote, so reads stream.
func remoteOnly(f *FileSystem) { f.isLocal = func(string) bool { return false } }

func TestStaleLocationFallsBackToUFS(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Workers: 2})
	f := newFS(t, c, nil)
	remoteOnly(f)
	data := randomBytes(testBlock+10, 5)
	writeFile(t, f, "/s", data, CacheThrough)
	// Stop the worker holding the blocks; the master still lists it.
	var holder, other *fakecluster.Worker
	for _, w := range c.Workers() {
		if w.BlockCount() > 0 {
			holder = w
		} else {
			other = w
		}
	}
	if holder == nil || other == nil {
		t.Fatal("expected the blocks on exactly one worker")
	}
	holder.Stop()
	mustEqual(t, "read after worker loss", readFile(t, f, "/s"), data)
	if s := other.Stats(); s.UfsReads == 0 {
		t.Errorf("other worker did not read the UFS: %+v", s)
	}
}

func TestUnpersistedBlockOnDeadWorkerFails(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Workers: 1})
	f := newFS(t, c, nil)
	writeFile(t, f, "/m", []byte("only cached"), MustCache)
	c.Workers()[0].Stop()
	r, err := f.OpenFile(context.Background(), "/m")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("read of a lost, unpersisted block succeeded")
	}
}

func TestPickLocalWorker(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Workers: 3, WorkerHosts: []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}})
	f := newFS(t, c, nil)
	f.isLocal = func(host string) bool { return host == "127.0.0.3" }
	for i := 0; i < 10; i++ {
		a, err := f.pickWorker(context.Background(), testBlock)
		if err != nil {
			t.Fatal(err)
		}
		if a.Host != "127.0.0.3" {
			t.Fatalf("picked %s, not the local worker", a)
		}
	}
	writeFile(t, f, "/local", randomBytes(testBlock, 8), MustCache)
	if c.Workers()[2].BlockCount() != 1 {
		t.Error("block not written to the local worker")
	}

	// No local worker: random among the live ones with room.
	f.isLocal = func(string) bool { return false }
	seen := map[string]bool{}
	for i := 0; i < 60; i++ {
		a, err := f.pickWorker(context.Background(), testBlock)
		if err != nil {
			t.Fatal(err)
		}
		seen[a.String()] = true
	}
	if len(seen) != 3 {
		t.Errorf("random choice saw %d workers", len(seen))
	}
	c.Workers()[0].Stop()
	for i := 0; i < 20; i++ {
		a, err := f.pickWorker(context.Background(), testBlock)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() == c.Workers()[0].Addr() {
			t.Fatal("picked a lost worker")
		}
	}
}

func TestPickWorkerByFreeSpace(t *testing.T) {
	c := startCluster(t, fakecluster.Options{Workers: 2, WorkerCapacity: 3 * testBlock})
	f := newFS(t, c, nil)
	remoteOnly(f)
	// Fill worker 0 completely by writing to it as the "local" worker.
	f.isLocal = func(host string) bool { return true }
	writeFile(t, f, "/fill0", randomBytes(3*testBlock, 11), MustCache)
	remoteOnly(f)
	full := ""
	for _, w := range c.Workers() {
		if w.BlockCount() == 3 {
			full = w.Addr()
		}
	}
	for i := 0; i < 20; i++ {
		a, err := f.pickWorker(context.Background(), testBlock)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() == full {
			t.Fatal("picked the full worker")
		}
	}
	// A block bigger than any free space still goes to a worker with some.
	if _, err := f.pickWorker(context.Background(), 10*testBlock); err != nil {
		t.Errorf("big block: %v", err)
	}
	writeFile(t, f, "/fill1", randomBytes(3*testBlock, 12), MustCache)
	if _, err := f.pickWorker(context.Background(), testBlock); !errors.Is(err, ErrResourceExhausted) {
		t.Errorf("all full: %v", err)
	}
}

func TestWriteBeyondCapacityFailsAndCleansUp(t *testing.T) {
	c := startCluster(t, fakecluster.Options{WorkerCapacity: testBlock + testBlock/2})
	f := newFS(t, c, nil)
	w, err := f.CreateFile(context.Background(), "/big", MustCache)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := w.Write(randomBytes(3*testBlock, 13))
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("writing more than the worker holds succeeded")
	}
	if err := cerr; !errors.Is(err, ErrResourceExhausted) {
		t.Errorf("close error = %v, want ErrResourceExhausted", err)
	}
	if ok, _ := f.Exists(context.Background(), "/big"); ok {
		t.Error("failed file left behind")
	}
	// A small file still fits.
	writeFile(t, f, "/small", []byte("fits"), MustCache)
}

func TestCancel(t *testing.T) {
	for _, wt := range []WriteType{MustCache, CacheThrough, Through} {
		t.Run(wt.String(), func(t *testing.T) {
			c := startCluster(t, fakecluster.Options{})
			f := newFS(t, c, nil)
			w, err := f.CreateFile(context.Background(), "/c", wt)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(randomBytes(testBlock+testChunk+3, 6)); err != nil {
				t.Fatal(err)
			}
			if err := w.Cancel(); err != nil {
				t.Fatal(err)
			}
			if ok, err := f.Exists(context.Background(), "/c"); ok || err != nil {
				t.Errorf("exists after cancel = %v, %v", ok, err)
			}
			if _, ok := c.UFSFile(c.UFSPath("/c")); ok {
				t.Error("UFS file left after cancel")
			}
			if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Errorf("write after cancel: %v", err)
			}
			if wt != Through && c.Workers()[0].Stats().CanceledWrites == 0 {
				t.Error("worker saw no canceled stream")
			}
		})
	}
}

func TestCreateExistingFails(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	writeFile(t, f, "/e", []byte("1"))
	if _, err := f.CreateFile(context.Background(), "/e"); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("create existing: %v", err)
	}
	writeFile(t, f, "/e", []byte("22"), Overwrite())
	if got := readFile(t, f, "/e"); string(got) != "22" {
		t.Errorf("after overwrite: %q", got)
	}
	if _, err := f.CreateFile(context.Background(), "/no/parent"); !errors.Is(err, ErrNotFound) {
		t.Errorf("create without parent: %v", err)
	}
	if _, err := f.OpenFile(context.Background(), "/"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("open a directory: %v", err)
	}
}

func TestReaderConcurrentReadAt(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	data := randomBytes(4*testBlock, 7)
	writeFile(t, f, "/p", data, MustCache)
	r, err := f.OpenFile(context.Background(), "/p")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	errc := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			off := g * testBlock / 4
			buf := make([]byte, testBlock)
			_, err := r.ReadAt(buf, int64(off))
			if err == nil && string(buf) != string(data[off:off+testBlock]) {
				err = errors.New("mismatch")
			}
			errc <- err
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadRetriesAfterWorkerError(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	remoteOnly(f)
	data := randomBytes(2*testBlock+3, 14)
	writeFile(t, f, "/r", data, MustCache)
	// The only location fails once: the reader re-fetches the status and
	// tries again.
	c.FailNext("ReadBlock", 1, status.Error(codes.Unavailable, "worker hiccup"))
	mustEqual(t, "read", readFile(t, f, "/r"), data)
	r, err := f.OpenFile(context.Background(), "/r")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.FailNext("ReadBlock", 1, status.Error(codes.Unavailable, "worker hiccup"))
	buf := make([]byte, 100)
	if _, err := r.ReadAt(buf, testBlock-50); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "ReadAt", buf, data[testBlock-50:testBlock+50])
}

func TestContextEndsReader(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	remoteOnly(f)
	writeFile(t, f, "/ctx", randomBytes(3*testBlock, 15), MustCache)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := f.OpenFile(ctx, "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 10)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v", err)
	}
}

func TestContextCancelDuringWriteCleansUp(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := f.CreateFile(ctx, "/cw", CacheThrough)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(randomBytes(testBlock/2, 16))
	cancel()
	w.Write(randomBytes(testBlock, 17))
	if err := w.Close(); err == nil {
		t.Fatal("close after cancel succeeded")
	}
	poll(t, "cleanup", func() bool { ok, _ := f.Exists(context.Background(), "/cw"); return !ok })
}

func TestShortCircuitFallsBackToStreaming(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	data := randomBytes(testBlock+1, 18)
	writeFile(t, f, "/sc", data, MustCache)
	c.FailNext("OpenLocalBlock", 2, status.Error(codes.Unavailable, "no local access"))
	mustEqual(t, "read", readFile(t, f, "/sc"), data)
	s := c.Workers()[0].Stats()
	if s.ReadBlocks != 2 {
		t.Errorf("streamed %d blocks, want 2 after short-circuit failures", s.ReadBlocks)
	}
}

func TestCancelUnblocksConcurrentWrite(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	w, err := f.CreateFile(context.Background(), "/stuck", MustCache)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		// Writes until the cancel ends the streams.
		chunk := randomBytes(testChunk, 19)
		for {
			if _, err := w.Write(chunk); err != nil {
				done <- err
				return
			}
		}
	}()
	poll(t, "some blocks written", func() bool { return c.Workers()[0].Stats().WriteBlocks > 2 })
	if err := w.Cancel(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("write after cancel succeeded")
	}
	if ok, _ := f.Exists(context.Background(), "/stuck"); ok {
		t.Error("file exists after cancel")
	}
}

func TestCloseUnblocksConcurrentRead(t *testing.T) {
	c := startCluster(t, fakecluster.Options{})
	f := newFS(t, c, nil)
	remoteOnly(f)
	writeFile(t, f, "/big", randomBytes(8*testBlock, 20), MustCache)
	r, err := f.OpenFile(context.Background(), "/big")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		done <- err
	}()
	r.Close()
	<-done // returns (with or without an error), never hangs
}
