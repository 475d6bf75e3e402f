// Package cli implements the `alluxio` command line: `alluxio fs <cmd>`,
// `alluxio fsadmin report`, `alluxio getConf`, `alluxio version` and
// `alluxio format`. Main runs it in-process so tests can drive it.
//
// Every failure ends with a non-zero status and exactly one line on stderr,
// "alluxio: <command>: <reason>"; usage is printed only when asked for.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/client/internal/bench"
	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/uri"
	"github.com/alluxio-go/alluxio/common/version"
)

// exitError carries a status without a message (e.g. `fs test` false).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// env is the state of one CLI run.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	confDir        string
	flags          map[string]string
	cfg            *conf.Config
	fss            map[string]*client.FileSystem // by URI authority
	// clientOpts are added to every FileSystem (tests use them).
	clientOpts []client.Option
	// isTerminal reports whether a writer is a terminal (progress bars).
	isTerminal func(io.Writer) bool
	// binDir holds alluxio-master and alluxio-worker; "" means the
	// directory of the running executable.
	binDir string
	// closers release what the FileSystems do not own (inquire clients).
	closers []io.Closer
	// tracing is set while a command runs traced (--trace or OTEL_*).
	tracing *tracing
	// telemetryEnv replaces os.LookupEnv for telemetry.Setup; for tests.
	telemetryEnv func(string) (string, bool)
}

// Option adjusts a CLI run; for tests.
type Option func(*env)

// WithClientOptions passes options to every client.FileSystem the CLI makes.
func WithClientOptions(opts ...client.Option) Option {
	return func(e *env) { e.clientOpts = append(e.clientOpts, opts...) }
}

// Main runs the CLI with args (args[0] is the program name) and returns the
// exit status. It never calls os.Exit.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, opts ...Option) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, fss: map[string]*client.FileSystem{}, isTerminal: isTerminal}
	for _, o := range opts {
		o(e)
	}
	defer e.close()
	app := e.app()
	err := app.RunContext(ctx, reorderFlags(app, normalizeArgs(args)))
	e.finishTracing(err, stderr)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, oneLine("alluxio: "+ee.msg))
		}
		return ee.code
	}
	fmt.Fprintln(stderr, oneLine("alluxio: "+err.Error()))
	return 1
}

// normalizeArgs splits "-Dkey=value" into "-D", "key=value" before the
// command name, as Java users type it.
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	cmdSeen := false
	for i, a := range args {
		if i > 0 && !cmdSeen && strings.HasPrefix(a, "-D") && len(a) > 2 && a[2] != '=' {
			out = append(out, "-D", a[2:])
			continue
		}
		if i > 0 && !strings.HasPrefix(a, "-") && !isValueFlag(args[i-1]) {
			cmdSeen = true
		}
		out = append(out, a)
	}
	return out
}

// reorderFlags moves a subcommand's flags in front of its positional
// arguments, so `fs ls /dir -R` works like `fs ls -R /dir`.
func reorderFlags(app *cli.App, args []string) []string {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") { // global flags
		if isValueFlag(args[i]) {
			i++
		}
		i++
	}
	cmds := app.Commands
	var cmd *cli.Command
	for i < len(args) {
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(args[i]) {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
		i++
	}
	if cmd == nil || len(cmd.Subcommands) > 0 {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		if _, isBool := f.(*cli.BoolFlag); !isBool {
			for _, n := range f.Names() {
				takesValue[n] = true
			}
		}
	}
	var flags, pos []string
	rest := args[i:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			pos = append(pos, rest[j+1:]...)
			break
		}
		if len(a) > 1 && strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if takesValue[name] && !strings.Contains(name, "=") && j+1 < len(rest) {
				flags = append(flags, rest[j+1])
				j++
			}
			continue
		}
		pos = append(pos, a)
	}
	out := append(append([]string(nil), args[:i]...), flags...)
	if len(pos) > 0 {
		out = append(append(out, "--"), pos...)
	}
	return out
}

func isValueFlag(a string) bool { return a == "-D" || a == "--conf-dir" || a == "-conf-dir" }

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func (e *env) close() {
	for _, f := range e.fss {
		f.Close()
	}
	for _, c := range e.closers {
		c.Close()
	}
}

func usageErr(c *cli.Context, err error, _ bool) error {
	return fmt.Errorf("%s: %v", c.Command.Name, err)
}

// helpOnce frees -h for `ls -h` and `du -h`: help is --help only.
var helpOnce sync.Once

func (e *env) app() *cli.App {
	helpOnce.Do(func() { cli.HelpFlag = &cli.BoolFlag{Name: "help", Usage: "show help"} })
	app := &cli.App{
		Name:                      "alluxio",
		Usage:                     "command line of the Alluxio-compatible caching file system",
		Version:                   version.Version,
		Writer:                    e.stdout,
		ErrWriter:                 e.stderr,
		HideVersion:               true,
		DisableSliceFlagSeparator: true,
		UseShortOptionHandling:    true,
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%v", err)
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "conf-dir", Usage: "configuration directory (default $ALLUXIO_CONF_DIR, $ALLUXIO_HOME/conf, ./conf)", Category: "configuration"},
			&cli.StringSliceFlag{Name: "D", Usage: "set a property, `key=value` (repeatable)", Category: "configuration"},
			&cli.BoolFlag{Name: "trace", Usage: "print the command's span tree (calls, RPC attempts, masters) to stderr when it ends; OTEL_* variables also export it", Category: "diagnostics"},
		},
		Before: func(c *cli.Context) error {
			e.confDir = c.String("conf-dir")
			e.flags = map[string]string{}
			for _, kv := range c.StringSlice("D") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return fmt.Errorf("-D %q: want key=value", kv)
				}
				e.flags[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			ctx, err := e.startTracing(c.Context, c.Bool("trace"), c.Args().Slice())
			if err != nil {
				return err
			}
			c.Context = ctx
			return nil
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return fmt.Errorf("unknown command %q (want fs, fsadmin, getConf, version or format)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{
			e.fsCommand(),
			e.fsadminCommand(),
			e.getConfCommand(),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintf(e.stdout, "Alluxio version: %s\n", version.String())
					return nil
				},
			},
			e.formatCommand(),
			bench.Command(e.config, e.stdout),
		},
	}
	setUsageErrors(app.Commands)
	return app
}

// setUsageErrors makes flag errors one-line errors instead of usage dumps.
func setUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = usageErr
		setUsageErrors(c.Subcommands)
	}
}

// group returns a parent command whose unknown subcommands are errors.
func group(name, usage string, subs []*cli.Command) *cli.Command {
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
	return &cli.Command{
		Name:        name,
		Usage:       usage,
		Subcommands: subs,
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return fmt.Errorf("%s: unknown command %q", name, c.Args().First())
			}
			return cli.ShowSubcommandHelp(c)
		},
	}
}

// config loads the client configuration once.
func (e *env) config() (*conf.Config, error) {
	if e.cfg != nil {
		return e.cfg, nil
	}
	cfg, err := conf.Load(conf.LoadOptions{Scope: conf.ScopeClient, ConfDir: e.confDir, Flags: e.flags, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	e.cfg = cfg
	return cfg, nil
}

// fsFor returns the FileSystem for a parsed URI's authority.
func (e *env) fsFor(ctx context.Context, u uri.URI) (*client.FileSystem, error) {
	if f, ok := e.fss[u.Authority]; ok {
		return f, nil
	}
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	ic, err := client.InquireClientFromURI(u, cfg)
	if err != nil {
		return nil, err
	}
	if c, ok := ic.(io.Closer); ok {
		e.closers = append(e.closers, c)
	}
	opts := append([]client.Option{client.WithMasterInquireClient(ic)}, e.clientOpts...)
	f, err := client.NewFromConfig(ctx, cfg, opts...)
	if err != nil {
		return nil, err
	}
	e.fss[u.Authority] = f
	return f, nil
}

// defaultFS is the FileSystem of the configuration, for commands without a path.
func (e *env) defaultFS(ctx context.Context) (*client.FileSystem, error) {
	return e.fsFor(ctx, uri.URI{})
}

// parsePath validates an Alluxio path argument: a plain absolute path or an
// alluxio:// URI.
func parsePath(arg string) (uri.URI, error) {
	if !strings.Contains(arg, "://") {
		if arg == "" {
			return uri.URI{}, errors.New("path is empty")
		}
		if !strings.HasPrefix(arg, "/") {
			return uri.URI{}, fmt.Errorf("path %q is not absolute", arg)
		}
		for _, c := range strings.Split(arg, "/") {
			if c == "." || c == ".." {
				return uri.URI{}, fmt.Errorf("path %q contains a %q component", arg, c)
			}
		}
	}
	u, err := uri.Parse(arg)
	if err != nil {
		return uri.URI{}, errors.New(strings.TrimPrefix(err.Error(), "uri: "))
	}
	return u, nil
}

// pathArg is a parsed path argument with its FileSystem.
type pathArg struct {
	raw  string
	path string
	fs   *client.FileSystem
}

func (e *env) resolve(ctx context.Context, arg string) (pathArg, error) {
	u, err := parsePath(arg)
	if err != nil {
		return pathArg{}, err
	}
	f, err := e.fsFor(ctx, u)
	if err != nil {
		return pathArg{}, err
	}
	return pathArg{raw: arg, path: u.Path, fs: f}, nil
}

// describe turns a client error about path into a short reason.
func describe(path string, err error) error {
	var ee *exitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return err
	case errors.Is(err, client.ErrNotFound):
		return fmt.Errorf("%s does not exist", path)
	case errors.Is(err, client.ErrAlreadyExists):
		return fmt.Errorf("%s already exists", path)
	case errors.Is(err, client.ErrDirectoryNotEmpty):
		return fmt.Errorf("%s is a non-empty directory (use -R to remove it)", path)
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted")
	}
	msg := err.Error()
	if errors.Is(err, client.ErrZooKeeperUnreachable) {
		// The rest is how we got there; the reason is enough.
		if i := strings.Index(msg, "cannot reach ZooKeeper"); i >= 0 {
			msg = msg[i:]
		}
	}
	return errors.New(strings.ReplaceAll(msg, "client: ", ""))
}

// cmdErr prefixes an error with the command name.
func cmdErr(c *cli.Context, err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			ee.msg = c.Command.Name + ": " + ee.msg
		}
		return ee
	}
	if errors.Is(err, client.ErrZooKeeperUnreachable) {
		err = describe("", err)
	} else if msg := err.Error(); strings.Contains(msg, "client: ") {
		err = errors.New(strings.ReplaceAll(msg, "client: ", ""))
	}
	return fmt.Errorf("%s: %w", c.Command.Name, err)
}

// needArgs checks the number of positional arguments.
func needArgs(c *cli.Context, min, max int, usage string) error {
	n := c.Args().Len()
	if n < min || (max >= 0 && n > max) {
		return fmt.Errorf("%s: wrong number of arguments (usage: %s %s)", c.Command.Name, c.Command.Name, usage)
	}
	return nil
}

// WithTerminal overrides the check of whether stderr is a terminal.
func WithTerminal(is bool) Option {
	return func(e *env) { e.isTerminal = func(io.Writer) bool { return is } }
}

// WithTelemetryEnv replaces the environment lookup of the OTEL_* variables
// that choose exporters (the exporters still read the process environment).
func WithTelemetryEnv(lookup func(string) (string, bool)) Option {
	return func(e *env) { e.telemetryEnv = lookup }
}

// WithBinDir sets where `format` looks for alluxio-master and alluxio-worker.
func WithBinDir(dir string) Option { return func(e *env) { e.binDir = dir } }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
