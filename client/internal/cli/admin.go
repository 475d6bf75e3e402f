package cli

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/alluxio-go/alluxio/client"
	"github.com/alluxio-go/alluxio/common/conf"
)

func (e *env) fsadminCommand() *cli.Command {
	return group("fsadmin", "administrative operations", []*cli.Command{
		{
			Name: "report", Usage: "report the cluster's state", ArgsUsage: "[summary|capacity]",
			Action: e.report,
		},
	})
}

func formatUptime(d time.Duration) string {
	s := int64(d / time.Second)
	return fmt.Sprintf("%d day(s), %d hour(s), %d minute(s), and %d second(s)", s/86400, s%86400/3600, s%3600/60, s%60)
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	order := map[string]int{"MEM": 0, "SSD": 1, "HDD": 2}
	sort.Slice(keys, func(i, j int) bool {
		oi, iok := order[keys[i]]
		oj, jok := order[keys[j]]
		if iok && jok {
			return oi < oj
		}
		if iok != jok {
			return iok
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (e *env) report(c *cli.Context) error {
	if err := needArgs(c, 0, 1, c.Command.ArgsUsage); err != nil {
		return err
	}
	what := c.Args().First()
	if what != "" && what != "summary" && what != "capacity" {
		return cmdErr(c, fmt.Errorf("unknown report %q (want summary or capacity)", what))
	}
	f, err := e.defaultFS(c.Context)
	if err != nil {
		return cmdErr(c, err)
	}
	bi, err := f.GetBlockMasterInfo(c.Context)
	if err != nil {
		return cmdErr(c, describe("/", err))
	}
	workers, err := f.GetWorkerInfoList(c.Context)
	if err != nil {
		return cmdErr(c, describe("/", err))
	}
	out := e.stdout
	if what == "" || what == "summary" {
		mi, err := f.GetMasterInfo(c.Context)
		if err != nil {
			return cmdErr(c, describe("/", err))
		}
		fmt.Fprintln(out, "Alluxio cluster summary: ")
		fmt.Fprintf(out, "    Master Address: %s\n", mi.LeaderAddress)
		fmt.Fprintf(out, "    Web Port: %d\n", mi.WebPort)
		fmt.Fprintf(out, "    Rpc Port: %d\n", mi.RPCPort)
		if !mi.StartTime.IsZero() {
			fmt.Fprintf(out, "    Started: %s\n", formatTime(mi.StartTime))
		}
		fmt.Fprintf(out, "    Uptime: %s\n", formatUptime(mi.UpTime))
		fmt.Fprintf(out, "    Version: %s\n", mi.Version)
		fmt.Fprintf(out, "    Safe Mode: %v\n", mi.SafeMode)
		fmt.Fprintf(out, "    Zookeeper Enabled: %v\n", mi.ZooKeeperEnabled)
		if mi.ZooKeeperEnabled {
			fmt.Fprintf(out, "    Zookeeper Addresses: \n")
			for _, a := range mi.ZooKeeperAddresses {
				fmt.Fprintf(out, "        %s\n", a)
			}
		}
		fmt.Fprintf(out, "    Live Workers: %d\n", bi.LiveWorkers)
		fmt.Fprintf(out, "    Lost Workers: %d\n", bi.LostWorkers)
		fmt.Fprintf(out, "    Total Capacity: %s\n", conf.FormatBytes(bi.Capacity))
		for _, t := range sortedKeys(bi.CapacityOnTiers) {
			fmt.Fprintf(out, "        Tier: %s  Size: %s\n", t, conf.FormatBytes(bi.CapacityOnTiers[t]))
		}
		fmt.Fprintf(out, "    Used Capacity: %s\n", conf.FormatBytes(bi.Used))
		for _, t := range sortedKeys(bi.UsedOnTiers) {
			fmt.Fprintf(out, "        Tier: %s  Size: %s\n", t, conf.FormatBytes(bi.UsedOnTiers[t]))
		}
		fmt.Fprintf(out, "    Free Capacity: %s\n", conf.FormatBytes(bi.Free))
		masters := mi.Masters
		if len(masters) == 0 && mi.LeaderAddress != "" {
			masters = []client.MasterStatus{{Address: mi.LeaderAddress, Role: "LEADER"}}
		}
		if len(masters) > 0 {
			fmt.Fprintf(out, "    Masters: \n")
			writeMasterTable(out, masters, "        ")
		}
		fmt.Fprintln(out)
	}
	e.workerReport(bi, workers)
	return nil
}

func (e *env) workerReport(bi *client.BlockMasterInfo, workers []client.WorkerInfo) {
	out := e.stdout
	fmt.Fprintf(out, "Capacity information for all workers: \n")
	fmt.Fprintf(out, "    Total Capacity: %s\n", conf.FormatBytes(bi.Capacity))
	fmt.Fprintf(out, "    Used Capacity: %s\n", conf.FormatBytes(bi.Used))
	fmt.Fprintf(out, "    Used Percentage: %d%%\n", usedPercent(bi.Used, bi.Capacity))
	fmt.Fprintf(out, "    Free Percentage: %d%%\n", 100-usedPercent(bi.Used, bi.Capacity))
	fmt.Fprintln(out)
	const row = "%-22s %-8s %-16s %-10s %s\n"
	fmt.Fprintf(out, row, "Worker Name", "State", "Last Heartbeat", "Storage", "Total")
	for _, w := range workers {
		fmt.Fprintf(out, row, w.Address.String(), w.State, strconv.FormatInt(int64(w.LastContact/time.Second), 10), "capacity", conf.FormatBytes(w.Capacity))
		fmt.Fprintf(out, row, "", "", "", "used", fmt.Sprintf("%s (%d%%)", conf.FormatBytes(w.Used), usedPercent(w.Used, w.Capacity)))
		for _, t := range w.Tiers {
			fmt.Fprintf(out, row, "", "", "", t.Alias, fmt.Sprintf("%s / %s", conf.FormatBytes(t.Used), conf.FormatBytes(t.Capacity)))
		}
	}
}

func usedPercent(used, capacity int64) int64 {
	if capacity <= 0 {
		return 0
	}
	return int64(math.Round(float64(used) * 100 / float64(capacity)))
}

func (e *env) getConfCommand() *cli.Command {
	return &cli.Command{
		Name: "getConf", Usage: "print configuration values", ArgsUsage: "[--source] [--unit UNIT] [KEY]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "source", Usage: "show where each value came from"},
			&cli.StringFlag{Name: "unit", Usage: "convert sizes (B, KB, MB, GB, TB) or durations (MS, S, MIN, H, D)"},
		},
		Action: e.getConf,
	}
}

var byteUnits = map[string]int64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50}
var durationUnits = map[string]time.Duration{
	"MS": time.Millisecond, "S": time.Second, "SEC": time.Second, "MIN": time.Minute, "M": time.Minute,
	"H": time.Hour, "HOUR": time.Hour, "D": 24 * time.Hour, "DAY": 24 * time.Hour,
}

func convertUnit(p conf.Property, value, unit string) (string, error) {
	u := strings.ToUpper(unit)
	switch p.Type {
	case conf.TypeBytes:
		n, err := conf.ParseBytes(value)
		if err != nil {
			return "", err
		}
		d, ok := byteUnits[u]
		if !ok {
			return "", fmt.Errorf("unknown size unit %q (want B, KB, MB, GB, TB or PB)", unit)
		}
		return strconv.FormatInt(n/d, 10), nil
	case conf.TypeBytesList:
		d, ok := byteUnits[u]
		if !ok {
			return "", fmt.Errorf("unknown size unit %q (want B, KB, MB, GB, TB or PB)", unit)
		}
		var out []string
		for _, item := range strings.Split(value, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			n, err := conf.ParseBytes(item)
			if err != nil {
				return "", err
			}
			out = append(out, strconv.FormatInt(n/d, 10))
		}
		return strings.Join(out, ","), nil
	case conf.TypeDuration:
		t, err := conf.ParseDuration(value)
		if err != nil {
			return "", err
		}
		d, ok := durationUnits[u]
		if !ok {
			return "", fmt.Errorf("unknown time unit %q (want MS, S, MIN, H or D)", unit)
		}
		return strconv.FormatInt(int64(t/d), 10), nil
	}
	return "", fmt.Errorf("%s is a %v, not a size or duration; --unit does not apply", p.Name, p.Type)
}

func (e *env) getConf(c *cli.Context) error {
	if err := needArgs(c, 0, 1, c.Command.ArgsUsage); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return cmdErr(c, errors.New(strings.TrimPrefix(err.Error(), "conf: ")))
	}
	for _, u := range cfg.Unknown() {
		fmt.Fprintf(e.stderr, "alluxio: getConf: warning: unknown property %s\n", u)
	}
	show := func(key string) error {
		p, _ := conf.Lookup(key)
		v := cfg.Get(key)
		if unit := c.String("unit"); unit != "" {
			var err error
			if v, err = convertUnit(p, v, unit); err != nil {
				return err
			}
		}
		if c.Args().Len() == 1 {
			if c.Bool("source") {
				fmt.Fprintf(e.stdout, "%s (%s)\n", v, cfg.Source(key))
			} else {
				fmt.Fprintln(e.stdout, v)
			}
			return nil
		}
		if c.Bool("source") {
			fmt.Fprintf(e.stdout, "%s=%s (%s)\n", key, v, cfg.Source(key))
		} else {
			fmt.Fprintf(e.stdout, "%s=%s\n", key, v)
		}
		return nil
	}
	if c.Args().Len() == 1 {
		key := c.Args().First()
		if _, ok := conf.Lookup(key); !ok {
			return cmdErr(c, fmt.Errorf("%s is not a known property", key))
		}
		return cmdErr(c, show(key))
	}
	for _, key := range cfg.Keys() {
		if unit := strings.ToUpper(c.String("unit")); unit != "" {
			p, _ := conf.Lookup(key)
			_, isBytes := byteUnits[unit]
			_, isDuration := durationUnits[unit]
			if !(isBytes && p.Type == conf.TypeBytes) && !(isDuration && p.Type == conf.TypeDuration) {
				continue
			}
		}
		if err := show(key); err != nil {
			return cmdErr(c, err)
		}
	}
	return nil
}

func (e *env) formatCommand() *cli.Command {
	return &cli.Command{
		Name:  "format",
		Usage: "format the master journal and worker storage (runs alluxio-master --format and alluxio-worker --format)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "s", Usage: "accepted for compatibility"},
		},
		Action: e.format,
	}
}

func (e *env) format(c *cli.Context) error {
	if err := needArgs(c, 0, 0, ""); err != nil {
		return err
	}
	dir := e.binDir
	if dir == "" {
		exe, err := os.Executable()
		if err != nil {
			return cmdErr(c, fmt.Errorf("cannot find the alluxio executable: %v", err))
		}
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		dir = filepath.Dir(exe)
	}
	var args []string
	if e.confDir != "" {
		args = append(args, "--conf-dir", e.confDir)
	}
	keys := make([]string, 0, len(e.flags))
	for k := range e.flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-D", k+"="+e.flags[k])
	}
	args = append(args, "--format")
	for _, name := range []string{"alluxio-master", "alluxio-worker"} {
		bin := filepath.Join(dir, name)
		if _, err := os.Stat(bin); err != nil {
			return cmdErr(c, fmt.Errorf("%s not found next to the alluxio executable (in %s)", name, dir))
		}
		var out bytes.Buffer
		cmd := exec.CommandContext(c.Context, bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return cmdErr(c, fmt.Errorf("%s --format failed: %s", name, lastLine(out.String(), err)))
		}
		e.stdout.Write(out.Bytes())
		fmt.Fprintf(e.stdout, "Formatted %s\n", strings.TrimPrefix(name, "alluxio-"))
	}
	return nil
}

func lastLine(s string, err error) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return err.Error()
}
