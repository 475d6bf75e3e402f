package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SiteFile and EnvFile are the names of the files Load reads from the
// configuration directory.
const (
	SiteFile = "alluxio-site.properties"
	EnvFile  = "alluxio-env.sh"
)

// SourceKind says which kind of source set a value.
type SourceKind int

// The source kinds, lowest precedence first.
const (
	SourceDefault  SourceKind = iota // the table's default
	SourceFile                       // alluxio-site.properties
	SourceEnv                        // an environment variable
	SourceJavaOpts                   // a -D item of a *_JAVA_OPTS variable
	SourceFlag                       // LoadOptions.Flags
	SourceRuntime                    // FromMap or Config.With
)

// Source tells where a value came from.
type Source struct {
	Kind SourceKind
	// Name is the variable of SourceEnv and SourceJavaOpts.
	Name string
	// File and Line locate a SourceFile value, or a variable assigned in
	// alluxio-env.sh rather than in the process environment.
	File string
	Line int
}

// String returns "default", "/x/conf/alluxio-site.properties:12",
// "env ALLUXIO_MASTER_HOSTNAME", "ALLUXIO_MASTER_JAVA_OPTS", "flag" or
// "runtime". A variable read from alluxio-env.sh is followed by its
// location, e.g. "env ALLUXIO_HOME (/x/conf/alluxio-env.sh:3)".
func (s Source) String() string {
	loc := ""
	if s.File != "" {
		loc = s.File + ":" + strconv.Itoa(s.Line)
	}
	withLoc := func(x string) string {
		if loc == "" {
			return x
		}
		return x + " (" + loc + ")"
	}
	switch s.Kind {
	case SourceDefault:
		return "default"
	case SourceFile:
		return loc
	case SourceEnv:
		return withLoc("env " + s.Name)
	case SourceJavaOpts:
		return withLoc(s.Name)
	case SourceFlag:
		return "flag"
	case SourceRuntime:
		return "runtime"
	}
	return fmt.Sprintf("SourceKind(%d)", int(s.Kind))
}

// LoadOptions are the inputs of Load.
type LoadOptions struct {
	// Scope selects the per-process JAVA_OPTS variable: ALLUXIO_MASTER_JAVA_OPTS
	// for ScopeMaster, ALLUXIO_WORKER_JAVA_OPTS for ScopeWorker,
	// ALLUXIO_USER_JAVA_OPTS for ScopeClient (each bit set, in that order).
	Scope Scope
	// ConfDir holds alluxio-site.properties and alluxio-env.sh; "" means
	// $ALLUXIO_CONF_DIR, else $ALLUXIO_HOME/conf, else ./conf. Missing files
	// are fine. An explicit ConfDir also sets alluxio.conf.dir (source
	// "flag") unless Flags does.
	ConfDir string
	// Env looks up environment variables; nil means os.LookupEnv.
	Env func(string) (string, bool)
	// Flags are key -> value, highest precedence (source "flag").
	Flags map[string]string
	// Logger receives warnings (unknown keys) and debug notes (ignored JVM
	// options, skipped lines of alluxio-env.sh); nil discards them.
	Logger *slog.Logger
}

type entry struct {
	raw string
	src Source
}

// Config is an immutable, validated configuration. Its getters never fail on
// a key of the table and panic on any other key (a programming error).
type Config struct {
	set      map[string]entry  // known keys explicitly set (not defaults)
	unknown  map[string]entry  // unknown alluxio.* keys
	values   map[string]string // every known key, expanded and normalised
	warnings []string          // "key (source)" of unknown keys, in order seen
}

// Load reads the configuration from the sources described in the package
// documentation and validates it.
func Load(opts LoadOptions) (*Config, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	realEnv := opts.Env
	if realEnv == nil {
		realEnv = processEnv
	}
	nonEmpty := func(name string) (string, bool) {
		v, ok := realEnv(name)
		return v, ok && v != ""
	}
	confDir := opts.ConfDir
	if confDir == "" {
		if d, ok := nonEmpty("ALLUXIO_CONF_DIR"); ok {
			confDir = d
		} else if h, ok := nonEmpty("ALLUXIO_HOME"); ok {
			confDir = filepath.Join(h, "conf")
		} else {
			confDir = "conf"
		}
	}
	c := &Config{set: map[string]entry{}, unknown: map[string]entry{}}

	// alluxio-site.properties
	sitePath := filepath.Join(confDir, SiteFile)
	data, err := os.ReadFile(sitePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Debug("conf: no site properties", "path", sitePath)
	case err != nil:
		return nil, fmt.Errorf("conf: read %s: %w", sitePath, err)
	default:
		for _, e := range parseProperties(string(data)) {
			c.put(e.Key, e.Value, Source{Kind: SourceFile, File: sitePath, Line: e.Line}, log)
		}
	}

	// alluxio-env.sh, then the environment.
	envPath := filepath.Join(confDir, EnvFile)
	var fileEnv map[string]envAssign
	data, err = os.ReadFile(envPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("conf: read %s: %w", envPath, err)
	default:
		fileEnv = parseEnvFile(string(data), realEnv, func(line int, text, why string) {
			log.Debug("conf: skipped line of env file", "file", envPath, "line", line, "text", text, "reason", why)
		})
	}
	getenv := func(name string, kind SourceKind) (string, Source, bool) {
		if v, ok := nonEmpty(name); ok {
			return v, Source{Kind: kind, Name: name}, true
		}
		if a, ok := fileEnv[name]; ok && a.Value != "" {
			return a.Value, Source{Kind: kind, Name: name, File: envPath, Line: a.Line}, true
		}
		return "", Source{}, false
	}
	for _, p := range table {
		if p.EnvVar == "" {
			continue
		}
		if v, src, ok := getenv(p.EnvVar, SourceEnv); ok {
			c.put(p.Name, v, src, log)
		}
	}

	// JAVA_OPTS
	vars := []string{"ALLUXIO_JAVA_OPTS"}
	for _, x := range []struct {
		s Scope
		v string
	}{{ScopeMaster, "ALLUXIO_MASTER_JAVA_OPTS"}, {ScopeWorker, "ALLUXIO_WORKER_JAVA_OPTS"}, {ScopeClient, "ALLUXIO_USER_JAVA_OPTS"}} {
		if opts.Scope&x.s != 0 {
			vars = append(vars, x.v)
		}
	}
	for _, name := range vars {
		v, src, ok := getenv(name, SourceJavaOpts)
		if !ok {
			continue
		}
		props, ignored, err := parseJavaOpts(v)
		if err != nil {
			return nil, fmt.Errorf("conf: cannot split %s: %w", src, err)
		}
		for _, o := range ignored {
			log.Debug("conf: ignored JVM option", "option", o, "source", src.String())
		}
		for _, kv := range props {
			if !strings.HasPrefix(kv[0], "alluxio.") {
				log.Debug("conf: ignored system property", "key", kv[0], "source", src.String())
				continue
			}
			c.put(kv[0], kv[1], src, log)
		}
	}

	// Flags. An explicit ConfDir is reported as alluxio.conf.dir.
	if opts.ConfDir != "" {
		if _, ok := opts.Flags["alluxio.conf.dir"]; !ok {
			c.put("alluxio.conf.dir", opts.ConfDir, Source{Kind: SourceFlag}, log)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(opts.Flags)) {
		c.put(k, opts.Flags[k], Source{Kind: SourceFlag}, log)
	}
	if err := c.resolve(); err != nil {
		return nil, err
	}
	return c, nil
}

// FromMap returns the defaults overridden by m (source "runtime"), validated.
// Unknown keys are an error. It is meant for tests and embedding.
func FromMap(m map[string]string) (*Config, error) {
	c := &Config{set: map[string]entry{}, unknown: map[string]entry{}}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !known(k) {
			return nil, fmt.Errorf("conf: unknown property %s", k)
		}
		c.set[k] = entry{raw: m[k], src: Source{Kind: SourceRuntime}}
	}
	if err := c.resolve(); err != nil {
		return nil, err
	}
	return c, nil
}

// put records key=value from src; unknown alluxio.* keys are kept and
// warned about, other keys are ignored. Keys under a template are known.
func (c *Config) put(key, value string, src Source, log *slog.Logger) {
	if known(key) {
		c.set[key] = entry{raw: value, src: src}
		return
	}
	if !strings.HasPrefix(key, "alluxio.") {
		log.Debug("conf: ignored non-alluxio property", "key", key, "source", src.String())
		return
	}
	log.Warn("conf: unknown property", "key", key, "source", src.String())
	c.unknown[key] = entry{raw: value, src: src}
	c.warnings = append(c.warnings, key+" ("+src.String()+")")
}

// parseJavaOpts splits JVM options into -Dkey=value pairs and the other
// options.
func parseJavaOpts(s string) (props [][2]string, ignored []string, err error) {
	words, err := splitWords(s, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range words {
		kv, ok := strings.CutPrefix(w, "-D")
		k, v, _ := strings.Cut(kv, "=")
		if !ok || k == "" {
			ignored = append(ignored, w)
			continue
		}
		props = append(props, [2]string{k, v})
	}
	return props, ignored, nil
}

func (c *Config) lookupRaw(key string) (entry, bool) {
	if e, ok := c.set[key]; ok {
		return e, true
	}
	if i, ok := index[key]; ok {
		return entry{raw: table[i].Default, src: Source{Kind: SourceDefault}}, true
	}
	e, ok := c.unknown[key]
	return e, ok
}

// resolve expands ${key} references of every known key and validates it.
func (c *Config) resolve() error {
	c.values = make(map[string]string, len(table))
	done := map[string]string{}
	props := slices.DeleteFunc(slices.Clone(table), func(p Property) bool { return p.Prefix })
	for _, k := range c.templatedSet() {
		p, _ := templated(k)
		props = append(props, p)
	}
	for _, p := range props {
		v, err := c.expand(p.Name, done, nil)
		if err != nil {
			return err
		}
		e, _ := c.lookupRaw(p.Name)
		nv, want := normalize(p, v)
		if want != "" {
			shown := strconv.Quote(v)
			if v != e.raw {
				shown = fmt.Sprintf("%q (from %q)", v, e.raw)
			}
			return fmt.Errorf("conf: invalid value %s for %s (want %s) from %s", shown, p.Name, want, e.src)
		}
		c.values[p.Name] = nv
	}
	return nil
}

// expand returns the value of key with ${...} references replaced.
func (c *Config) expand(key string, done map[string]string, stack []string) (string, error) {
	if v, ok := done[key]; ok {
		return v, nil
	}
	for i, k := range stack {
		if k == key {
			return "", fmt.Errorf("conf: cycle in ${} references: %s", strings.Join(append(stack[i:], key), " -> "))
		}
	}
	e, _ := c.lookupRaw(key)
	s := e.raw
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			b.WriteString(s)
			break
		}
		ref := strings.TrimSpace(s[i+2 : i+2+j])
		if _, ok := c.lookupRaw(ref); !ok {
			return "", fmt.Errorf("conf: %s from %s refers to undefined ${%s}", key, e.src, ref)
		}
		v, err := c.expand(ref, done, append(stack, key))
		if err != nil {
			return "", err
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+3+j:]
	}
	done[key] = b.String()
	return done[key], nil
}

// normalize checks v for p's type and returns its canonical form, or what
// was wanted.
func normalize(p Property, v string) (string, string) {
	v = strings.TrimSpace(v)
	switch p.Type {
	case TypeInt:
		if _, err := strconv.ParseInt(v, 10, 0); err != nil {
			return "", "an integer"
		}
	case TypePort:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return "", "a port number 0..65535"
		}
	case TypeBool:
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil || (v != "" && (v[0] == '0' || v[0] == '1' || len(v) == 1)) {
			return "", "true or false"
		}
		return strconv.FormatBool(b), ""
	case TypeDuration:
		if _, err := ParseDuration(v); err != nil {
			return "", "a duration such as 500ms, 60s, 2min, 1h"
		}
	case TypeBytes:
		if _, err := ParseBytes(v); err != nil {
			return "", "a size such as 512KB, 64MB, 1GB"
		}
	case TypeBytesList:
		items := strings.Split(v, ",")
		for i, item := range items {
			items[i] = strings.TrimSpace(item)
			if _, err := ParseBytes(items[i]); err != nil {
				return "", fmt.Sprintf("comma separated sizes such as 100GB,200GB; item %d: %s",
					i+1, strings.TrimPrefix(err.Error(), "conf: "))
			}
		}
		return strings.Join(items, ","), ""
	case TypeRatio:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return "", "a ratio between 0 and 1"
		}
	case TypeEnum:
		u := strings.ToUpper(v)
		if !slices.Contains(p.Values, u) {
			return "", "one of " + strings.Join(p.Values, ", ")
		}
		return u, ""
	}
	return v, ""
}

func mustProp(key string) Property {
	if i, ok := index[key]; ok {
		return table[i]
	}
	if p, ok := templated(key); ok {
		return p
	}
	panic("conf: unknown property " + key)
}

// Get returns the expanded value of key.
func (c *Config) Get(key string) string {
	mustProp(key)
	return c.values[key]
}

// GetInt64 returns an int, port or bytes key as an integer.
func (c *Config) GetInt64(key string) int64 {
	p := mustProp(key)
	v := c.values[key]
	var (
		n   int64
		err error
	)
	switch p.Type {
	case TypeInt, TypePort:
		n, err = strconv.ParseInt(v, 10, 64)
	case TypeBytes:
		n, err = ParseBytes(v)
	default:
		panic(fmt.Sprintf("conf: %s is a %s, not an integer", key, p.Type))
	}
	if err != nil {
		panic(fmt.Sprintf("conf: %s: %v", key, err))
	}
	return n
}

// GetInt returns an int, port or bytes key as an int.
func (c *Config) GetInt(key string) int { return int(c.GetInt64(key)) }

// GetBool returns a bool key.
func (c *Config) GetBool(key string) bool {
	p := mustProp(key)
	if p.Type != TypeBool {
		panic(fmt.Sprintf("conf: %s is a %s, not a bool", key, p.Type))
	}
	return c.values[key] == "true"
}

// GetDuration returns a duration key.
func (c *Config) GetDuration(key string) time.Duration {
	p := mustProp(key)
	if p.Type != TypeDuration {
		panic(fmt.Sprintf("conf: %s is a %s, not a duration", key, p.Type))
	}
	d, err := ParseDuration(c.values[key])
	if err != nil {
		panic(err)
	}
	return d
}

// GetBytes returns a bytes (or int) key in bytes.
func (c *Config) GetBytes(key string) int64 {
	p := mustProp(key)
	if p.Type != TypeBytes && p.Type != TypeInt {
		panic(fmt.Sprintf("conf: %s is a %s, not a size", key, p.Type))
	}
	return c.GetInt64(key)
}

// GetBytesList returns a bytes-list key, one size per item, in bytes.
func (c *Config) GetBytesList(key string) []int64 {
	p := mustProp(key)
	if p.Type != TypeBytesList {
		panic(fmt.Sprintf("conf: %s is a %s, not a list of sizes", key, p.Type))
	}
	var out []int64
	for _, s := range strings.Split(c.values[key], ",") {
		n, err := ParseBytes(s)
		if err != nil {
			panic(fmt.Sprintf("conf: %s: %v", key, err))
		}
		out = append(out, n)
	}
	return out
}

// GetFloat returns a ratio key.
func (c *Config) GetFloat(key string) float64 {
	p := mustProp(key)
	if p.Type != TypeRatio {
		panic(fmt.Sprintf("conf: %s is a %s, not a ratio", key, p.Type))
	}
	f, err := strconv.ParseFloat(c.values[key], 64)
	if err != nil {
		panic(err)
	}
	return f
}

// GetList splits a value at commas, trims the items and drops empty ones.
func (c *Config) GetList(key string) []string {
	var out []string
	for _, s := range strings.Split(c.Get(key), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// IsSet reports whether any source other than the default set key.
func (c *Config) IsSet(key string) bool {
	mustProp(key)
	_, ok := c.set[key]
	return ok
}

// Source tells where the value of key came from.
func (c *Config) Source(key string) Source {
	mustProp(key)
	if e, ok := c.set[key]; ok {
		return e.src
	}
	return Source{Kind: SourceDefault}
}

// Describe returns the value of key and its source, for
// `alluxio getConf --source`.
func (c *Config) Describe(key string) (string, Source) {
	return c.Get(key), c.Source(key)
}

// Keys returns every known key, sorted: the keys of the table and the keys
// set under its templates (Property.Prefix).
func (c *Config) Keys() []string {
	return slices.Sorted(slices.Values(append(slices.Collect(maps.Keys(index)), c.templatedSet()...)))
}

// Unknown lists the unknown alluxio.* keys that were set, as
// "key (source)", in the order they were read.
func (c *Config) Unknown() []string { return slices.Clone(c.warnings) }

// With returns a copy of c with key set to value (source "runtime"),
// validated; c is unchanged.
func (c *Config) With(key, value string) (*Config, error) {
	if !known(key) {
		return nil, fmt.Errorf("conf: unknown property %s", key)
	}
	n := &Config{set: maps.Clone(c.set), unknown: maps.Clone(c.unknown), warnings: slices.Clone(c.warnings)}
	n.set[key] = entry{raw: value, src: Source{Kind: SourceRuntime}}
	if err := n.resolve(); err != nil {
		return nil, err
	}
	return n, nil
}

// processEnv is os.LookupEnv, except that an unset ALLUXIO_HOME defaults to
// the installation the running binary belongs to (<home>/bin/<binary> beside
// alluxio-start.sh), as Alluxio's launch scripts derive it: bin/alluxio then
// finds conf/ and the journal wherever it is run from.
func processEnv(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v, true
	}
	if name == "ALLUXIO_HOME" {
		if exe, err := os.Executable(); err == nil {
			return homeOf(exe)
		}
	}
	return os.LookupEnv(name)
}

// homeOf returns the Alluxio home of the executable exe, if it lies in a bin
// directory that also holds alluxio-start.sh.
func homeOf(exe string) (string, bool) {
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	bin := filepath.Dir(exe)
	if filepath.Base(bin) != "bin" {
		return "", false
	}
	if _, err := os.Stat(filepath.Join(bin, "alluxio-start.sh")); err != nil {
		return "", false
	}
	return filepath.Dir(bin), true
}
