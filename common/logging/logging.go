// Package logging builds the slog loggers of the alluxio processes: a text
// handler at the level of alluxio.logger.level, written to
// <alluxio.logs.dir>/<process>.log or to a terminal. Libraries receive the
// logger; they never use the global one.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// ParseLevel parses DEBUG, INFO, WARN (or WARNING) and ERROR,
// case-insensitively; "" is INFO.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug, nil
	case "", "INFO":
		return slog.LevelInfo, nil
	case "WARN", "WARNING":
		return slog.LevelWarn, nil
	case "ERROR":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logging: unknown level %q (want DEBUG, INFO, WARN or ERROR)", s)
}

// New returns a logger writing text records at level or above to w.
func New(w io.Writer, level string) (*slog.Logger, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// OpenFile opens <dir>/<name>.log for appending, creating dir and the file
// as needed.
func OpenFile(dir, name string) (io.WriteCloser, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("logging: bad log name %q", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("logging: create log directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("logging: %w", err)
	}
	return f, nil
}
