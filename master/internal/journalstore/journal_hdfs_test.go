package journalstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// historySM records the entries replay gives it.
type historySM struct{ entries []*journalpb.JournalEntry }

func (m *historySM) Apply(e *journalpb.JournalEntry) error {
	m.entries = append(m.entries, proto.Clone(e).(*journalpb.JournalEntry))
	return nil
}

func (m *historySM) Reset() { m.entries = nil }

// lines is the history as "seq epoch kind/value".
func (m *historySM) lines() []string {
	out := make([]string, len(m.entries))
	for i, e := range m.entries {
		what := "?"
		switch {
		case e.GetNewBlock() != nil:
			what = fmt.Sprintf("block %d", e.GetNewBlock().GetBlockId())
		case e.GetNewTerm() != nil:
			what = fmt.Sprintf("term %d", e.GetNewTerm().GetEpoch())
		}
		out[i] = fmt.Sprintf("%d %d %s", e.GetSequenceNumber(), e.GetEpoch(), what)
	}
	return out
}

func blockEntry(id int64) *journalpb.JournalEntry {
	return &journalpb.JournalEntry{Entry: &journalpb.JournalEntry_NewBlock{NewBlock: &journalpb.NewBlockEntry{FileId: 1, BlockId: id}}}
}

func appendBlocks(t *testing.T, ctx context.Context, w journal.Writer, from, to int64) {
	t.Helper()
	var seq int64
	for id := from; id <= to; id++ {
		var err error
		if seq, err = w.Append(blockEntry(id)); err != nil {
			t.Fatalf("append block %d: %v", id, err)
		}
		if id%10 == 0 || id == to { // a group commit every ten entries
			if err := w.Flush(ctx, seq); err != nil {
				t.Fatalf("flush at block %d: %v", id, err)
			}
		}
	}
}

// TestIntegrationJournalOnHDFS runs the journal itself on HDFS: two terms
// from two Journal instances (the second seals and fences the first), a hot
// standby tailing the open log, and a replay of the whole history by a
// third instance.
func TestIntegrationJournalOnHDFS(t *testing.T) {
	c := sharedHDFS.Cluster(t)
	ctx := testCtx(t)
	folder := c.URI + "/journal-e2e"
	openJournal := func() *journal.Journal {
		t.Helper()
		j, err := journal.Open(journal.Config{Storage: openT(t, folder, nil), LogSizeBytesMax: 512})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	if err := journal.FormatStorage(ctx, openT(t, folder, nil)); err != nil {
		t.Fatalf("format: %v", err)
	}

	// Term 1.
	j1 := openJournal()
	if _, err := j1.Replay(ctx, &historySM{}); err != nil {
		t.Fatalf("replay (empty): %v", err)
	}
	w1, err := j1.StartWriting(ctx, 1)
	if err != nil {
		t.Fatalf("start writing epoch 1: %v", err)
	}
	appendBlocks(t, ctx, w1, 1, 60) // ~20 bytes a record: several rotations at 512 bytes

	// A hot standby replays, then tails the open log as it grows.
	standby := openJournal()
	ssm := &historySM{}
	if _, err := standby.Replay(ctx, ssm); err != nil {
		t.Fatalf("standby replay: %v", err)
	}
	if got := len(ssm.entries); got != 61 {
		t.Fatalf("standby replayed %d entries, want 61", got)
	}
	appendBlocks(t, ctx, w1, 61, 75)
	res, err := standby.CatchUp(ctx, ssm)
	if err != nil {
		t.Fatalf("standby catch-up: %v", err)
	}
	if res.LastSeq != 76 || len(ssm.entries) != 76 {
		t.Fatalf("standby caught up to %+v with %d entries, want seq 76", res, len(ssm.entries))
	}

	// Term 2 from another instance: it seals term 1's open log.
	j2 := openJournal()
	if _, err := j2.Replay(ctx, &historySM{}); err != nil {
		t.Fatalf("replay before term 2: %v", err)
	}
	w2, err := j2.StartWriting(ctx, 2)
	if err != nil {
		t.Fatalf("start writing epoch 2: %v", err)
	}
	// The deposed writer cannot make anything durable.
	seq, err := w1.Append(blockEntry(999))
	if err == nil {
		err = w1.Flush(ctx, seq)
	}
	if !errors.Is(err, journal.ErrFenced) {
		t.Fatalf("deposed writer's flush: err = %v, want ErrFenced", err)
	}
	w1.Close()
	appendBlocks(t, ctx, w2, 100, 120)

	// The standby follows into term 2.
	if _, err := standby.CatchUp(ctx, ssm); errors.Is(err, journal.ErrReplayNeeded) {
		_, err = standby.Replay(ctx, ssm)
		if err != nil {
			t.Fatalf("standby replay after term 2: %v", err)
		}
	} else if err != nil {
		t.Fatalf("standby catch-up into term 2: %v", err)
	}
	if err := w2.Close(); err != nil {
		t.Fatalf("close term 2's writer: %v", err)
	}

	// One history, replayed by a third instance.
	var want []string
	want = append(want, "1 1 term 1")
	for id := int64(1); id <= 75; id++ {
		want = append(want, fmt.Sprintf("%d 1 block %d", id+1, id))
	}
	want = append(want, "77 2 term 2")
	for id := int64(100); id <= 120; id++ {
		want = append(want, fmt.Sprintf("%d 2 block %d", id-22, id))
	}
	j3 := openJournal()
	sm3 := &historySM{}
	if _, err := j3.Replay(ctx, sm3); err != nil {
		t.Fatalf("final replay: %v", err)
	}
	for name, got := range map[string][]string{"replay": sm3.lines(), "standby": ssm.lines()} {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s history:\n%v\nwant\n%v", name, got, want)
		}
	}
	// Logs were rotated and sealed on HDFS, none left open but term 2's.
	fis, err := j3.Storage().List(ctx, "FileSystemMaster/v1/logs")
	if err != nil {
		t.Fatal(err)
	}
	if len(fis) < 3 {
		t.Errorf("only %d logs on HDFS; rotation at 512 bytes should make more", len(fis))
	}
}
