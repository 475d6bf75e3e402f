package proctest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a started daemon process; Done closes when it has exited.
type Proc struct {
	Cmd  *exec.Cmd
	Done chan struct{}
}

// Start starts cmd and reaps it in the background.
func Start(cmd *exec.Cmd) (*Proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, Done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.Done) }()
	return p, nil
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// Stop ends the process: SIGCONT (in case it was paused), SIGTERM, then
// SIGKILL if it has not exited after grace. It returns once the process has
// exited.
func (p *Proc) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGCONT)
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Done:
	case <-time.After(grace):
		_ = p.Cmd.Process.Kill()
		<-p.Done
	}
}

// SyncBuffer is a bytes.Buffer safe for a process's writes and a test's
// reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// JournalLine is one line of alluxio-master --dump-journal.
type JournalLine struct {
	Seq   int64
	Epoch int64
	Type  string
	JSON  string
}

// ParseJournalDump parses the output of alluxio-master --dump-journal:
// one `<seq> <epoch> <EntryType> <JSON>` line per entry.
func ParseJournalDump(s string) ([]JournalLine, error) {
	var lines []JournalLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		f := strings.SplitN(text, " ", 4)
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: want <seq> <epoch> <EntryType> <json>, got %q", n, text)
		}
		seq, err1 := strconv.ParseInt(f[0], 10, 64)
		epoch, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("line %d: want <seq> <epoch> <EntryType> <json>, got %q", n, text)
		}
		l := JournalLine{Seq: seq, Epoch: epoch, Type: f[2]}
		if len(f) == 4 {
			l.JSON = f[3]
			if !json.Valid([]byte(l.JSON)) {
				return nil, fmt.Errorf("line %d: entry is not JSON: %q", n, text)
			}
		}
		lines = append(lines, l)
	}
	return lines, sc.Err()
}
