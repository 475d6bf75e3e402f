package torture

import (
	"strings"
	"testing"
	"time"
)

// The checker is tested on synthetic histories: each case is a history, a
// final state, and what the checker must say about them.

var t0 = time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)

// hb builds a history for one client.
type hb struct {
	ops []Op
}

func (h *hb) add(kind, path, dst string, o Outcome, sum string) *hb {
	i := len(h.ops)
	h.ops = append(h.ops, Op{Client: 0, Index: i, Kind: kind, Path: path, Dst: dst, Outcome: o, Sum: sum,
		Start: t0.Add(time.Duration(i) * time.Second), End: t0.Add(time.Duration(i)*time.Second + 500*time.Millisecond)})
	return h
}

func (h *hb) read(path string, o Outcome, sum string, notFound bool) *hb {
	h.add(OpRead, path, "", o, sum)
	h.ops[len(h.ops)-1].NotFound = notFound
	return h
}

func (h *hb) list(dir string, names ...string) *hb {
	h.add(OpList, dir, "", OK, "")
	h.ops[len(h.ops)-1].Names = names
	return h
}

func file(sum string) Entry { return Entry{Complete: true, Sum: sum, Size: 10} }

var dirEntry = Entry{IsDir: true}

const d = "/torture/c0"

func state(kv ...any) map[string]Entry {
	m := map[string]Entry{d: dirEntry}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(Entry)
	}
	return m
}

func TestCheck(t *testing.T) {
	f1, f2, r1 := d+"/f1", d+"/f2", d+"/r1"
	cases := []struct {
		name      string
		h         *hb
		final     map[string]Entry
		lost      int
		anomalies []string // substrings, one per expected anomaly, in order
	}{
		{"acknowledged create present", new(hb).add(OpCreate, f1, "", OK, "A"), state(f1, file("A")), 0, nil},
		{"acknowledged create lost", new(hb).add(OpCreate, f1, "", OK, "A"), state(), 1, []string{"acknowledged operation lost: " + f1 + " is absent"}},
		{"acknowledged create with other bytes", new(hb).add(OpCreate, f1, "", OK, "A"), state(f1, file("B")), 1, []string{"acknowledged operation lost"}},
		{"acknowledged create left incomplete", new(hb).add(OpCreate, f1, "", OK, "A"), state(f1, Entry{Size: 3}), 1, []string{"an incomplete file"}},
		{"failed create absent", new(hb).add(OpCreate, f1, "", Failed, "A"), state(), 0, nil},
		{"failed create applied", new(hb).add(OpCreate, f1, "", Failed, "A"), state(f1, file("A")), 0, []string{"definite failure applied"}},
		{"failed create half-applied", new(hb).add(OpCreate, f1, "", Failed, "A"), state(f1, Entry{}), 0, []string{"definite failure applied"}},
		{"indeterminate create absent", new(hb).add(OpCreate, f1, "", Indeterminate, "A"), state(), 0, nil},
		{"indeterminate create present", new(hb).add(OpCreate, f1, "", Indeterminate, "A"), state(f1, file("A")), 0, nil},
		{"indeterminate create incomplete", new(hb).add(OpCreate, f1, "", Indeterminate, "A"), state(f1, Entry{}), 0, nil},
		{"indeterminate create with other bytes", new(hb).add(OpCreate, f1, "", Indeterminate, "A"), state(f1, file("B")), 0, []string{f1 + " is a complete file"}},
		{"nothing attempted appears", new(hb), state(f2, file("X")), 0, []string{"no client attempted it"}},
		{"harness directory missing", new(hb), map[string]Entry{}, 0, []string{"harness's directory"}},
		{"acknowledged delete", new(hb).add(OpCreate, f1, "", OK, "A").add(OpDelete, f1, "", OK, ""), state(), 0, nil},
		{"acknowledged delete lost", new(hb).add(OpCreate, f1, "", OK, "A").add(OpDelete, f1, "", OK, ""), state(f1, file("A")), 1, []string{"acknowledged operation lost: " + f1 + " is a complete file"}},
		{"failed delete applied", new(hb).add(OpCreate, f1, "", OK, "A").add(OpDelete, f1, "", Failed, ""), state(), 0, []string{"definite failure applied"}},
		{"indeterminate delete either way", new(hb).add(OpCreate, f1, "", OK, "A").add(OpDelete, f1, "", Indeterminate, ""), state(), 0, nil},
		{"acknowledged rename", new(hb).add(OpCreate, f1, "", OK, "A").add(OpRename, f1, r1, OK, ""), state(r1, file("A")), 0, nil},
		{"acknowledged rename lost", new(hb).add(OpCreate, f1, "", OK, "A").add(OpRename, f1, r1, OK, ""), state(f1, file("A")), 2, []string{"lost: " + f1, "lost: " + r1}},
		{"failed rename applied", new(hb).add(OpCreate, f1, "", OK, "A").add(OpRename, f1, r1, Failed, ""), state(r1, file("A")), 0, []string{"definite failure applied", "definite failure applied"}},
		{"indeterminate rename applied", new(hb).add(OpCreate, f1, "", OK, "A").add(OpRename, f1, r1, Indeterminate, ""), state(r1, file("A")), 0, nil},
		{"indeterminate rename not applied", new(hb).add(OpCreate, f1, "", OK, "A").add(OpRename, f1, r1, Indeterminate, ""), state(f1, file("A")), 0, nil},
		{"indeterminate rename duplicated", new(hb).add(OpCreate, f1, "", OK, "A").add(OpRename, f1, r1, Indeterminate, ""), state(f1, file("A"), r1, file("A")), 0, []string{"want exactly one"}},
		{"indeterminate rename vanished", new(hb).add(OpCreate, f1, "", OK, "A").add(OpRename, f1, r1, Indeterminate, ""), state(), 0, []string{"want exactly one"}},
		{"mkdir", new(hb).add(OpMkdir, f1, "", OK, ""), state(f1, dirEntry), 0, nil},
		{"mkdir became a file", new(hb).add(OpMkdir, f1, "", OK, ""), state(f1, file("A")), 1, []string{"lost"}},
		{"read of the acknowledged bytes", new(hb).add(OpCreate, f1, "", OK, "A").read(f1, OK, "A", false), state(f1, file("A")), 0, nil},
		{"read of other bytes", new(hb).add(OpCreate, f1, "", OK, "A").read(f1, OK, "B", false), state(f1, file("A")), 0, []string{"want sha256=A"}},
		{"read not found", new(hb).add(OpCreate, f1, "", OK, "A").read(f1, Failed, "", true), state(f1, file("A")), 0, []string{"not found, but it must exist"}},
		{"read failing otherwise", new(hb).add(OpCreate, f1, "", OK, "A").read(f1, Failed, "", false), state(f1, file("A")), 0, nil},
		{"read of a deleted file", new(hb).add(OpCreate, f1, "", OK, "A").add(OpDelete, f1, "", OK, "").read(f1, OK, "A", false), state(), 0, []string{"may only be absent"}},
		{"listing", new(hb).add(OpCreate, f1, "", OK, "A").add(OpCreate, f2, "", Indeterminate, "B").list(d, "f1"), state(f1, file("A")), 0, nil},
		{"listing misses an entry", new(hb).add(OpCreate, f1, "", OK, "A").list(d), state(f1, file("A")), 0, []string{"does not list f1"}},
		{"listing shows a deleted entry", new(hb).add(OpCreate, f1, "", OK, "A").add(OpDelete, f1, "", OK, "").list(d, "f1"), state(), 0, []string{"lists f1, which must not exist"}},
		{"listing shows an unknown name", new(hb).list(d, "zz"), state(), 0, []string{"lists zz, which no client attempted"}},
		{"name reused", new(hb).add(OpCreate, f1, "", OK, "A").add(OpCreate, f1, "", OK, "B"), state(f1, file("B")), 0, []string{"already used"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Check(tc.h.ops, nil, tc.final, "/torture", []string{d, "/torture"})
			if r.Lost != tc.lost {
				t.Errorf("lost = %d, want %d; anomalies: %q", r.Lost, tc.lost, r.Anomalies)
			}
			if len(r.Anomalies) != len(tc.anomalies) {
				t.Fatalf("anomalies = %q, want %d matching %q", r.Anomalies, len(tc.anomalies), tc.anomalies)
			}
			for i, want := range tc.anomalies {
				if !strings.Contains(r.Anomalies[i], want) {
					t.Errorf("anomaly %d = %q, want it to contain %q", i, r.Anomalies[i], want)
				}
			}
			if r.Checked != len(tc.h.ops) {
				t.Errorf("checked %d operations, want %d", r.Checked, len(tc.h.ops))
			}
		})
	}
}

func TestCheckCountsAndFaults(t *testing.T) {
	h := new(hb).add(OpCreate, d+"/f1", "", OK, "A").add(OpCreate, d+"/f2", "", Failed, "B").add(OpMkdir, d+"/d3", "", Indeterminate, "")
	h.ops[1].Err = "client: create /torture/c0/f2: connection refused 127.0.0.1:4242"
	faults := []Fault{{Kind: FaultKillLeader}, {Kind: FaultKillLeader}, {Kind: FaultZKQuorum, Err: "recovery: no leader"}}
	r := Check(h.ops, faults, state(d+"/f1", file("A")), "/torture", []string{d})
	if r.Ops[OpCreate][OK] != 1 || r.Ops[OpCreate][Failed] != 1 || r.Ops[OpMkdir][Indeterminate] != 1 || r.Acked != 1 {
		t.Errorf("counts = %v, acked %d", r.Ops, r.Acked)
	}
	if r.Resolved["not applied"] != 1 || r.Resolved["applied"] != 0 {
		t.Errorf("resolved = %v, want the indeterminate mkdir not applied", r.Resolved)
	}
	if r.Faults[FaultKillLeader] != 2 || r.Faults[FaultZKQuorum] != 1 {
		t.Errorf("faults = %v", r.Faults)
	}
	if len(r.Anomalies) != 1 || !strings.Contains(r.Anomalies[0], "recovery: no leader") {
		t.Errorf("anomalies = %q, want the fault's recovery error", r.Anomalies)
	}
	s := r.Summary()
	for _, want := range []string{"operations checked: 3 (1 acknowledged)", "kill-9-leader", "acknowledged operations lost: 0", "anomalies: 1", "connection refused N.N.N.N:N", "applied 0, not applied 1"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestCheckNoAckWithoutQuorum(t *testing.T) {
	lost, back := t0.Add(10*time.Second), t0.Add(20*time.Second)
	ops := []Op{
		{Kind: OpCreate, Path: "/a", Outcome: OK, Start: t0.Add(11 * time.Second), End: t0.Add(11500 * time.Millisecond)},     // within grace
		{Kind: OpCreate, Path: "/b", Outcome: OK, Start: t0.Add(13 * time.Second), End: t0.Add(14 * time.Second)},             // violation
		{Kind: OpRead, Path: "/c", Outcome: OK, Start: t0.Add(13 * time.Second), End: t0.Add(14 * time.Second)},               // reads are not writes
		{Kind: OpDelete, Path: "/d", Outcome: Failed, Start: t0.Add(13 * time.Second), End: t0.Add(14 * time.Second)},         // not acknowledged
		{Kind: OpRename, Path: "/e", Outcome: OK, Start: t0.Add(13 * time.Second), End: t0.Add(21 * time.Second), Dst: "/e2"}, // answered after the quorum returned
	}
	got := CheckNoAckWithoutQuorum(ops, [][2]time.Time{{lost, back}}, 2*time.Second)
	if len(got) != 1 || !strings.Contains(got[0], "create /b") {
		t.Errorf("got %q, want one anomaly for create /b", got)
	}
}

func TestCheckJournal(t *testing.T) {
	nt := func(seq, epoch int64) JournalLine { return JournalLine{Seq: seq, Epoch: epoch, Type: "NewTermEntry"} }
	e := func(seq, epoch int64) JournalLine { return JournalLine{Seq: seq, Epoch: epoch, Type: "InodeFileEntry"} }
	cases := []struct {
		name  string
		lines []JournalLine
		want  []string
		terms int
	}{
		{"linear", []JournalLine{nt(1, 1), e(2, 1), e(3, 1), nt(4, 3), e(5, 3)}, nil, 2},
		{"after a checkpoint", []JournalLine{e(0, 0), e(0, 0), e(7, 2), nt(8, 4)}, []string{"starts at seq 7 with InodeFileEntry"}, 2},
		{"empty", nil, []string{"empty"}, 0},
		{"does not start at 1", []JournalLine{nt(2, 1)}, []string{"first sequence number is 2"}, 1},
		{"gap", []JournalLine{nt(1, 1), e(3, 1)}, []string{"sequence 3 follows 1"}, 1},
		{"duplicate", []JournalLine{nt(1, 1), e(2, 1), e(2, 1)}, []string{"two records of sequence number 2", "sequence 2 follows 2"}, 1},
		{"deposed term applied", []JournalLine{nt(1, 1), nt(2, 2), e(3, 1)}, []string{"epoch 1 after epoch 2", "term of epoch 1 starts at seq 3"}, 3},
		{"term without NewTerm", []JournalLine{nt(1, 1), e(2, 2)}, []string{"starts at seq 2 with InodeFileEntry"}, 2},
		{"NewTerm not above the last", []JournalLine{nt(1, 2), e(2, 2), nt(3, 2)}, []string{"does not exceed", "second NewTerm"}, 1},
		{"checkpoint entry late", []JournalLine{nt(1, 1), e(0, 0)}, []string{"checkpoint entry (seq 0) after"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			jr := CheckJournal(tc.lines)
			if len(jr.Anomalies) != len(tc.want) {
				t.Fatalf("anomalies = %q, want %q", jr.Anomalies, tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(jr.Anomalies[i], w) {
					t.Errorf("anomaly %d = %q, want %q", i, jr.Anomalies[i], w)
				}
			}
			if len(jr.Terms) != tc.terms {
				t.Errorf("terms = %v, want %d", jr.Terms, tc.terms)
			}
		})
	}
}

func TestParseJournalDump(t *testing.T) {
	lines, err := ParseJournalDump("1 1 NewTermEntry {\"epoch\":\"1\"}\n\n2 1 InodeDirectoryEntry {\"id\":\"5\"}\n")
	if err != nil || len(lines) != 2 || lines[1].Seq != 2 || lines[1].Type != "InodeDirectoryEntry" {
		t.Fatalf("got %+v, %v", lines, err)
	}
	for _, bad := range []string{"x 1 A {}", "1 1", "1 1 A {not json"} {
		if _, err := ParseJournalDump(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestContentDeterministic(t *testing.T) {
	a, b := Content(7, 1, 2, 1000), Content(7, 1, 2, 1000)
	if Sum(a) != Sum(b) || len(a) != 1000 {
		t.Fatal("Content is not deterministic")
	}
	if Sum(Content(7, 1, 3, 1000)) == Sum(a) || Sum(Content(8, 1, 2, 1000)) == Sum(a) {
		t.Fatal("different files have the same content")
	}
	if len(Content(1, 2, 3, 5)) != 5 {
		t.Fatal("short content has the wrong length")
	}
}

func TestCheckUFS(t *testing.T) {
	final := map[string]Entry{d: dirEntry, d + "/f1": file("A"), d + "/inc": {Size: 1}}
	ok := map[string]Entry{d: dirEntry, d + "/f1": file("A")}
	if got, _ := CheckUFS(final, ok, "/torture"); len(got) != 0 {
		t.Errorf("consistent UFS: %q", got)
	}
	bad := map[string]Entry{"/torture": dirEntry, d: file("X"), d + "/f1": file("B"), d + "/orphan": file("C")}
	bad[d+"/.f9.alluxio-tmp-123"] = file("T")
	got, left := CheckUFS(final, bad, "/torture")
	if len(left) != 1 {
		t.Errorf("leftovers = %q, want the temporary file", left)
	}
	want := []string{"directory " + d + " is not a directory", "file " + d + "/f1 has", "holds " + d + "/orphan"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %d anomalies", got, len(want))
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("anomaly %d = %q, want %q", i, got[i], w)
		}
	}
	if got, _ := CheckUFS(map[string]Entry{d + "/f1": file("A")}, map[string]Entry{}, "/torture"); len(got) != 1 || !strings.Contains(got[0], "missing from the UFS") {
		t.Errorf("missing file: %q", got)
	}
}

func TestCheckListingAnomalyOnce(t *testing.T) {
	h := new(hb).add(OpCreate, d+"/f1", "", OK, "A").list(d).list(d).list(d)
	r := Check(h.ops, nil, state(d+"/f1", file("A")), "/torture", []string{d})
	if len(r.Anomalies) != 1 || !strings.Contains(r.Anomalies[0], "the same in 2 later listings") {
		t.Errorf("anomalies = %q, want one, counting the repeats", r.Anomalies)
	}
}

func TestDumpThrough(t *testing.T) {
	dump := "1 1 NewTermEntry {}\n2 1 CreateFileEntry {}\n3 2 NewTermEntry {}\n"
	if got, want := DumpThrough(dump, 2), "1 1 NewTermEntry {}\n2 1 CreateFileEntry {}\n"; got != want {
		t.Errorf("DumpThrough(2) = %q, want %q", got, want)
	}
	if got := DumpThrough(dump, 3); got != dump {
		t.Errorf("DumpThrough(3) = %q, want all", got)
	}
	if got := DumpThrough("garbage\n5 1 X {}", 1); got != "garbage\n" {
		t.Errorf("DumpThrough keeps unparsable lines and drops later ones: %q", got)
	}
}
