package conf

import (
	"fmt"
	"strings"
)

// Type is the type of a property's value, checked at Load.
type Type int

// The property types.
const (
	TypeString    Type = iota // any string
	TypeInt                   // a decimal integer
	TypePort                  // an integer 0..65535
	TypeBool                  // true or false, case-insensitive
	TypeDuration              // see ParseDuration
	TypeBytes                 // see ParseBytes
	TypeRatio                 // a decimal number 0..1
	TypeEnum                  // one of Property.Values, case-insensitive, stored upper case
	TypeList                  // comma separated strings
	TypeBytesList             // comma separated sizes, each as ParseBytes
)

var typeNames = [...]string{"string", "int", "port", "bool", "duration", "bytes", "ratio", "enum", "list", "bytes list"}

// String returns the lower-case name of the type, e.g. "duration".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Scope tells which processes use a property (bit flags). It also selects the
// per-process JAVA_OPTS variable read by Load.
type Scope int

// The scopes.
const (
	ScopeMaster Scope = 1 << iota
	ScopeWorker
	ScopeClient
	ScopeServer = ScopeMaster | ScopeWorker
	ScopeAll    = ScopeMaster | ScopeWorker | ScopeClient
)

// String returns e.g. "master", "worker|client", "all" or "none".
func (s Scope) String() string {
	switch s {
	case 0:
		return "none"
	case ScopeAll:
		return "all"
	case ScopeServer:
		return "server"
	}
	var parts []string
	for _, x := range []struct {
		s Scope
		n string
	}{{ScopeMaster, "master"}, {ScopeWorker, "worker"}, {ScopeClient, "client"}} {
		if s&x.s != 0 {
			parts = append(parts, x.n)
		}
	}
	return strings.Join(parts, "|")
}

// Property describes one configuration key.
type Property struct {
	Name        string
	Type        Type
	Default     string // may contain ${key} references
	Scope       Scope
	EnvVar      string   // environment variable that sets it, "" if none
	Values      []string // allowed values of a TypeEnum, upper case
	Description string
	// Prefix marks a template (Alluxio's PropertyKey.Template): Name ends
	// with "." and every key Name+"<option key>" is known, of Type, without
	// a default (e.g. alluxio.master.journal.ufs.option.alluxio.underfs.hdfs.user).
	// Config.GetPrefixed collects them.
	Prefix bool
}

// table is the single source of truth for configuration keys. It is built
// once and never modified; Properties returns a copy.
var table = buildTable()

var index = func() map[string]int {
	m := make(map[string]int, len(table))
	for i, p := range table {
		if p.Prefix {
			continue // see templates
		}
		if _, dup := m[p.Name]; dup {
			panic("conf: duplicate property " + p.Name)
		}
		m[p.Name] = i
	}
	return m
}()

func buildTable() []Property {
	t := []Property{
		{Name: "alluxio.home", Type: TypeString, Default: ".", Scope: ScopeAll, EnvVar: "ALLUXIO_HOME",
			Description: "Installation directory; other paths default to directories below it."},
		{Name: "alluxio.conf.dir", Type: TypeString, Default: "${alluxio.home}/conf", Scope: ScopeAll, EnvVar: "ALLUXIO_CONF_DIR",
			Description: "Directory holding alluxio-site.properties and alluxio-env.sh."},
		{Name: "alluxio.logs.dir", Type: TypeString, Default: "${alluxio.home}/logs", Scope: ScopeAll, EnvVar: "ALLUXIO_LOGS_DIR",
			Description: "Directory of the processes' log files."},
		{Name: "alluxio.logger.level", Type: TypeEnum, Default: "INFO", Scope: ScopeAll, Values: []string{"DEBUG", "INFO", "WARN", "ERROR"},
			Description: "Minimum level of log records written."},

		{Name: "alluxio.zookeeper.enabled", Type: TypeBool, Default: "false", Scope: ScopeAll,
			Description: "Use ZooKeeper for leader election and leader discovery (fault-tolerant mode)."},
		{Name: "alluxio.zookeeper.address", Type: TypeList, Default: "", Scope: ScopeAll,
			Description: "Comma separated host:port list of the ZooKeeper ensemble."},
		{Name: "alluxio.zookeeper.election.path", Type: TypeString, Default: "/alluxio/election", Scope: ScopeAll,
			Description: "ZooKeeper path of the leader election."},
		{Name: "alluxio.zookeeper.leader.path", Type: TypeString, Default: "/alluxio/leader", Scope: ScopeAll,
			Description: "ZooKeeper path under which the leader publishes its address."},
		{Name: "alluxio.zookeeper.session.timeout", Type: TypeDuration, Default: "60s", Scope: ScopeAll,
			Description: "ZooKeeper session timeout."},
		{Name: "alluxio.zookeeper.connection.timeout", Type: TypeDuration, Default: "15s", Scope: ScopeAll,
			Description: "Time allowed to connect to ZooKeeper."},
		{Name: "alluxio.zookeeper.leader.inquiry.retry", Type: TypeInt, Default: "10", Scope: ScopeAll,
			Description: "Attempts to find the leader through ZooKeeper before giving up."},

		{Name: "alluxio.master.hostname", Type: TypeString, Default: "localhost", Scope: ScopeAll, EnvVar: "ALLUXIO_MASTER_HOSTNAME",
			Description: "Host name the master advertises to workers and clients (must be reachable from other hosts in HA mode)."},
		{Name: "alluxio.master.bind.host", Type: TypeString, Default: "0.0.0.0", Scope: ScopeMaster,
			Description: "Address the master's servers listen on."},
		{Name: "alluxio.master.rpc.port", Type: TypePort, Default: "19998", Scope: ScopeAll,
			Description: "Port of the master's RPC server."},
		{Name: "alluxio.master.web.port", Type: TypePort, Default: "19999", Scope: ScopeMaster,
			Description: "Port of the master's web (HTTP) server."},
		{Name: "alluxio.master.journal.type", Type: TypeEnum, Default: "UFS", Scope: ScopeMaster, Values: []string{"UFS", "EMBEDDED", "NOOP"},
			Description: "Journal implementation; only UFS is supported."},
		{Name: "alluxio.master.journal.folder", Type: TypeString, Default: "${alluxio.home}/journal", Scope: ScopeMaster,
			Description: "Journal location on a file system every master can read and write."},
		{Name: "alluxio.master.journal.log.size.bytes.max", Type: TypeBytes, Default: "10MB", Scope: ScopeMaster,
			Description: "Size at which the journal log file is completed and a new one started."},
		{Name: "alluxio.master.journal.checkpoint.period.entries", Type: TypeInt, Default: "2000000", Scope: ScopeMaster,
			Description: "Journal entries between checkpoints."},
		{Name: "alluxio.master.mount.table.root.ufs", Type: TypeString, Default: "${alluxio.home}/underFSStorage", Scope: ScopeMaster, EnvVar: "ALLUXIO_MASTER_MOUNT_TABLE_ROOT_UFS",
			Description: "Under file system mounted at the root of the namespace."},
		{Name: RootUFSOptionPrefix, Prefix: true, Type: TypeString, Scope: ScopeMaster,
			Description: "Options of the root under file system, one key each: " + RootUFSOptionPrefix + "<key>=<value> " +
				"passes <key>=<value> to it, as `fs mount --option` does (e.g. " + RootUFSOptionPrefix + "alluxio.underfs.hdfs.user=alluxio)."},
		{Name: JournalUFSOptionPrefix, Prefix: true, Type: TypeString, Scope: ScopeMaster,
			Description: "Options of the journal folder's under file system, one key each: " + JournalUFSOptionPrefix + "<key>=<value> " +
				"passes <key>=<value> to it (e.g. " + JournalUFSOptionPrefix + "alluxio.underfs.hdfs.user=alluxio)."},
		{Name: "alluxio.master.worker.timeout", Type: TypeDuration, Default: "5min", Scope: ScopeMaster,
			Description: "Time without heartbeat after which a worker is considered lost."},

		{Name: "alluxio.worker.hostname", Type: TypeString, Default: "localhost", Scope: ScopeWorker, EnvVar: "ALLUXIO_WORKER_HOSTNAME",
			Description: "Host name the worker advertises."},
		{Name: "alluxio.worker.bind.host", Type: TypeString, Default: "0.0.0.0", Scope: ScopeWorker,
			Description: "Address the worker's servers listen on."},
		{Name: "alluxio.worker.rpc.port", Type: TypePort, Default: "29999", Scope: ScopeWorker,
			Description: "Port of the worker's RPC server."},
		{Name: "alluxio.worker.web.port", Type: TypePort, Default: "30000", Scope: ScopeWorker,
			Description: "Port of the worker's web (HTTP) server."},
		{Name: "alluxio.worker.block.heartbeat.interval", Type: TypeDuration, Default: "1sec", Scope: ScopeWorker,
			Description: "Interval between the worker's block heartbeats to the master."},
		{Name: "alluxio.worker.memory.size", Type: TypeBytes, Default: "1GB", Scope: ScopeWorker, EnvVar: "ALLUXIO_WORKER_MEMORY_SIZE",
			Description: "Memory the worker uses for its MEM tier."},
		{Name: "alluxio.worker.tieredstore.levels", Type: TypeInt, Default: "1", Scope: ScopeWorker,
			Description: "Number of storage tiers (1 to 3)."},
	}
	levels := []struct{ alias, path, quota, env string }{
		{"MEM", "/dev/shm/alluxio-worker", "${alluxio.worker.memory.size}", "ALLUXIO_RAM_FOLDER"},
		{"SSD", "${alluxio.home}/data/ssd", "10GB", ""},
		{"HDD", "${alluxio.home}/data/hdd", "10GB", ""},
	}
	for i, l := range levels {
		p := fmt.Sprintf("alluxio.worker.tieredstore.level%d.", i)
		t = append(t,
			Property{Name: p + "alias", Type: TypeString, Default: l.alias, Scope: ScopeWorker,
				Description: fmt.Sprintf("Alias of tier %d (MEM, SSD or HDD).", i)},
			Property{Name: p + "dirs.path", Type: TypeList, Default: l.path, Scope: ScopeWorker, EnvVar: l.env,
				Description: fmt.Sprintf("Comma separated directories of tier %d.", i)},
			Property{Name: p + "dirs.quota", Type: TypeBytesList, Default: l.quota, Scope: ScopeWorker,
				Description: fmt.Sprintf("Capacity of the directories of tier %d: one size for every directory of dirs.path, "+
					"or a comma separated list with one per directory (dirs.path=/mnt/ssd1,/mnt/ssd2 with dirs.quota=100GB,200GB).", i)},
			Property{Name: p + "watermark.high.ratio", Type: TypeRatio, Default: "0.95", Scope: ScopeWorker,
				Description: fmt.Sprintf("Usage of tier %d above which blocks are evicted.", i)},
			Property{Name: p + "watermark.low.ratio", Type: TypeRatio, Default: "0.7", Scope: ScopeWorker,
				Description: fmt.Sprintf("Usage of tier %d eviction brings it down to.", i)},
		)
	}
	t = append(t,
		Property{Name: "alluxio.user.block.size.bytes.default", Type: TypeBytes, Default: "64MB", Scope: ScopeClient,
			Description: "Block size of files created by the client."},
		Property{Name: "alluxio.user.file.writetype.default", Type: TypeEnum, Default: "ASYNC_THROUGH", Scope: ScopeClient,
			Values:      []string{"MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"},
			Description: "Default write type of files created by the client."},
		Property{Name: "alluxio.user.file.readtype.default", Type: TypeEnum, Default: "CACHE", Scope: ScopeClient,
			Values:      []string{"NO_CACHE", "CACHE", "CACHE_PROMOTE"},
			Description: "Default read type of the client."},
		Property{Name: "alluxio.user.rpc.retry.max.duration", Type: TypeDuration, Default: "2min", Scope: ScopeClient,
			Description: "Total time the client retries an RPC before giving up."},
		Property{Name: "alluxio.user.rpc.retry.base.sleep", Type: TypeDuration, Default: "50ms", Scope: ScopeClient,
			Description: "First sleep between RPC retries; doubles on each retry."},
		Property{Name: "alluxio.user.rpc.retry.max.sleep", Type: TypeDuration, Default: "3sec", Scope: ScopeClient,
			Description: "Longest sleep between RPC retries."},
		Property{Name: "alluxio.user.short.circuit.enabled", Type: TypeBool, Default: "true", Scope: ScopeClient,
			Description: "Read blocks of a local worker directly from its storage."},
		Property{Name: "alluxio.user.network.reader.chunk.size.bytes", Type: TypeBytes, Default: "1MB", Scope: ScopeClient,
			Description: "Size of the chunks a worker streams to the client."},
		Property{Name: "alluxio.user.hostname", Type: TypeString, Default: "", Scope: ScopeClient,
			Description: "Client host name used for data locality; empty means the OS host name."},
	)
	t = append(t,
		Property{Name: "alluxio.worker.data.port", Type: TypePort, Default: "0", Scope: ScopeWorker,
			Description: "Port of the worker's data server, which moves block bytes over plain TCP (sendfile, splice) " +
				"beside the RPC server; 0 picks a free port. The port bound is advertised to clients through the master."},
		Property{Name: "alluxio.user.data.transport", Type: TypeEnum, Default: "AUTO", Scope: ScopeClient,
			Values: []string{"AUTO", "GRPC"},
			Description: "How the client moves block bytes to and from remote workers: AUTO uses a worker's data server when it " +
				"advertises one (falling back to gRPC streams if it cannot be reached), GRPC always uses the gRPC streams."},
	)
	t = append(t,
		Property{Name: "alluxio.master.debug.pprof.enabled", Type: TypeBool, Default: "false", Scope: ScopeMaster,
			Description: "Serve Go's profiles (net/http/pprof) under /debug/pprof/ on the master's web port, " +
				"e.g. `go tool pprof http://master:19999/debug/pprof/profile?seconds=10`. Anyone who reaches the web port can read them."},
	)
	return t
}

// Properties returns the table of every known key, in table order. The
// slice is a copy; changing it changes nothing.
func Properties() []Property {
	out := make([]Property, len(table))
	copy(out, table)
	for i := range out {
		out[i].Values = append([]string(nil), out[i].Values...)
	}
	return out
}

// Lookup returns the property named name. A key under a template
// (Property.Prefix) is returned as a property of its own, named name, with
// the template's type, scope and description.
func Lookup(name string) (Property, bool) {
	i, ok := index[name]
	if !ok {
		return templated(name)
	}
	p := table[i]
	p.Values = append([]string(nil), p.Values...)
	return p, true
}
