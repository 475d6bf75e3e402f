package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/master/internal/journalstore"
	"github.com/alluxio-go/alluxio/proto/journalpb"
)

// dumpJournal prints the journal's history as replay applies it, one line
// per entry: "<seq> <epoch> <EntryType> <compact JSON of the entry>".
// Entries loaded from a checkpoint carry seq and epoch 0. Two masters that
// followed one history print the same lines.
func dumpJournal(ctx context.Context, c *conf.Config, log *slog.Logger, stdout io.Writer) error {
	folder := c.Get("alluxio.master.journal.folder")
	st, err := journalstore.OpenConfigured(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	out := bufio.NewWriter(stdout)
	err = journal.Dump(ctx, journal.Config{
		Folder:                  folder,
		Storage:                 st,
		LogSizeBytesMax:         c.GetBytes("alluxio.master.journal.log.size.bytes.max"),
		CheckpointPeriodEntries: c.GetInt64("alluxio.master.journal.checkpoint.period.entries"),
		Logger:                  log,
	}, func(e *journalpb.JournalEntry) error {
		line, err := DumpLine(e)
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, line+"\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("dump journal %s: %w", folder, err)
	}
	return out.Flush()
}

// DumpLine formats one entry as --dump-journal prints it.
func DumpLine(e *journalpb.JournalEntry) (string, error) {
	typ := "None"
	if f := e.ProtoReflect().WhichOneof(e.ProtoReflect().Descriptor().Oneofs().ByName("entry")); f != nil {
		typ = string(f.Message().Name())
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("dump journal: seq %d: %w", e.GetSequenceNumber(), err)
	}
	// protojson's whitespace is deliberately unstable; compact it so that
	// dumps compare byte for byte.
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return "", fmt.Errorf("dump journal: seq %d: %w", e.GetSequenceNumber(), err)
	}
	return strings.Join([]string{fmt.Sprint(e.GetSequenceNumber()), fmt.Sprint(e.GetEpoch()), typ, buf.String()}, " "), nil
}
