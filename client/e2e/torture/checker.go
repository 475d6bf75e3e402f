package torture

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/alluxio-go/alluxio/client/e2e/internal/proctest"
)

// Entry is one path of the final namespace.
type Entry struct {
	IsDir    bool
	Complete bool
	Size     int64
	Sum      string // SHA-256 of the file's bytes (complete files); "" if unreadable
	ReadErr  string // why the bytes could not be read
}

var digits = regexp.MustCompile(`[0-9]+`)

// possible is the set of states a path may be in, given the history so far.
type possible struct {
	absent     bool
	file       bool // a complete file whose bytes hash to sum
	sum        string
	incomplete bool // an incomplete file (an indeterminate create's leftover)
	dir        bool
	cause      *Op // the latest operation that changed the set
}

func (p possible) definitelyAbsent() bool  { return p.absent && !p.file && !p.incomplete && !p.dir }
func (p possible) definitelyPresent() bool { return !p.absent && !p.incomplete && (p.file != p.dir) }

func (p possible) String() string {
	var s []string
	if p.absent {
		s = append(s, "absent")
	}
	if p.file {
		s = append(s, "file sha256="+short(p.sum))
	}
	if p.incomplete {
		s = append(s, "incomplete file")
	}
	if p.dir {
		s = append(s, "directory")
	}
	return strings.Join(s, " or ")
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func describe(op *Op) string {
	if op == nil {
		return "no operation"
	}
	s := fmt.Sprintf("client %d op %d %s %s", op.Client, op.Index, op.Kind, op.Path)
	if op.Dst != "" {
		s += " -> " + op.Dst
	}
	s += fmt.Sprintf(" (%s, %s-%s)", op.Outcome, op.Start.Format("15:04:05.000"), op.End.Format("15:04:05.000"))
	if op.Err != "" {
		s += ": " + op.Err
	}
	return s
}

// xor is an indeterminate rename: exactly one of src and dst holds the entry.
type xor struct {
	src, dst string
	op       *Op
}

// Report is the checker's verdict.
type Report struct {
	Ops       Counts                   // operations by kind and outcome
	Faults    map[string]int           // faults by kind
	FaultTime map[string]time.Duration // total and ...
	FaultMax  map[string]time.Duration // ... longest time from injection to healed, by kind
	Checked   int                      // operations checked
	Acked     int                      // acknowledged operations among them
	Lost      int                      // acknowledged operations whose effect is missing from the final state
	Paths     int                      // paths in the final namespace under the root
	Errors    map[string]int           // client errors by kind (numbers masked), for the summary
	// Resolved counts how the indeterminate operations turned out in the
	// final state: "applied", "not applied", "left incomplete" (a create).
	Resolved  map[string]int
	Anomalies []string
}

func (r *Report) anomaly(format string, args ...any) {
	r.Anomalies = append(r.Anomalies, fmt.Sprintf(format, args...))
}

// Summary formats the report for people.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "operations checked: %d (%d acknowledged); final namespace: %d paths\n", r.Checked, r.Acked, r.Paths)
	b.WriteString("operations by kind and outcome:\n")
	b.WriteString(r.Ops.String())
	kinds := make([]string, 0, len(r.Faults))
	total := 0
	for k, n := range r.Faults {
		kinds = append(kinds, k)
		total += n
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "faults injected: %d (kind, count, mean and longest time from injection to healed)\n", total)
	for _, k := range kinds {
		n := r.Faults[k]
		fmt.Fprintf(&b, "  %-35s %5d  mean %5.1fs  max %5.1fs\n", k, n, (r.FaultTime[k] / time.Duration(n)).Seconds(), r.FaultMax[k].Seconds())
	}
	if len(r.Resolved) > 0 {
		fmt.Fprintf(&b, "indeterminate operations in the final state: applied %d, not applied %d, left incomplete %d\n",
			r.Resolved["applied"], r.Resolved["not applied"], r.Resolved["left incomplete"])
	}
	if len(r.Errors) > 0 {
		type kv struct {
			k string
			n int
		}
		var errs []kv
		for k, n := range r.Errors {
			errs = append(errs, kv{k, n})
		}
		sort.Slice(errs, func(i, j int) bool { return errs[i].n > errs[j].n || errs[i].n == errs[j].n && errs[i].k < errs[j].k })
		b.WriteString("client errors, most frequent kinds:\n")
		for i, e := range errs {
			if i == 12 {
				break
			}
			fmt.Fprintf(&b, "  %5d x %s\n", e.n, e.k)
		}
	}
	fmt.Fprintf(&b, "acknowledged operations lost: %d\n", r.Lost)
	fmt.Fprintf(&b, "anomalies: %d\n", len(r.Anomalies))
	for i, a := range r.Anomalies {
		if i == 50 {
			fmt.Fprintf(&b, "  ... and %d more\n", len(r.Anomalies)-50)
			break
		}
		fmt.Fprintf(&b, "  - %s\n", a)
	}
	return b.String()
}

// Check replays the history through a model of the namespace and compares
// it with the final state. Every client works only under its own directory
// on names it never reuses, and is sequential, so each path's history is
// one client's operations in their issue order. final maps every path
// under root (root excluded) to what the cluster holds at the end; fixed
// lists paths the harness created (the clients' directories). Reads and
// listings are checked against the model at the time they ran.
func Check(ops []Op, faults []Fault, final map[string]Entry, root string, fixed []string) *Report {
	r := &Report{Ops: Counts{}, Faults: map[string]int{}, Errors: map[string]int{},
		FaultTime: map[string]time.Duration{}, FaultMax: map[string]time.Duration{}, Resolved: map[string]int{}}
	for _, f := range faults {
		r.Faults[f.Kind]++
		if d := f.Healed.Sub(f.Start); d > 0 {
			r.FaultTime[f.Kind] += d
			r.FaultMax[f.Kind] = max(r.FaultMax[f.Kind], d)
		}
		if f.Err != "" {
			r.anomaly("fault %s on %s at %s: %s", f.Kind, f.Target, f.Start.Format("15:04:05.000"), f.Err)
		}
	}
	sorted := append([]Op(nil), ops...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Client != sorted[j].Client {
			return sorted[i].Client < sorted[j].Client
		}
		return sorted[i].Index < sorted[j].Index
	})
	model := map[string]*possible{}
	// present holds, per directory, the paths that must exist now, kept up
	// to date after every operation, so that a listing costs what it lists.
	present := map[string]map[string]bool{}
	get := func(p string) *possible {
		if s, ok := model[p]; ok {
			return s
		}
		s := &possible{absent: true}
		model[p] = s
		return s
	}
	track := func(ps ...string) {
		for _, p := range ps {
			if p == "" {
				continue
			}
			d := path.Dir(p)
			if model[p] != nil && model[p].definitelyPresent() {
				if present[d] == nil {
					present[d] = map[string]bool{}
				}
				present[d][p] = true
			} else if present[d] != nil {
				delete(present[d], p)
			}
		}
	}
	fixedSet := map[string]bool{}
	for _, p := range fixed {
		fixedSet[p] = true
	}
	var xors []xor
	// A listing anomaly repeats in every later listing until the entry's
	// state changes: report each (path, verdict, cause) once, with a count.
	type listKey struct {
		path, verdict string
		cause         *Op
	}
	listFirst := map[listKey]string{}
	listCount := map[listKey]int{}
	var listOrder []listKey
	listAnomaly := func(k listKey, msg string) {
		if listCount[k] == 0 {
			listFirst[k] = msg
			listOrder = append(listOrder, k)
		}
		listCount[k]++
	}
	for i := range sorted {
		op := &sorted[i]
		r.Checked++
		r.Ops.add(op.Kind, op.Outcome)
		if op.Err != "" {
			e := digits.ReplaceAllString(op.Err, "N")
			if len(e) > 160 {
				e = e[:160] + "..."
			}
			r.Errors[fmt.Sprintf("%s %s: %s", op.Kind, op.Outcome, e)]++
		}
		if op.Outcome == OK {
			r.Acked++
		}
		switch op.Kind {
		case OpCreate, OpMkdir:
			s := get(op.Path)
			if !s.definitelyAbsent() {
				r.anomaly("%s of a name already used (%s): the workload must use unique names", describe(op), s)
			}
			next := possible{cause: op}
			if op.Kind == OpCreate {
				next.file, next.sum = true, op.Sum
			} else {
				next.dir = true
			}
			switch op.Outcome {
			case OK:
				*s = next
			case Failed:
				s.cause = op
			case Indeterminate:
				s.file, s.dir, s.cause = s.file || next.file, s.dir || next.dir, op
				if next.file {
					s.sum, s.incomplete = op.Sum, true
				}
			}
		case OpRename:
			src, dst := get(op.Path), get(op.Dst)
			if !dst.definitelyAbsent() {
				r.anomaly("%s onto a name already used (%s)", describe(op), dst)
			}
			moved := *src
			switch op.Outcome {
			case OK:
				*dst = moved
				dst.cause = op
				*src = possible{absent: true, cause: op}
			case Failed:
				src.cause, dst.cause = op, op
			case Indeterminate:
				*dst = moved
				dst.absent, dst.cause = true, op
				src.absent, src.cause = true, op
				xors = append(xors, xor{src: op.Path, dst: op.Dst, op: op})
			}
		case OpDelete:
			s := get(op.Path)
			switch op.Outcome {
			case OK:
				*s = possible{absent: true, cause: op}
			case Failed:
				s.cause = op
			case Indeterminate:
				s.absent, s.cause = true, op
			}
		case OpRead:
			s := get(op.Path)
			switch {
			case op.Outcome == OK && !(s.file && s.sum == op.Sum):
				if s.definitelyPresent() && s.cause != nil && s.cause.Outcome == OK {
					r.anomaly("%s returned %d bytes sha256=%s, want sha256=%s (%s)", describe(op), op.Size, short(op.Sum), short(s.sum), describe(s.cause))
				} else {
					r.anomaly("%s returned %d bytes sha256=%s, but the path may only be %s (%s)", describe(op), op.Size, short(op.Sum), s, describe(s.cause))
				}
			case op.Outcome != OK && op.NotFound && s.definitelyPresent():
				r.anomaly("%s: not found, but it must exist (%s)", describe(op), describe(s.cause))
			}
		case OpList:
			if op.Outcome != OK {
				break
			}
			listed := map[string]bool{}
			for _, n := range op.Names {
				listed[path.Join(op.Path, n)] = true
			}
			for p := range present[op.Path] {
				if s := model[p]; !listed[p] {
					listAnomaly(listKey{p, "missing", s.cause}, fmt.Sprintf("%s does not list %s, which must exist (%s)", describe(op), path.Base(p), describe(s.cause)))
				}
			}
			for p := range listed {
				s, ok := model[p]
				switch {
				case !ok && !fixedSet[p]:
					listAnomaly(listKey{p, "unknown", nil}, fmt.Sprintf("%s lists %s, which no client attempted", describe(op), path.Base(p)))
				case ok && s.definitelyAbsent():
					listAnomaly(listKey{p, "present", s.cause}, fmt.Sprintf("%s lists %s, which must not exist (%s)", describe(op), path.Base(p), describe(s.cause)))
				}
			}
		default:
			r.anomaly("unknown operation kind in the history: %s", describe(op))
		}
		if IsMutation(op.Kind) {
			track(op.Path, op.Dst)
		}
	}

	for _, k := range listOrder {
		if n := listCount[k]; n > 1 {
			r.anomaly("%s; the same in %d later listings", listFirst[k], n-1)
		} else {
			r.anomaly("%s", listFirst[k])
		}
	}
	if final == nil {
		// History only (a re-check of a saved history): no final state.
		return r
	}
	// The final state.
	for p, e := range final {
		if p == root || fixedSet[p] {
			continue
		}
		r.Paths++
		if _, ok := model[p]; !ok {
			what := "file"
			if e.IsDir {
				what = "directory"
			}
			r.anomaly("%s %s is in the final namespace but no client attempted it", what, p)
		}
	}
	for _, p := range fixed {
		if p == root {
			continue
		}
		if e, ok := final[p]; !ok || !e.IsDir {
			r.anomaly("the harness's directory %s is missing from the final namespace", p)
		}
	}
	paths := make([]string, 0, len(model))
	for p := range model {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		s := model[p]
		e, present := final[p]
		ok := false
		var why string
		switch {
		case !present:
			ok, why = s.absent, "absent"
		case e.IsDir:
			ok, why = s.dir, "a directory"
		case !e.Complete:
			ok, why = s.incomplete, fmt.Sprintf("an incomplete file of %d bytes", e.Size)
		case e.Sum == "":
			// A complete file whose bytes could not be read back.
			ok, why = s.file, "a complete file, unreadable: "+e.ReadErr
			if ok {
				r.anomaly("%s: complete but unreadable at the end: %s", p, e.ReadErr)
			}
		default:
			ok, why = s.file && e.Sum == s.sum, fmt.Sprintf("a complete file of %d bytes sha256=%s", e.Size, short(e.Sum))
		}
		if ok {
			continue
		}
		switch {
		case s.cause != nil && s.cause.Outcome == OK && s.definitelyPresent() || s.cause != nil && s.cause.Outcome == OK && s.definitelyAbsent():
			r.Lost++
			r.anomaly("acknowledged operation lost: %s is %s, want %s after %s", p, why, s, describe(s.cause))
		case s.cause != nil && s.cause.Outcome == Failed:
			r.anomaly("definite failure applied: %s is %s, want %s after %s", p, why, s, describe(s.cause))
		default:
			r.anomaly("%s is %s, want %s after %s", p, why, s, describe(s.cause))
		}
	}
	for i := range sorted {
		op := &sorted[i]
		if op.Outcome != Indeterminate {
			continue
		}
		e, present := final[op.Path]
		switch op.Kind {
		case OpCreate, OpMkdir:
			switch {
			case present && !e.IsDir && !e.Complete:
				r.Resolved["left incomplete"]++
			case present:
				r.Resolved["applied"]++
			default:
				r.Resolved["not applied"]++
			}
		case OpDelete:
			if present {
				r.Resolved["not applied"]++
			} else {
				r.Resolved["applied"]++
			}
		case OpRename:
			if _, ok := final[op.Dst]; ok {
				r.Resolved["applied"]++
			} else {
				r.Resolved["not applied"]++
			}
		}
	}
	for _, x := range xors {
		_, a := final[x.src]
		_, b := final[x.dst]
		if a == b {
			r.anomaly("indeterminate rename %s: source present=%v and target present=%v (want exactly one)", describe(x.op), a, b)
		}
	}
	return r
}

// JournalLine is one line of alluxio-master --dump-journal.
type JournalLine = proctest.JournalLine

// ParseJournalDump parses the output of alluxio-master --dump-journal.
func ParseJournalDump(s string) ([]JournalLine, error) { return proctest.ParseJournalDump(s) }

// DumpThrough keeps the lines of an `alluxio-master --dump-journal` output
// whose sequence number is at most seq (lines it cannot parse are kept, so a
// comparison still sees them).
func DumpThrough(dump string, seq int64) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(dump, "\n") {
		if line == "" {
			continue
		}
		f, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if n, err := strconv.ParseInt(f, 10, 64); err == nil && n > seq {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

func isNewTerm(typ string) bool {
	t := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(typ))
	return t == "newterm" || t == "newtermentry"
}

// JournalReport describes one journal history.
type JournalReport struct {
	Entries   int
	Terms     []int64 // epochs of the terms, in applied order
	LastSeq   int64
	Anomalies []string
}

// CheckJournal checks that lines is one linear history: checkpoint entries
// (seq 0) first, then sequence numbers contiguous and strictly increasing
// (no gap, no two records of one seq), epochs never decreasing in applied
// order (no applied record from a deposed term), every term starting with
// its NewTerm entry, and each NewTerm's epoch greater than every earlier one.
func CheckJournal(lines []JournalLine) *JournalReport {
	jr := &JournalReport{Entries: len(lines)}
	bad := func(format string, args ...any) {
		if len(jr.Anomalies) < 20 {
			jr.Anomalies = append(jr.Anomalies, "journal: "+fmt.Sprintf(format, args...))
		} else if len(jr.Anomalies) == 20 {
			jr.Anomalies = append(jr.Anomalies, "journal: more problems not shown")
		}
	}
	if len(lines) == 0 {
		bad("the dump is empty")
		return jr
	}
	seen := map[int64]bool{}
	var prev *JournalLine
	var maxTerm int64 = -1
	checkpoint := false
	for i := range lines {
		l := &lines[i]
		if l.Seq == 0 {
			if prev != nil {
				bad("checkpoint entry (seq 0) after log entry seq %d", prev.Seq)
			}
			checkpoint = true
			continue
		}
		if seen[l.Seq] {
			bad("two records of sequence number %d", l.Seq)
		}
		seen[l.Seq] = true
		if prev == nil && !checkpoint && l.Seq != 1 {
			bad("the first sequence number is %d, want 1", l.Seq)
		}
		if prev != nil && l.Seq != prev.Seq+1 {
			bad("sequence %d follows %d (want contiguous, strictly increasing)", l.Seq, prev.Seq)
		}
		if prev != nil && l.Epoch < prev.Epoch {
			bad("seq %d has epoch %d after epoch %d: a record of a deposed term was applied", l.Seq, l.Epoch, prev.Epoch)
		}
		if prev == nil || l.Epoch != prev.Epoch {
			jr.Terms = append(jr.Terms, l.Epoch)
			if !isNewTerm(l.Type) {
				bad("term of epoch %d starts at seq %d with %s, not NewTerm", l.Epoch, l.Seq, l.Type)
			}
		}
		if isNewTerm(l.Type) {
			if l.Epoch <= maxTerm {
				bad("NewTerm of epoch %d at seq %d does not exceed the earlier term %d", l.Epoch, l.Seq, maxTerm)
			}
			if prev != nil && l.Epoch == prev.Epoch {
				bad("second NewTerm of epoch %d at seq %d", l.Epoch, l.Seq)
			}
			maxTerm = l.Epoch
		}
		prev = l
		jr.LastSeq = l.Seq
	}
	return jr
}

// IsMutation reports whether an operation kind changes the namespace.
func IsMutation(kind string) bool {
	return kind == OpCreate || kind == OpMkdir || kind == OpRename || kind == OpDelete
}

// CheckNoAckWithoutQuorum reports every mutation acknowledged although it
// was issued more than grace after ZooKeeper lost its quorum and answered
// before the quorum came back: a leader that has lost ZooKeeper must not
// acknowledge writes. windows holds [lost, restored] pairs.
func CheckNoAckWithoutQuorum(ops []Op, windows [][2]time.Time, grace time.Duration) []string {
	var out []string
	for _, w := range windows {
		for i := range ops {
			op := &ops[i]
			if op.Outcome == OK && IsMutation(op.Kind) && op.Start.After(w[0].Add(grace)) && op.End.Before(w[1]) {
				out = append(out, fmt.Sprintf("%s was acknowledged while ZooKeeper had no quorum (lost %s, restored %s)",
					describe(op), w[0].Format("15:04:05.000"), w[1].Format("15:04:05.000")))
			}
		}
	}
	return out
}

// CheckUFS compares the final namespace under root with the root UFS under
// the same path (ufs maps Alluxio paths to what the UFS directory holds):
// every complete file is persisted (the clients write CACHE_THROUGH) with
// the same bytes, every directory exists, and the UFS holds nothing the
// namespace does not (no orphan of an abandoned or deleted file, which a
// later metadata load would bring back).
//
// Temporary files of interrupted UFS writes (names containing
// ".alluxio-tmp-", which metadata loading skips) are not anomalies: they
// are returned apart, as leftovers.
func CheckUFS(final, ufs map[string]Entry, root string) (out, leftovers []string) {
	paths := make([]string, 0, len(final))
	for p := range final {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := final[p]
		u, ok := ufs[p]
		switch {
		case e.IsDir && (!ok || !u.IsDir):
			out = append(out, fmt.Sprintf("directory %s is not a directory in the UFS", p))
		case !e.IsDir && e.Complete && !ok:
			out = append(out, fmt.Sprintf("complete file %s is missing from the UFS", p))
		case !e.IsDir && e.Complete && e.Sum != "" && u.Sum != e.Sum:
			out = append(out, fmt.Sprintf("file %s has %d bytes sha256=%s in the UFS, %d bytes sha256=%s in Alluxio", p, u.Size, short(u.Sum), e.Size, short(e.Sum)))
		}
	}
	orphans := make([]string, 0)
	for p := range ufs {
		if _, ok := final[p]; !ok && p != root {
			if strings.Contains(path.Base(p), ".alluxio-tmp-") {
				leftovers = append(leftovers, p)
				continue
			}
			orphans = append(orphans, p)
		}
	}
	sort.Strings(leftovers)
	sort.Strings(orphans)
	for _, p := range orphans {
		out = append(out, fmt.Sprintf("the UFS holds %s, which is not in the namespace", p))
	}
	return out, leftovers
}
