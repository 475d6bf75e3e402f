package torture

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/alluxio-go/alluxio/client"
)

// Outcome is what a client was told about one operation.
type Outcome string

const (
	// OK: acknowledged. Its effect must be in the final state.
	OK Outcome = "ok"
	// Failed: a definite failure. The operation must not have applied.
	Failed Outcome = "failed"
	// Indeterminate: the error wraps client.ErrIndeterminate; the operation
	// may or may not have applied.
	Indeterminate Outcome = "indeterminate"
)

// Classify maps a client error to an outcome.
func Classify(err error) Outcome {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, client.ErrIndeterminate):
		return Indeterminate
	default:
		return Failed
	}
}

// Kinds of operation.
const (
	OpCreate = "create" // CreateFile + Write + Close of a small file
	OpMkdir  = "mkdir"
	OpRead   = "read"
	OpRename = "rename"
	OpDelete = "delete"
	OpList   = "list"
)

// Op is one client operation as the client saw it: one line of the history.
type Op struct {
	Client   int       `json:"client"`
	Index    int       `json:"index"` // per client, in issue order (each client is sequential)
	Kind     string    `json:"kind"`
	Path     string    `json:"path"`
	Dst      string    `json:"dst,omitempty"`  // rename target
	Size     int       `json:"size,omitempty"` // create: bytes written; read: bytes read
	Sum      string    `json:"sum,omitempty"`  // create: SHA-256 of the bytes written; read: of the bytes read
	Names    []string  `json:"names,omitempty"`
	IsDir    bool      `json:"dir,omitempty"` // rename/delete: the entry is a directory
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Outcome  Outcome   `json:"outcome"`
	NotFound bool      `json:"notFound,omitempty"` // the error wraps ErrNotFound
	Err      string    `json:"err,omitempty"`
}

// Fault is one nemesis action, from injection to healed.
type Fault struct {
	Kind   string    `json:"kind"`
	Target string    `json:"target"`
	Start  time.Time `json:"start"`
	Healed time.Time `json:"healed"`
	Detail string    `json:"detail,omitempty"`
	Err    string    `json:"err,omitempty"` // the cluster did not recover as expected
}

// History collects the operations of concurrent clients and the faults,
// and optionally writes each as a JSON line as it arrives.
type History struct {
	mu     sync.Mutex
	ops    []Op
	faults []Fault
	w      io.Writer
	acked  int64
}

// NewHistory returns a history that also writes JSON lines to w (if not nil).
func NewHistory(w io.Writer) *History { return &History{w: w} }

// Add records one operation.
func (h *History) Add(op Op) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, op)
	if op.Outcome == OK {
		h.acked++
	}
	h.write("op", op)
}

// AddFault records one fault.
func (h *History) AddFault(f Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, f)
	h.write("fault", f)
}

func (h *History) write(kind string, v any) {
	if h.w == nil {
		return
	}
	b, err := json.Marshal(map[string]any{kind: v})
	if err == nil {
		_, _ = h.w.Write(append(b, '\n'))
	}
}

// Acked returns the number of acknowledged operations so far.
func (h *History) Acked() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.acked
}

// Ops returns a copy of the operations.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...)
}

// Faults returns a copy of the faults.
func (h *History) Faults() []Fault {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Fault(nil), h.faults...)
}

// Content returns the deterministic bytes client c writes as its file
// number n of the run with seed: a readable header naming the file, then
// pseudo-random bytes, size bytes in all.
func Content(seed uint64, c, n, size int) []byte {
	hdr := fmt.Sprintf("torture seed=%d client=%d file=%d size=%d\n", seed, c, n, size)
	b := make([]byte, size)
	copy(b, hdr)
	if size > len(hdr) {
		r := rand.New(rand.NewPCG(seed, uint64(c)<<32|uint64(n)))
		for i := len(hdr); i < size; i += 8 {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], r.Uint64())
			copy(b[i:], w[:])
		}
	}
	return b
}

// Sum is the hex SHA-256 of b.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Counts is a table of counts by kind and outcome.
type Counts map[string]map[Outcome]int

func (c Counts) add(kind string, o Outcome) {
	if c[kind] == nil {
		c[kind] = map[Outcome]int{}
	}
	c[kind][o]++
}

// String formats the table one kind per line, sorted.
func (c Counts) String() string {
	kinds := make([]string, 0, len(c))
	for k := range c {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	for _, k := range kinds {
		m := c[k]
		fmt.Fprintf(&b, "  %-8s ok=%-6d failed=%-5d indeterminate=%d\n", k, m[OK], m[Failed], m[Indeterminate])
	}
	return b.String()
}
