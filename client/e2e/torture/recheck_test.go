package torture

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"testing"
)

// TestRecheckHistory re-runs the checker's in-run checks (reads and
// listings against the model) on a saved history: TORTURE_HISTORY names a
// history.jsonl of a run directory. With TORTURE_FINAL naming the run's
// final.json it checks the final state too.
func TestRecheckHistory(t *testing.T) {
	p := os.Getenv("TORTURE_HISTORY")
	if p == "" {
		t.Skip("set TORTURE_HISTORY to a run's history.jsonl")
	}
	ops, faults, err := LoadHistory(p)
	if err != nil {
		t.Fatal(err)
	}
	var final map[string]Entry
	if fp := os.Getenv("TORTURE_FINAL"); fp != "" {
		b, err := os.ReadFile(fp)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &final); err != nil {
			t.Fatal(err)
		}
	}
	// The clients' directories, which the harness creates.
	var fixed []string
	seen := map[int]bool{}
	for _, op := range ops {
		if !seen[op.Client] {
			seen[op.Client] = true
			fixed = append(fixed, path.Join(root, fmt.Sprintf("c%d", op.Client)))
		}
	}
	r := Check(ops, faults, final, root, fixed)
	t.Log("\n" + r.Summary())
	for _, a := range r.Anomalies {
		t.Log(a)
	}
}

// LoadHistory reads a history.jsonl written by History.
func LoadHistory(p string) ([]Op, []Fault, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var ops []Op
	var faults []Fault
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var line struct {
			Op    *Op    `json:"op"`
			Fault *Fault `json:"fault"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, nil, err
		}
		if line.Op != nil {
			ops = append(ops, *line.Op)
		}
		if line.Fault != nil {
			faults = append(faults, *line.Fault)
		}
	}
	return ops, faults, sc.Err()
}
