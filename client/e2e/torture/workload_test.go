package torture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path"
	"sync"
	"time"

	"github.com/alluxio-go/alluxio/client"
)

// workload is one client: a sequential loop of operations on names under
// its own directory that it never reuses. It keeps the set of entries it
// knows exist (acknowledged and not since renamed or deleted, with no
// indeterminate operation on them) and picks reads, renames and deletes
// among those only; a name touched by an indeterminate operation is left
// alone for the rest of the run.
type workload struct {
	id    int
	seed  uint64
	dir   string
	fsys  *client.FileSystem
	hist  *History
	rng   *rand.Rand
	next  int // next name number
	index int // next operation index

	known []string // paths known to exist
	isDir map[string]bool
	sums  map[string]string
}

func newWorkload(id int, seed uint64, dir string, fsys *client.FileSystem, hist *History) *workload {
	return &workload{
		id: id, seed: seed, dir: dir, fsys: fsys, hist: hist,
		rng:   rand.New(rand.NewPCG(seed, uint64(id)+1)),
		isDir: map[string]bool{}, sums: map[string]string{},
	}
}

func (w *workload) forget(p string) {
	for i, k := range w.known {
		if k == p {
			w.known[i] = w.known[len(w.known)-1]
			w.known = w.known[:len(w.known)-1]
			break
		}
	}
	delete(w.isDir, p)
	delete(w.sums, p)
}

func (w *workload) learn(p string, dir bool, sum string) {
	w.known = append(w.known, p)
	w.isDir[p] = dir
	if !dir {
		w.sums[p] = sum
	}
}

// pick returns a known path (files only if filesOnly), or "".
func (w *workload) pick(filesOnly bool) string {
	if len(w.known) == 0 {
		return ""
	}
	for try := 0; try < 8; try++ {
		p := w.known[w.rng.IntN(len(w.known))]
		if !filesOnly || !w.isDir[p] {
			return p
		}
	}
	return ""
}

// run issues operations until stop is closed or maxOps are done.
func (w *workload) run(stop <-chan struct{}, maxOps int) {
	for w.index < maxOps {
		select {
		case <-stop:
			return
		default:
		}
		op := w.step()
		if op.Outcome != OK {
			// No hot loop while the cluster fails over.
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// step runs one operation and records it.
func (w *workload) step() Op {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	op := Op{Client: w.id, Index: w.index}
	w.index++
	r := w.rng.IntN(100)
	if len(w.known) > 400 && r < 45 {
		// Keep the directory at a few hundred entries: delete instead.
		r = 80
	}
	var err error
	op.Start = time.Now()
	switch {
	case r < 35 || len(w.known) < 3:
		n := w.next
		w.next++
		size := 1 + w.rng.IntN(16<<10)
		data := Content(w.seed, w.id, n, size)
		op.Kind, op.Path, op.Size, op.Sum = OpCreate, path.Join(w.dir, fmt.Sprintf("f%06d", n)), size, Sum(data)
		err = writeFile(ctx, w.fsys, op.Path, data)
	case r < 45:
		n := w.next
		w.next++
		op.Kind, op.Path = OpMkdir, path.Join(w.dir, fmt.Sprintf("d%06d", n))
		err = w.fsys.CreateDirectory(ctx, op.Path)
	case r < 62:
		op.Kind, op.Path = OpRead, w.pick(true)
		if op.Path == "" {
			op.Kind, op.Path = OpList, w.dir
			err = w.list(ctx, &op)
			break
		}
		var data []byte
		data, err = readFile(ctx, w.fsys, op.Path)
		if err == nil {
			op.Size, op.Sum = len(data), Sum(data)
		}
	case r < 77:
		n := w.next
		w.next++
		op.Kind, op.Path = OpRename, w.pick(false)
		op.IsDir = w.isDir[op.Path]
		op.Dst = path.Join(w.dir, fmt.Sprintf("r%06d", n))
		err = w.fsys.Rename(ctx, op.Path, op.Dst)
	case r < 90:
		op.Kind, op.Path = OpDelete, w.pick(false)
		op.IsDir = w.isDir[op.Path]
		err = w.fsys.Delete(ctx, op.Path)
	default:
		op.Kind, op.Path = OpList, w.dir
		err = w.list(ctx, &op)
	}
	op.End = time.Now()
	op.Outcome = Classify(err)
	if err != nil {
		op.Err = err.Error()
		op.NotFound = errors.Is(err, client.ErrNotFound)
	}
	// The client's own view, for choosing later operations.
	switch op.Kind {
	case OpCreate, OpMkdir:
		if op.Outcome == OK {
			w.learn(op.Path, op.Kind == OpMkdir, op.Sum)
		}
	case OpRename:
		dir, sum := w.isDir[op.Path], w.sums[op.Path]
		if op.Outcome != Failed {
			w.forget(op.Path)
		}
		if op.Outcome == OK {
			w.learn(op.Dst, dir, sum)
		}
	case OpDelete:
		if op.Outcome != Failed {
			w.forget(op.Path)
		}
	}
	w.hist.Add(op)
	return op
}

func (w *workload) list(ctx context.Context, op *Op) error {
	st, err := w.fsys.ListStatus(ctx, w.dir)
	if err != nil {
		return err
	}
	for _, s := range st {
		op.Names = append(op.Names, path.Base(s.Path))
	}
	op.Size = len(op.Names)
	return nil
}

// writeFile writes data to a new file (CACHE_THROUGH: worker and UFS) and
// returns the error the client reported; Close completes the file.
func writeFile(ctx context.Context, fsys *client.FileSystem, p string, data []byte) error {
	w, err := fsys.CreateFile(ctx, p, client.CacheThrough)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Cancel()
		return err
	}
	return w.Close()
}

func readFile(ctx context.Context, fsys *client.FileSystem, p string) ([]byte, error) {
	r, err := fsys.OpenFile(ctx, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// retryBudgets are the clients' alluxio.user.rpc.retry.max.duration, in
// turn: most ride out every failover, the short budgets make some
// mutations time out in the middle of one, so that the history holds
// indeterminate outcomes for the checker to resolve.
var retryBudgets = []string{"20s", "20s", "3s", "800ms"}

// runWorkloads starts n clients, each with its own FileSystem and
// directory root/c<i>; they stop when stop is closed.
func runWorkloads(c *cluster, n int, seed uint64, root string, hist *History, stop <-chan struct{}, maxOps int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		fsys := c.mustClient(map[string]string{"alluxio.user.rpc.retry.max.duration": retryBudgets[i%len(retryBudgets)]})
		w := newWorkload(i, seed, path.Join(root, fmt.Sprintf("c%d", i)), fsys, hist)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(stop, maxOps)
		}()
	}
	return &wg
}
