// Package daemon is the alluxio-master process: flag parsing, configuration,
// logging, journal formatting and dumping, and the serve-until-signalled
// loop. main only calls Run, so tests run the daemon in-process.
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/logging"
	"github.com/alluxio-go/alluxio/common/telemetry"
	"github.com/alluxio-go/alluxio/common/version"
	"github.com/alluxio-go/alluxio/master/internal/journal"
	"github.com/alluxio-go/alluxio/master/internal/journalstore"
	"github.com/alluxio-go/alluxio/master/internal/server"
)

// ShutdownTimeout bounds the graceful drain of RPCs at stop.
const ShutdownTimeout = 30 * time.Second

type kvFlag map[string]string

func (k kvFlag) String() string { return "" }
func (k kvFlag) Set(s string) error {
	key, val, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	k[strings.TrimSpace(key)] = strings.TrimSpace(val)
	return nil
}

// normalizeArgs turns Java-style "-Dkey=value" into "-D key=value".
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if strings.HasPrefix(a, "-D") && len(a) > 2 && a[2] != '=' {
			out = append(out, "-D", a[2:])
			continue
		}
		out = append(out, a)
	}
	return out
}

// Started, when set, is called with the server once it serves (tests).
type Started func(*server.Server)

// Run runs the master until ctx is done, then stops gracefully and returns
// nil. args exclude the program name.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return RunWithHook(ctx, args, stdout, stderr, nil)
}

// RunWithHook is Run with a callback once the server serves.
func RunWithHook(ctx context.Context, args []string, stdout, stderr io.Writer, started Started) error {
	fs := flag.NewFlagSet("alluxio-master", flag.ContinueOnError)
	fs.SetOutput(stderr)
	props := kvFlag{}
	confDir := fs.String("conf-dir", "", "configuration directory (default $ALLUXIO_CONF_DIR, $ALLUXIO_HOME/conf, ./conf)")
	format := fs.Bool("format", false, "format the journal folder (erasing it) and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	checkFormat := fs.Bool("journal-formatted", false, "print \"formatted\" or \"not formatted\" for the journal folder and exit (non-zero only if the folder cannot be read)")
	dump := fs.Bool("dump-journal", false, "print the journal history as replay applies it, one line per entry (<seq> <epoch> <EntryType> <JSON>), and exit")
	fs.Var(props, "D", "set a property, -Dkey=value (repeatable)")
	fs.Var(props, "set", "set a property, --set key=value (repeatable)")
	if err := fs.Parse(normalizeArgs(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *showVersion {
		fmt.Fprintf(stdout, "alluxio-master version %s\n", version.Version)
		return nil
	}
	var bootLevel slog.LevelVar
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: &bootLevel}))
	c, err := conf.Load(conf.LoadOptions{Scope: conf.ScopeMaster, ConfDir: *confDir, Flags: props, Logger: log})
	if err != nil {
		return err
	}
	lvl, err := logging.ParseLevel(c.Get("alluxio.logger.level"))
	if err != nil {
		return fmt.Errorf("alluxio.logger.level (from %s): %w", c.Source("alluxio.logger.level"), err)
	}
	bootLevel.Set(lvl)
	folder := c.Get("alluxio.master.journal.folder")
	if *checkFormat {
		st, err := journalstore.OpenConfigured(ctx, c)
		if err != nil {
			return err
		}
		defer st.Close()
		ok, err := journal.IsFormattedStorage(ctx, st)
		if err != nil {
			return fmt.Errorf("journal folder %s: %w", folder, err)
		}
		if ok {
			fmt.Fprintln(stdout, "formatted")
		} else {
			fmt.Fprintln(stdout, "not formatted")
		}
		return nil
	}
	if *format {
		// The same storage selection as the server's (journalstore.Open).
		st, err := journalstore.OpenConfigured(ctx, c)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := journal.FormatStorage(ctx, st); err != nil {
			return fmt.Errorf("format journal %s: %w", folder, err)
		}
		fmt.Fprintf(stdout, "Formatted journal at %s\n", folder)
		return nil
	}
	if *dump {
		return dumpJournal(ctx, c, log, stdout)
	}
	log.Info("starting alluxio-master", "version", version.Version, "journal_folder", folder, "root_ufs", c.Get("alluxio.master.mount.table.root.ufs"))
	// Tracing from the OTEL_* environment (no exporter unless configured).
	stopTracing, tp, err := telemetry.Setup(ctx, "alluxio-master", telemetry.WithAttributes(attribute.String("alluxio.master.address",
		net.JoinHostPort(c.Get("alluxio.master.hostname"), strconv.Itoa(c.GetInt("alluxio.master.rpc.port"))))))
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn("flushing trace spans at exit", "err", err)
		}
	}()
	srv, err := server.Start(ctx, server.Options{Conf: c, Logger: log, Version: version.Version, TracerProvider: tp})
	if err != nil {
		return err
	}
	if started != nil {
		started(srv)
	}
	<-ctx.Done()
	log.Info("stopping alluxio-master", "reason", context.Cause(ctx))
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	return srv.Shutdown(sctx)
}
