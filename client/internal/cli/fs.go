package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/common/pathutil"
)

func (e *env) fsCommand() *cli.Command {
	return group("fs", "file system operations", []*cli.Command{
		{
			Name: "ls", Usage: "list a directory or describe a file", ArgsUsage: "[-R] [-h] [-d] [-p] [--sort FIELD] [-r] PATH...",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "R", Usage: "list subdirectories recursively"},
				&cli.BoolFlag{Name: "h", Usage: "print sizes in human-readable form"},
				&cli.BoolFlag{Name: "d", Usage: "list directories as plain files"},
				&cli.BoolFlag{Name: "p", Usage: "list only pinned files"},
				&cli.BoolFlag{Name: "f", Usage: "force loading metadata (accepted; metadata is always loaded)"},
				&cli.StringFlag{Name: "sort", Value: "path", Usage: "sort by path, size, creationTime, lastModificationTime or inMemoryPercentage"},
				&cli.BoolFlag{Name: "r", Usage: "reverse the sort order"},
			},
			Action: e.ls,
		},
		{Name: "mkdir", Usage: "create directories, with their parents", ArgsUsage: "PATH...", Action: e.mkdir},
		{Name: "cat", Usage: "print a file", ArgsUsage: "PATH", Action: e.cat},
		{Name: "touch", Usage: "create an empty file", ArgsUsage: "PATH", Action: e.touch},
		{Name: "copyFromLocal", Usage: "copy a local file or directory into Alluxio", ArgsUsage: "LOCAL_SRC PATH", Action: e.copyFromLocalCmd},
		{Name: "copyToLocal", Usage: "copy a file or directory to the local file system", ArgsUsage: "PATH LOCAL_DST", Action: e.copyToLocalCmd},
		{
			Name: "cp", Usage: "copy files; prefix local paths with file://", ArgsUsage: "[-R] SRC DST",
			Flags:  []cli.Flag{&cli.BoolFlag{Name: "R", Aliases: []string{"recursive"}, Usage: "copy directories recursively"}},
			Action: e.cp,
		},
		{Name: "mv", Usage: "rename a file or directory", ArgsUsage: "SRC DST", Action: e.mv},
		{
			Name: "rm", Usage: "remove files or directories", ArgsUsage: "[-R] [--alluxioOnly] PATH...",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "R", Usage: "remove directories and their contents"},
				&cli.BoolFlag{Name: "alluxioOnly", Usage: "remove from Alluxio only, keeping the UFS data"},
				&cli.BoolFlag{Name: "U", Usage: "skip the UFS consistency check (accepted)"},
			},
			Action: e.rm,
		},
		{
			Name: "stat", Usage: "describe a file or directory", ArgsUsage: "[-f FORMAT] PATH",
			Flags:  []cli.Flag{&cli.StringFlag{Name: "f", Usage: "format: %N name, %z size, %u owner, %g group, %y modified, %Y modified (ms), %b blocks"}},
			Action: e.stat,
		},
		{
			Name: "du", Usage: "show sizes of files and directories", ArgsUsage: "[-s] [-h] PATH...",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "s", Usage: "summarize each path"},
				&cli.BoolFlag{Name: "h", Usage: "print sizes in human-readable form"},
			},
			Action: e.du,
		},
		{Name: "count", Usage: "count files, folders and bytes under a path", ArgsUsage: "PATH", Action: e.count},
		{
			Name: "head", Usage: "print the first bytes of a file", ArgsUsage: "[-c BYTES] PATH",
			Flags:  []cli.Flag{&cli.StringFlag{Name: "c", Value: "1KB", Usage: "number of bytes (e.g. 100, 2KB)"}},
			Action: func(c *cli.Context) error { return e.headTail(c, true) },
		},
		{
			Name: "tail", Usage: "print the last bytes of a file", ArgsUsage: "[-c BYTES] PATH",
			Flags:  []cli.Flag{&cli.StringFlag{Name: "c", Value: "1KB", Usage: "number of bytes (e.g. 100, 2KB)"}},
			Action: func(c *cli.Context) error { return e.headTail(c, false) },
		},
		{
			Name: "test", Usage: "test a path; exit 0 if true, 1 if false", ArgsUsage: "-d|-e|-f|-s|-z PATH",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "d", Usage: "path is a directory"},
				&cli.BoolFlag{Name: "e", Usage: "path exists"},
				&cli.BoolFlag{Name: "f", Usage: "path is a file"},
				&cli.BoolFlag{Name: "s", Usage: "path is a non-empty file or directory"},
				&cli.BoolFlag{Name: "z", Usage: "path is a zero-length file"},
			},
			Action: e.test,
		},
		{
			Name: "free", Usage: "free cached data (kept in the UFS)", ArgsUsage: "[-f] PATH...",
			Flags:  []cli.Flag{&cli.BoolFlag{Name: "f", Usage: "free pinned files too"}},
			Action: e.free,
		},
		{Name: "persist", Usage: "persist files to the UFS", ArgsUsage: "PATH...", Action: e.persist},
		{Name: "load", Usage: "load files into Alluxio space", ArgsUsage: "PATH...", Action: e.load},
		{
			Name: "mount", Usage: "mount a UFS path, or list mount points", ArgsUsage: "[--readonly] [--option KEY=VALUE]... [ALLUXIO_PATH UFS_PATH]",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "readonly", Usage: "mount read-only"},
				&cli.StringSliceFlag{Name: "option", Usage: "UFS property `KEY=VALUE` (repeatable)"},
				&cli.BoolFlag{Name: "shared", Usage: "accepted for compatibility"},
			},
			Action: e.mount,
		},
		{Name: "unmount", Usage: "remove a mount point", ArgsUsage: "ALLUXIO_PATH", Action: e.unmount},
		{Name: "leader", Usage: "print the leading master's host", Action: e.leader},
		{Name: "masterInfo", Usage: "print the masters", Action: e.masterInfo},
		{
			Name: "chmod", Usage: "change permissions (octal)", ArgsUsage: "[-R] MODE PATH",
			Flags:  []cli.Flag{&cli.BoolFlag{Name: "R", Usage: "recursively"}},
			Action: e.chmod,
		},
		{
			Name: "chown", Usage: "change owner (and group)", ArgsUsage: "[-R] OWNER[:GROUP] PATH",
			Flags:  []cli.Flag{&cli.BoolFlag{Name: "R", Usage: "recursively"}},
			Action: e.chown,
		},
		{
			Name: "chgrp", Usage: "change group", ArgsUsage: "[-R] GROUP PATH",
			Flags:  []cli.Flag{&cli.BoolFlag{Name: "R", Usage: "recursively"}},
			Action: e.chgrp,
		},
		{Name: "pin", Usage: "pin files in Alluxio space", ArgsUsage: "PATH", Action: func(c *cli.Context) error { return e.pin(c, true) }},
		{Name: "unpin", Usage: "unpin files", ArgsUsage: "PATH", Action: func(c *cli.Context) error { return e.pin(c, false) }},
		{
			Name: "setTtl", Usage: "set a time to live (ms, or with a unit: 10s, 2h)", ArgsUsage: "[--action delete|free] PATH TTL",
			Flags:  []cli.Flag{&cli.StringFlag{Name: "action", Value: "delete", Usage: "what to do on expiry: delete or free"}},
			Action: e.setTTL,
		},
		{Name: "unsetTtl", Usage: "remove a time to live", ArgsUsage: "PATH", Action: e.unsetTTL},
	})
}

// statPath resolves arg and returns its status.
func (e *env) statPath(ctx context.Context, arg string) (pathArg, *client.URIStatus, error) {
	p, err := e.resolve(ctx, arg)
	if err != nil {
		return p, nil, err
	}
	st, err := p.fs.GetStatus(ctx, p.path)
	if err != nil {
		return p, nil, describe(p.path, err)
	}
	return p, st, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "01-01-1970 00:00:00:000"
	}
	return t.Format("01-02-2006 15:04:05") + fmt.Sprintf(":%03d", t.Nanosecond()/int(time.Millisecond))
}

func formatSize(n int64, human bool) string {
	if human {
		return conf.FormatBytes(n)
	}
	return strconv.FormatInt(n, 10)
}

// lsLine formats one entry the way Alluxio's ls does.
func lsLine(st *client.URIStatus, human bool) string {
	size := formatSize(st.Length, human)
	state := fmt.Sprintf("%d%%", st.InAlluxioPercentage)
	if st.IsDir {
		size = strconv.FormatInt(st.ChildCount, 10)
		state = "DIR"
	}
	persist := st.PersistenceState
	if persist == "" {
		persist = map[bool]string{true: "PERSISTED", false: "NOT_PERSISTED"}[st.Persisted]
	}
	return fmt.Sprintf("%-11s%-15s%-15s%15s%16s%24s%5s %s", st.FileMode().String(), st.Owner, st.Group, size, persist, formatTime(st.ModificationTime), state, st.Path)
}

func comparePaths(a, b string) int {
	ac, bc := pathutil.Components(a), pathutil.Components(b)
	for i := 0; i < len(ac) && i < len(bc); i++ {
		if c := strings.Compare(ac[i], bc[i]); c != 0 {
			return c
		}
	}
	return len(ac) - len(bc)
}

func sortStatuses(list []*client.URIStatus, by string, reverse bool) error {
	var less func(a, b *client.URIStatus) bool
	switch by {
	case "", "path", "name":
		less = func(a, b *client.URIStatus) bool { return comparePaths(a.Path, b.Path) < 0 }
	case "size":
		less = func(a, b *client.URIStatus) bool { return a.Length < b.Length }
	case "creationTime":
		less = func(a, b *client.URIStatus) bool { return a.CreationTime.Before(b.CreationTime) }
	case "lastModificationTime":
		less = func(a, b *client.URIStatus) bool { return a.ModificationTime.Before(b.ModificationTime) }
	case "inMemoryPercentage", "inAlluxioPercentage":
		less = func(a, b *client.URIStatus) bool { return a.InAlluxioPercentage < b.InAlluxioPercentage }
	default:
		return fmt.Errorf("cannot sort by %q (want path, size, creationTime, lastModificationTime or inMemoryPercentage)", by)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if reverse {
			return less(list[j], list[i])
		}
		return less(list[i], list[j])
	})
	return nil
}

func (e *env) ls(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	ctx := c.Context
	for _, arg := range c.Args().Slice() {
		p, st, err := e.statPath(ctx, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		list := []*client.URIStatus{st}
		if st.IsDir && !c.Bool("d") {
			var opts []client.ListOption
			if c.Bool("R") {
				opts = append(opts, client.Recursive())
			}
			if list, err = p.fs.ListStatus(ctx, p.path, opts...); err != nil {
				return cmdErr(c, describe(p.path, err))
			}
		}
		if err := sortStatuses(list, c.String("sort"), c.Bool("r")); err != nil {
			return cmdErr(c, err)
		}
		for _, s := range list {
			if c.Bool("p") && !s.Pinned {
				continue
			}
			fmt.Fprintln(e.stdout, lsLine(s, c.Bool("h")))
		}
	}
	return nil
}

func (e *env) mkdir(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		p, err := e.resolve(c.Context, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		if err := p.fs.CreateDirectory(c.Context, p.path, client.Recursive()); err != nil {
			return cmdErr(c, describe(p.path, err))
		}
		fmt.Fprintf(e.stdout, "Successfully created directory %s\n", p.path)
	}
	return nil
}

func (e *env) cat(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		p, st, err := e.statPath(c.Context, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		if st.IsDir {
			return cmdErr(c, fmt.Errorf("%s is a directory", p.path))
		}
		if err := e.copyOut(c.Context, p, e.stdout, 0, -1); err != nil {
			return cmdErr(c, err)
		}
	}
	return nil
}

// copyOut writes n bytes of a file from off (n < 0: to the end) to w.
func (e *env) copyOut(ctx context.Context, p pathArg, w io.Writer, off, n int64) error {
	r, err := p.fs.OpenFile(ctx, p.path)
	if err != nil {
		return describe(p.path, err)
	}
	defer r.Close()
	if off > 0 {
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			return describe(p.path, err)
		}
	}
	var src io.Reader = r
	if n >= 0 {
		src = io.LimitReader(r, n)
	}
	if _, err := io.Copy(w, src); err != nil {
		return describe(p.path, err)
	}
	return nil
}

func (e *env) touch(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		p, err := e.resolve(c.Context, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		w, err := p.fs.CreateFile(c.Context, p.path)
		if err == nil {
			err = w.Close()
		}
		if err != nil {
			return cmdErr(c, describe(p.path, err))
		}
		fmt.Fprintf(e.stdout, "%s has been created\n", p.path)
	}
	return nil
}

func localPath(arg string) string {
	if s, ok := strings.CutPrefix(arg, "file://"); ok {
		return s
	}
	return arg
}

func isLocalArg(arg string) bool { return strings.HasPrefix(arg, "file://") }

func (e *env) copyFromLocalCmd(c *cli.Context) error {
	if err := needArgs(c, 2, 2, c.Command.ArgsUsage); err != nil {
		return err
	}
	dst, err := e.resolve(c.Context, c.Args().Get(1))
	if err != nil {
		return cmdErr(c, err)
	}
	return cmdErr(c, e.copyFromLocal(c.Context, localPath(c.Args().Get(0)), dst))
}

// intoDir returns dst/base(name) when dst is an existing directory.
func intoDir(ctx context.Context, dst pathArg, name string) (string, error) {
	st, err := dst.fs.GetStatus(ctx, dst.path)
	switch {
	case err == nil && st.IsDir:
		return pathutil.Join(dst.path, name), nil
	case err == nil:
		return dst.path, nil
	case errors.Is(err, client.ErrNotFound):
		return dst.path, nil
	}
	return "", describe(dst.path, err)
}

func (e *env) copyFromLocal(ctx context.Context, src string, dst pathArg) error {
	fi, err := os.Stat(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("local path %s does not exist", src)
		}
		return err
	}
	target, err := intoDir(ctx, dst, filepath.Base(src))
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return e.copyLocalFile(ctx, src, dst.fs, target, fi.Size())
	}
	return e.copyLocalDir(ctx, src, dst.fs, target)
}

func (e *env) copyLocalDir(ctx context.Context, src string, fsys *client.FileSystem, target string) error {
	if err := fsys.CreateDirectory(ctx, target, client.Recursive(), client.AllowExists()); err != nil {
		return describe(target, err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, ent := range entries {
		s := filepath.Join(src, ent.Name())
		t := pathutil.Join(target, ent.Name())
		if ent.IsDir() {
			if err := e.copyLocalDir(ctx, s, fsys, t); err != nil {
				return err
			}
			continue
		}
		info, err := ent.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		if err := e.copyLocalFile(ctx, s, fsys, t, info.Size()); err != nil {
			return err
		}
	}
	return nil
}

// progress wraps w with a progress bar on stderr when stderr is a terminal.
func (e *env) progress(w io.Writer, size int64, what string) (io.Writer, func()) {
	if !e.isTerminal(e.stderr) {
		return w, func() {}
	}
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return io.MultiWriter(w, bar), func() { bar.Finish() }
}

func (e *env) copyLocalFile(ctx context.Context, src string, fsys *client.FileSystem, target string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := fsys.CreateFile(ctx, target, client.Recursive())
	if err != nil {
		return describe(target, err)
	}
	out, done := e.progress(w, size, filepath.Base(src))
	_, err = io.Copy(out, in)
	done()
	if err != nil {
		w.Cancel()
		return describe(target, err)
	}
	if err := w.Close(); err != nil {
		return describe(target, err)
	}
	abs, _ := filepath.Abs(src)
	fmt.Fprintf(e.stdout, "Copied file://%s to %s\n", abs, target)
	return nil
}

func (e *env) copyToLocalCmd(c *cli.Context) error {
	if err := needArgs(c, 2, 2, c.Command.ArgsUsage); err != nil {
		return err
	}
	src, st, err := e.statPath(c.Context, c.Args().Get(0))
	if err != nil {
		return cmdErr(c, err)
	}
	return cmdErr(c, e.copyToLocal(c.Context, src, st, localPath(c.Args().Get(1))))
}

func (e *env) copyToLocal(ctx context.Context, src pathArg, st *client.URIStatus, dst string) error {
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		dst = filepath.Join(dst, pathutil.Base(src.path))
	}
	if st.IsDir {
		return e.copyDirToLocal(ctx, src, dst)
	}
	return e.copyFileToLocal(ctx, src, st, dst)
}

func (e *env) copyDirToLocal(ctx context.Context, src pathArg, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	list, err := src.fs.ListStatus(ctx, src.path)
	if err != nil {
		return describe(src.path, err)
	}
	for _, s := range list {
		child := pathArg{raw: s.Path, path: s.Path, fs: src.fs}
		d := filepath.Join(dst, s.Name)
		if s.IsDir {
			err = e.copyDirToLocal(ctx, child, d)
		} else {
			err = e.copyFileToLocal(ctx, child, s, d)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *env) copyFileToLocal(ctx context.Context, src pathArg, st *client.URIStatus, dst string) error {
	tmp := dst + ".alluxio-tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	out, done := e.progress(f, st.Length, pathutil.Base(src.path))
	err = e.copyOut(ctx, src, out, 0, -1)
	done()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	abs, _ := filepath.Abs(dst)
	fmt.Fprintf(e.stdout, "Copied %s to file://%s\n", src.path, abs)
	return nil
}

func (e *env) cp(c *cli.Context) error {
	if err := needArgs(c, 2, 2, c.Command.ArgsUsage); err != nil {
		return err
	}
	srcArg, dstArg := c.Args().Get(0), c.Args().Get(1)
	ctx := c.Context
	switch {
	case isLocalArg(srcArg) && isLocalArg(dstArg):
		return cmdErr(c, errors.New("both paths are local; use cp(1)"))
	case isLocalArg(srcArg):
		dst, err := e.resolve(ctx, dstArg)
		if err != nil {
			return cmdErr(c, err)
		}
		src := localPath(srcArg)
		if fi, err := os.Stat(src); err == nil && fi.IsDir() && !c.Bool("R") {
			return cmdErr(c, fmt.Errorf("%s is a directory (use -R to copy it)", src))
		}
		return cmdErr(c, e.copyFromLocal(ctx, src, dst))
	case isLocalArg(dstArg):
		src, st, err := e.statPath(ctx, srcArg)
		if err != nil {
			return cmdErr(c, err)
		}
		if st.IsDir && !c.Bool("R") {
			return cmdErr(c, fmt.Errorf("%s is a directory (use -R to copy it)", src.path))
		}
		return cmdErr(c, e.copyToLocal(ctx, src, st, localPath(dstArg)))
	}
	src, st, err := e.statPath(ctx, srcArg)
	if err != nil {
		return cmdErr(c, err)
	}
	dst, err := e.resolve(ctx, dstArg)
	if err != nil {
		return cmdErr(c, err)
	}
	if st.IsDir && !c.Bool("R") {
		return cmdErr(c, fmt.Errorf("%s is a directory (use -R to copy it)", src.path))
	}
	target, err := intoDir(ctx, dst, pathutil.Base(src.path))
	if err != nil {
		return cmdErr(c, err)
	}
	if pathutil.HasPrefix(target, src.path) && src.fs == dst.fs {
		return cmdErr(c, fmt.Errorf("cannot copy %s into itself", src.path))
	}
	return cmdErr(c, e.copyWithin(ctx, src, st, dst.fs, target))
}

func (e *env) copyWithin(ctx context.Context, src pathArg, st *client.URIStatus, dfs *client.FileSystem, target string) error {
	if st.IsDir {
		if err := dfs.CreateDirectory(ctx, target, client.Recursive(), client.AllowExists()); err != nil {
			return describe(target, err)
		}
		list, err := src.fs.ListStatus(ctx, src.path)
		if err != nil {
			return describe(src.path, err)
		}
		for _, s := range list {
			if err := e.copyWithin(ctx, pathArg{path: s.Path, fs: src.fs}, s, dfs, pathutil.Join(target, s.Name)); err != nil {
				return err
			}
		}
		return nil
	}
	w, err := dfs.CreateFile(ctx, target)
	if err != nil {
		return describe(target, err)
	}
	if err := e.copyOut(ctx, src, w, 0, -1); err != nil {
		w.Cancel()
		return err
	}
	if err := w.Close(); err != nil {
		return describe(target, err)
	}
	fmt.Fprintf(e.stdout, "Copied %s to %s\n", src.path, target)
	return nil
}

func (e *env) mv(c *cli.Context) error {
	if err := needArgs(c, 2, 2, c.Command.ArgsUsage); err != nil {
		return err
	}
	src, _, err := e.statPath(c.Context, c.Args().Get(0))
	if err != nil {
		return cmdErr(c, err)
	}
	dst, err := e.resolve(c.Context, c.Args().Get(1))
	if err != nil {
		return cmdErr(c, err)
	}
	if src.fs != dst.fs {
		return cmdErr(c, errors.New("cannot move between clusters"))
	}
	target, err := intoDir(c.Context, dst, pathutil.Base(src.path))
	if err != nil {
		return cmdErr(c, err)
	}
	if err := src.fs.Rename(c.Context, src.path, target); err != nil {
		return cmdErr(c, describe(target, err))
	}
	fmt.Fprintf(e.stdout, "Renamed %s to %s\n", src.path, target)
	return nil
}

func (e *env) rm(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		p, st, err := e.statPath(c.Context, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		if st.IsDir && !c.Bool("R") {
			return cmdErr(c, fmt.Errorf("%s is a directory, to remove it, please use \"rm -R <path>\"", p.path))
		}
		var opts []client.DeleteOption
		if c.Bool("R") {
			opts = append(opts, client.Recursive())
		}
		if c.Bool("alluxioOnly") {
			opts = append(opts, client.AlluxioOnly())
		}
		if err := p.fs.Delete(c.Context, p.path, opts...); err != nil {
			return cmdErr(c, describe(p.path, err))
		}
		fmt.Fprintf(e.stdout, "%s has been removed\n", p.path)
	}
	return nil
}

func (e *env) stat(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		p, st, err := e.statPath(c.Context, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		if f := c.String("f"); f != "" {
			fmt.Fprintln(e.stdout, statFormat(f, st))
			continue
		}
		kind := "file"
		if st.IsDir {
			kind = "directory"
		}
		fmt.Fprintf(e.stdout, "%s is a %s path.\n", p.path, kind)
		fmt.Fprintln(e.stdout, fileInfoString(st))
		if !st.IsDir {
			fmt.Fprintln(e.stdout, "Containing the following blocks: ")
			for _, b := range st.Blocks {
				fmt.Fprintln(e.stdout, blockInfoString(b))
			}
		}
	}
	return nil
}

func statFormat(f string, st *client.URIStatus) string {
	r := strings.NewReplacer(
		"%N", st.Name, "%z", strconv.FormatInt(st.Length, 10), "%u", st.Owner, "%g", st.Group,
		"%y", formatTime(st.ModificationTime), "%Y", strconv.FormatInt(st.ModificationTime.UnixMilli(), 10),
		"%b", strconv.Itoa(len(st.Blocks)),
	)
	return r.Replace(f)
}

func fileInfoString(st *client.URIStatus) string {
	ttl := int64(-1)
	if st.TTL >= 0 {
		ttl = st.TTL.Milliseconds()
	}
	return fmt.Sprintf("FileInfo{fileId=%d, name=%s, path=%s, ufsPath=%s, length=%d, blockSizeBytes=%d, creationTimeMs=%d, "+
		"completed=%v, folder=%v, pinned=%v, cacheable=%v, persisted=%v, blockIds=%v, inAlluxioPercentage=%d, "+
		"lastModificationTimeMs=%d, lastAccessTimeMs=%d, ttl=%d, ttlAction=%s, owner=%s, group=%s, mode=%d, "+
		"persistenceState=%s, mountPoint=%v, mountId=%d}",
		st.FileID, st.Name, st.Path, st.UfsPath, st.Length, st.BlockSize, st.CreationTime.UnixMilli(),
		st.Completed, st.IsDir, st.Pinned, st.Cacheable, st.Persisted, st.BlockIDs, st.InAlluxioPercentage,
		st.ModificationTime.UnixMilli(), st.AccessTime.UnixMilli(), ttl, st.TTLAction, st.Owner, st.Group, st.Mode,
		st.PersistenceState, st.MountPoint, st.MountID)
}

func blockInfoString(b client.FileBlock) string {
	var locs []string
	for _, l := range b.Locations {
		locs = append(locs, fmt.Sprintf("BlockLocation{workerId=%d, address=WorkerNetAddress{host=%s, rpcPort=%d, webPort=%d}, tierAlias=%s}",
			l.WorkerID, l.Address.Host, l.Address.RPCPort, l.Address.WebPort, l.Tier))
	}
	return fmt.Sprintf("BlockInfo{id=%d, offset=%d, length=%d, locations=[%s]}", b.ID, b.Offset, b.Length, strings.Join(locs, ", "))
}

// cachedBytes is how much of a file workers hold.
func cachedBytes(st *client.URIStatus) int64 {
	if len(st.Blocks) == 0 {
		return st.Length * int64(st.InAlluxioPercentage) / 100
	}
	var n int64
	for _, b := range st.Blocks {
		if len(b.Locations) > 0 {
			n += b.Length
		}
	}
	return n
}

func percent(part, whole int64) int64 {
	if whole == 0 {
		return 100
	}
	return part * 100 / whole
}

func (e *env) du(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	human := c.Bool("h")
	const format = "%-13s %-16s %s\n"
	fmt.Fprintf(e.stdout, format, "File Size", "In Alluxio", "Path")
	line := func(size, cached int64, path string) {
		fmt.Fprintf(e.stdout, format, formatSize(size, human), fmt.Sprintf("%s (%d%%)", formatSize(cached, human), percent(cached, size)), path)
	}
	for _, arg := range c.Args().Slice() {
		p, st, err := e.statPath(c.Context, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		files := []*client.URIStatus{st}
		if st.IsDir {
			list, err := p.fs.ListStatus(c.Context, p.path, client.Recursive())
			if err != nil {
				return cmdErr(c, describe(p.path, err))
			}
			files = files[:0]
			for _, s := range list {
				if !s.IsDir {
					files = append(files, s)
				}
			}
			sortStatuses(files, "path", false)
		}
		var total, totalCached int64
		for _, f := range files {
			total += f.Length
			totalCached += cachedBytes(f)
			if !c.Bool("s") {
				line(f.Length, cachedBytes(f), f.Path)
			}
		}
		if c.Bool("s") {
			line(total, totalCached, p.path)
		}
	}
	return nil
}

func (e *env) count(c *cli.Context) error {
	if err := needArgs(c, 1, 1, c.Command.ArgsUsage); err != nil {
		return err
	}
	p, st, err := e.statPath(c.Context, c.Args().First())
	if err != nil {
		return cmdErr(c, err)
	}
	var files, folders, size int64
	if st.IsDir {
		folders = 1
		list, err := p.fs.ListStatus(c.Context, p.path, client.Recursive())
		if err != nil {
			return cmdErr(c, describe(p.path, err))
		}
		for _, s := range list {
			if s.IsDir {
				folders++
			} else {
				files++
				size += s.Length
			}
		}
	} else {
		files, size = 1, st.Length
	}
	const format = "%-25s%-25s%-15s\n"
	fmt.Fprintf(e.stdout, format, "File Count", "Folder Count", "Folder Size")
	fmt.Fprintf(e.stdout, format, strconv.FormatInt(files, 10), strconv.FormatInt(folders, 10), strconv.FormatInt(size, 10))
	return nil
}

func (e *env) headTail(c *cli.Context, head bool) error {
	if err := needArgs(c, 1, 1, c.Command.ArgsUsage); err != nil {
		return err
	}
	n, err := conf.ParseBytes(c.String("c"))
	if err != nil || n < 0 {
		return cmdErr(c, fmt.Errorf("bad byte count %q", c.String("c")))
	}
	p, st, err := e.statPath(c.Context, c.Args().First())
	if err != nil {
		return cmdErr(c, err)
	}
	if st.IsDir {
		return cmdErr(c, fmt.Errorf("%s is a directory", p.path))
	}
	off := int64(0)
	if !head {
		off = max(0, st.Length-n)
	}
	return cmdErr(c, e.copyOut(c.Context, p, e.stdout, off, n))
}

func (e *env) test(c *cli.Context) error {
	if err := needArgs(c, 1, 1, c.Command.ArgsUsage); err != nil {
		return err
	}
	var flag string
	for _, f := range []string{"d", "e", "f", "s", "z"} {
		if c.Bool(f) {
			if flag != "" {
				return cmdErr(c, errors.New("give exactly one of -d, -e, -f, -s, -z"))
			}
			flag = f
		}
	}
	if flag == "" {
		return cmdErr(c, errors.New("give one of -d, -e, -f, -s, -z"))
	}
	p, err := e.resolve(c.Context, c.Args().First())
	if err != nil {
		return cmdErr(c, err)
	}
	st, err := p.fs.GetStatus(c.Context, p.path)
	if err != nil && !errors.Is(err, client.ErrNotFound) {
		return cmdErr(c, describe(p.path, err))
	}
	exists := err == nil
	var ok bool
	var why string
	switch flag {
	case "e":
		ok, why = exists, "does not exist"
	case "d":
		ok, why = exists && st.IsDir, "is not a directory"
	case "f":
		ok, why = exists && !st.IsDir, "is not a file"
	case "s":
		ok = exists && ((st.IsDir && st.ChildCount > 0) || (!st.IsDir && st.Length > 0))
		why = "is empty"
	case "z":
		ok, why = exists && !st.IsDir && st.Length == 0, "is not a zero-length file"
	}
	if ok {
		return nil
	}
	if !exists {
		why = "does not exist"
	}
	return cmdErr(c, &exitError{code: 1, msg: p.path + " " + why})
}

// walkFiles calls fn for the file at p or every file under it.
func walkFiles(ctx context.Context, p pathArg, st *client.URIStatus, fn func(*client.URIStatus) error) error {
	if !st.IsDir {
		return fn(st)
	}
	list, err := p.fs.ListStatus(ctx, p.path, client.Recursive())
	if err != nil {
		return describe(p.path, err)
	}
	sortStatuses(list, "path", false)
	for _, s := range list {
		if !s.IsDir {
			if err := fn(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *env) free(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		p, err := e.resolve(c.Context, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		opts := []client.FreeOption{client.Recursive()}
		if c.Bool("f") {
			opts = append(opts, client.Forced())
		}
		if err := p.fs.Free(c.Context, p.path, opts...); err != nil {
			return cmdErr(c, describe(p.path, err))
		}
		fmt.Fprintf(e.stdout, "%s was successfully freed from Alluxio space.\n", p.path)
	}
	return nil
}

func (e *env) persist(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		p, st, err := e.statPath(c.Context, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		err = walkFiles(c.Context, p, st, func(s *client.URIStatus) error {
			if s.Persisted {
				fmt.Fprintf(e.stdout, "%s is already persisted\n", s.Path)
				return nil
			}
			if err := p.fs.Persist(c.Context, s.Path); err != nil {
				return describe(s.Path, err)
			}
			fmt.Fprintf(e.stdout, "persisted file %s with size %d\n", s.Path, s.Length)
			return nil
		})
		if err != nil {
			return cmdErr(c, err)
		}
	}
	return nil
}

func (e *env) load(c *cli.Context) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	for _, arg := range c.Args().Slice() {
		p, st, err := e.statPath(c.Context, arg)
		if err != nil {
			return cmdErr(c, err)
		}
		err = walkFiles(c.Context, p, st, func(s *client.URIStatus) error {
			if s.InAlluxioPercentage < 100 {
				r, err := p.fs.OpenFile(c.Context, s.Path, client.Cache)
				if err != nil {
					return describe(s.Path, err)
				}
				_, err = io.Copy(io.Discard, r)
				r.Close()
				if err != nil {
					return describe(s.Path, err)
				}
				if err := waitLoaded(c.Context, p.fs, s.Path); err != nil {
					return err
				}
			}
			fmt.Fprintf(e.stdout, "%s loaded\n", s.Path)
			return nil
		})
		if err != nil {
			return cmdErr(c, err)
		}
	}
	return nil
}

// loadWait bounds how long load waits for the workers to report the
// blocks it read.
const loadWait = 10 * time.Second

// waitLoaded waits until the master counts path 100% in Alluxio: a worker
// finishes caching a block read from the UFS, and tells the master, just
// after it has served the bytes, so "loaded" would otherwise come a moment
// before `fs stat` agrees.
func waitLoaded(ctx context.Context, fs *client.FileSystem, path string) error {
	deadline := time.Now().Add(loadWait)
	for {
		st, err := fs.GetStatus(ctx, path)
		if err != nil {
			return describe(path, err)
		}
		if st.InAlluxioPercentage >= 100 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is %d%% in Alluxio %v after reading it: the workers did not cache every block (tier full?)", path, st.InAlluxioPercentage, loadWait)
		}
		select {
		case <-ctx.Done():
			return describe(path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (e *env) mount(c *cli.Context) error {
	if err := needArgs(c, 0, 2, c.Command.ArgsUsage); err != nil {
		return err
	}
	if c.Args().Len() == 0 {
		f, err := e.defaultFS(c.Context)
		if err != nil {
			return cmdErr(c, err)
		}
		mt, err := f.GetMountTable(c.Context)
		if err != nil {
			return cmdErr(c, describe("/", err))
		}
		paths := make([]string, 0, len(mt))
		for p := range mt {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			m := mt[p]
			fmt.Fprintf(e.stdout, "%-40s on  %-25s (readonly=%v, properties=%v)\n", m.UfsURI, m.AlluxioPath, m.ReadOnly, m.Properties)
		}
		return nil
	}
	if c.Args().Len() != 2 {
		return needArgs(c, 2, 2, c.Command.ArgsUsage)
	}
	p, err := e.resolve(c.Context, c.Args().Get(0))
	if err != nil {
		return cmdErr(c, err)
	}
	var opts []client.MountOption
	if c.Bool("readonly") {
		opts = append(opts, client.ReadOnly())
	}
	props := client.MountProperties{}
	for _, kv := range c.StringSlice("option") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return cmdErr(c, fmt.Errorf("--option %q: want KEY=VALUE", kv))
		}
		props[k] = v
	}
	if len(props) > 0 {
		opts = append(opts, props)
	}
	ufs := c.Args().Get(1)
	if err := p.fs.Mount(c.Context, p.path, ufs, opts...); err != nil {
		if errors.Is(err, client.ErrNotFound) {
			// The UFS path or the mount point's parent: the master's
			// message says which ("<path> does not exist" would blame
			// the mount point).
			return cmdErr(c, errors.New(strings.ReplaceAll(err.Error(), "client: ", "")))
		}
		return cmdErr(c, describe(p.path, err))
	}
	fmt.Fprintf(e.stdout, "Mounted %s at %s\n", ufs, p.path)
	return nil
}

func (e *env) unmount(c *cli.Context) error {
	if err := needArgs(c, 1, 1, c.Command.ArgsUsage); err != nil {
		return err
	}
	p, err := e.resolve(c.Context, c.Args().First())
	if err != nil {
		return cmdErr(c, err)
	}
	if err := p.fs.Unmount(c.Context, p.path); err != nil {
		return cmdErr(c, describe(p.path, err))
	}
	fmt.Fprintf(e.stdout, "Unmounted %s\n", p.path)
	return nil
}

// masterFS returns the FileSystem of an optional URI argument.
func (e *env) masterFS(c *cli.Context) (*client.FileSystem, error) {
	if c.Args().Len() > 0 {
		p, err := e.resolve(c.Context, c.Args().First())
		if err != nil {
			return nil, err
		}
		return p.fs, nil
	}
	return e.defaultFS(c.Context)
}

// leader prints the leader's host:port: in HA mode the one published in
// ZooKeeper, otherwise the configured master.
func (e *env) leader(c *cli.Context) error {
	f, err := e.masterFS(c)
	if err != nil {
		return cmdErr(c, err)
	}
	addr, err := f.MasterAddress(c.Context)
	if err != nil {
		return cmdErr(c, describe("/", err))
	}
	fmt.Fprintln(e.stdout, addr)
	return nil
}

// masterInfo prints, as Alluxio does, the ZooKeeper setting, the leader and
// every master, then each master's role, epoch and journal sequence.
func (e *env) masterInfo(c *cli.Context) error {
	f, err := e.masterFS(c)
	if err != nil {
		return cmdErr(c, err)
	}
	mi, err := f.GetMasterInfo(c.Context)
	if err != nil {
		return cmdErr(c, describe("/", err))
	}
	if mi.ZooKeeperEnabled {
		fmt.Fprintf(e.stdout, "Zookeeper is enabled: ZooKeeper addresses: %s\n", strings.Join(mi.ZooKeeperAddresses, ","))
	} else {
		fmt.Fprintln(e.stdout, "Zookeeper is not enabled")
	}
	leader := mi.LeaderAddress
	if leader == "" {
		leader = "(none)"
	}
	fmt.Fprintf(e.stdout, "Current leader master: %s\n", leader)
	masters := mi.Masters
	if len(masters) == 0 && mi.LeaderAddress != "" {
		masters = []client.MasterStatus{{Address: mi.LeaderAddress, Role: "LEADER"}}
	}
	var all []string
	for _, m := range masters {
		all = append(all, m.Address)
	}
	fmt.Fprintf(e.stdout, "All masters: [%s]\n", strings.Join(all, ", "))
	if len(masters) == 0 {
		return nil
	}
	fmt.Fprintln(e.stdout)
	writeMasterTable(e.stdout, masters, "")
	return nil
}

// writeMasterTable prints one line per master: address, role, epoch,
// journal sequence, start time and version; unknown values are "-".
func writeMasterTable(w io.Writer, masters []client.MasterStatus, indent string) {
	rows := [][]string{{"Address", "Role", "Epoch", "Journal sequence", "Started", "Version"}}
	for _, m := range masters {
		epoch, seq, started, ver := "-", "-", "-", orDash(m.Version)
		if m.Role != "UNAVAILABLE" {
			epoch, seq = strconv.FormatInt(m.Epoch, 10), strconv.FormatInt(m.JournalSequence, 10)
		}
		if !m.StartTime.IsZero() {
			started = m.StartTime.Format("01-02-2006 15:04:05:000")
		}
		rows = append(rows, []string{m.Address, orDash(m.Role), epoch, seq, started, ver})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, v := range r {
			widths[i] = max(widths[i], len(v))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, v := range r {
			if i == len(r)-1 {
				b.WriteString(v)
				break
			}
			fmt.Fprintf(&b, "%-*s  ", widths[i], v)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (e *env) setAttr(c *cli.Context, arg string, opts client.SetAttributeOptions) (pathArg, error) {
	p, err := e.resolve(c.Context, arg)
	if err != nil {
		return p, err
	}
	if err := p.fs.SetAttribute(c.Context, p.path, opts); err != nil {
		return p, describe(p.path, err)
	}
	return p, nil
}

func (e *env) chmod(c *cli.Context) error {
	if err := needArgs(c, 2, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	m, err := strconv.ParseUint(c.Args().First(), 8, 32)
	if err != nil || m > 0o7777 {
		return cmdErr(c, fmt.Errorf("invalid mode %q (want octal, e.g. 755)", c.Args().First()))
	}
	for _, arg := range c.Args().Slice()[1:] {
		p, err := e.setAttr(c, arg, client.SetAttributeOptions{Mode: client.Ptr(uint32(m)), Recursive: c.Bool("R")})
		if err != nil {
			return cmdErr(c, err)
		}
		fmt.Fprintf(e.stdout, "Changed permission of %s to %o\n", p.path, m)
	}
	return nil
}

func (e *env) chown(c *cli.Context) error {
	if err := needArgs(c, 2, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	owner, group, hasGroup := strings.Cut(c.Args().First(), ":")
	if owner == "" || (hasGroup && group == "") {
		return cmdErr(c, fmt.Errorf("invalid owner %q (want OWNER or OWNER:GROUP)", c.Args().First()))
	}
	opts := client.SetAttributeOptions{Owner: &owner, Recursive: c.Bool("R")}
	if hasGroup {
		opts.Group = &group
	}
	for _, arg := range c.Args().Slice()[1:] {
		p, err := e.setAttr(c, arg, opts)
		if err != nil {
			return cmdErr(c, err)
		}
		if hasGroup {
			fmt.Fprintf(e.stdout, "Changed owner:group of %s to %s:%s.\n", p.path, owner, group)
		} else {
			fmt.Fprintf(e.stdout, "Changed owner of %s to %s.\n", p.path, owner)
		}
	}
	return nil
}

func (e *env) chgrp(c *cli.Context) error {
	if err := needArgs(c, 2, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	group := c.Args().First()
	for _, arg := range c.Args().Slice()[1:] {
		p, err := e.setAttr(c, arg, client.SetAttributeOptions{Group: &group, Recursive: c.Bool("R")})
		if err != nil {
			return cmdErr(c, err)
		}
		fmt.Fprintf(e.stdout, "Changed group of %s to %s\n", p.path, group)
	}
	return nil
}

func (e *env) pin(c *cli.Context, pinned bool) error {
	if err := needArgs(c, 1, -1, c.Command.ArgsUsage); err != nil {
		return err
	}
	p, err := e.setAttr(c, c.Args().First(), client.SetAttributeOptions{Pinned: &pinned})
	if err != nil {
		return cmdErr(c, err)
	}
	fmt.Fprintf(e.stdout, "File '%s' was successfully %s.\n", p.path, map[bool]string{true: "pinned", false: "unpinned"}[pinned])
	return nil
}

func (e *env) setTTL(c *cli.Context) error {
	if err := needArgs(c, 2, 2, c.Command.ArgsUsage); err != nil {
		return err
	}
	ttl, err := conf.ParseDuration(c.Args().Get(1))
	if err != nil || ttl < 0 {
		return cmdErr(c, fmt.Errorf("invalid TTL %q (want milliseconds or a duration such as 10s, 2h)", c.Args().Get(1)))
	}
	action := strings.ToUpper(c.String("action"))
	if action != "DELETE" && action != "FREE" {
		return cmdErr(c, fmt.Errorf("invalid action %q (want delete or free)", c.String("action")))
	}
	p, err := e.setAttr(c, c.Args().First(), client.SetAttributeOptions{TTL: &ttl, TTLAction: &action})
	if err != nil {
		return cmdErr(c, err)
	}
	fmt.Fprintf(e.stdout, "TTL of path '%s' was successfully set to %d milliseconds, with expiry action set to %s\n", p.path, ttl.Milliseconds(), action)
	return nil
}

func (e *env) unsetTTL(c *cli.Context) error {
	if err := needArgs(c, 1, 1, c.Command.ArgsUsage); err != nil {
		return err
	}
	p, err := e.setAttr(c, c.Args().First(), client.SetAttributeOptions{TTL: client.Ptr(time.Duration(-1))})
	if err != nil {
		return cmdErr(c, err)
	}
	fmt.Fprintf(e.stdout, "TTL of path '%s' was successfully removed.\n", p.path)
	return nil
}
