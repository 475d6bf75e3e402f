package conf

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The templates of the key table (Property.Prefix): the UFS options of the
// journal folder and of the root mount, as Alluxio names them.
const (
	// JournalUFSOptionPrefix + "<key>" passes <key> to the journal folder's
	// UFS (e.g. alluxio.underfs.hdfs.user).
	JournalUFSOptionPrefix = "alluxio.master.journal.ufs.option."
	// RootUFSOptionPrefix + "<key>" passes <key> to the root mount's UFS.
	RootUFSOptionPrefix = "alluxio.master.mount.table.root.option."
)

// templates are the rows of the table with Prefix set.
var templates = func() []Property {
	var out []Property
	for _, p := range table {
		if p.Prefix { // each ends with a dot (TestTemplatesInTable)
			out = append(out, p)
		}
	}
	return out
}()

// template returns the template key falls under: key is its prefix followed
// by a non-empty option key.
func template(key string) (Property, bool) {
	for _, p := range templates {
		if len(key) > len(p.Name) && strings.HasPrefix(key, p.Name) {
			return p, true
		}
	}
	return Property{}, false
}

// templated describes key, a key under a template, as a property of its own.
func templated(key string) (Property, bool) {
	p, ok := template(key)
	if !ok {
		return Property{}, false
	}
	p.Name, p.Prefix = key, false
	p.Values = append([]string(nil), p.Values...)
	return p, true
}

// known reports whether key is a key of the table or under a template.
func known(key string) bool {
	if _, ok := index[key]; ok {
		return true
	}
	_, ok := template(key)
	return ok
}

// GetPrefixed returns the keys set under the template prefix (with or
// without its final dot; e.g. JournalUFSOptionPrefix), with the prefix cut
// off, mapped to their expanded values: for
// alluxio.master.journal.ufs.option.alluxio.underfs.hdfs.user=alluxio it
// returns {"alluxio.underfs.hdfs.user": "alluxio"}. The map is empty, never
// nil, when none is set; it is a copy. A prefix that is no template of the
// table panics, as the other getters do on an unknown key.
func (c *Config) GetPrefixed(prefix string) map[string]string {
	if !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	if !slices.ContainsFunc(templates, func(p Property) bool { return p.Name == prefix }) {
		panic(fmt.Sprintf("conf: %s is not a template of the key table", prefix))
	}
	out := map[string]string{}
	for k, v := range c.values {
		if opt, ok := strings.CutPrefix(k, prefix); ok && opt != "" {
			out[opt] = v
		}
	}
	return out
}

// templatedSet returns the keys under templates that were set, sorted.
func (c *Config) templatedSet() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(c.set)) {
		if _, ok := index[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}
