package ufs

import (
	"encoding/xml"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/colinmarc/hdfs/v2/hadoopconf"
)

// Mount properties of the HDFS backend (the props of Registry.Open).
const (
	// HDFSUserProperty is the HDFS user the backend acts as. Unset: the
	// HADOOP_USER_NAME environment variable, else the OS user.
	HDFSUserProperty = "alluxio.underfs.hdfs.user"
	// HDFSConfigurationProperty names the Hadoop configuration: a directory
	// holding core-site.xml and hdfs-site.xml, or a colon-separated list of
	// such XML files (Alluxio's form). Unset: $HADOOP_CONF_DIR, else
	// $HADOOP_HOME/conf, else none.
	HDFSConfigurationProperty = "alluxio.underfs.hdfs.configuration"
	// HDFSDialTimeoutProperty bounds connecting to a NameNode or DataNode
	// (default 10s).
	HDFSDialTimeoutProperty = "alluxio.underfs.hdfs.dial.timeout"
	// HDFSRPCTimeoutProperty bounds each wait for a NameNode answer and
	// each read or write of block data (default 60s).
	HDFSRPCTimeoutProperty = "alluxio.underfs.hdfs.rpc.timeout"
)

// defaultNameNodePort is the NameNode RPC port of hdfs://host/ URIs without
// a port that name no nameservice.
const defaultNameNodePort = "8020"

// hdfsOptions are the resolved settings of one HDFS backend.
type hdfsOptions struct {
	authority   string   // host[:port] as the URI gives it
	addresses   []string // NameNode RPC addresses (several for an HA nameservice)
	user        string
	dialTimeout time.Duration
	rpcTimeout  time.Duration
	useDNHost   bool
}

// key identifies the connection these options need.
func (o hdfsOptions) key() string {
	return fmt.Sprintf("%s|%s|%v|%v|%v", strings.Join(o.addresses, ","), o.user, o.dialTimeout, o.rpcTimeout, o.useDNHost)
}

// hdfsOptionsFor resolves an hdfs:// URI and mount properties.
func hdfsOptionsFor(u *url.URL, props map[string]string, getenv func(string) string) (hdfsOptions, error) {
	o := hdfsOptions{dialTimeout: 10 * time.Second, rpcTimeout: 60 * time.Second}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{HDFSDialTimeoutProperty, &o.dialTimeout}, {HDFSRPCTimeoutProperty, &o.rpcTimeout}} {
		if v := props[d.key]; v != "" {
			t, err := conf.ParseDuration(v)
			if err != nil || t <= 0 {
				return o, fmt.Errorf("ufs: %s=%q: not a positive duration", d.key, v)
			}
			*d.dst = t
		}
	}
	hc, err := loadHadoopConf(props[HDFSConfigurationProperty], getenv)
	if err != nil {
		return o, err
	}
	if strings.EqualFold(hc["hadoop.security.authentication"], "kerberos") {
		return o, fmt.Errorf("ufs: %s: the Hadoop configuration asks for Kerberos, which the HDFS backend does not support", u.Redacted())
	}
	o.useDNHost = hc["dfs.client.use.datanode.hostname"] == "true"
	o.authority = u.Host
	if u.Host == "" {
		// hdfs:///path: the default file system of the Hadoop configuration.
		def := hc["fs.defaultFS"]
		if def == "" {
			def = hc["fs.default.name"]
		}
		du, err := url.Parse(def)
		if def == "" || err != nil || du.Scheme != "hdfs" || du.Host == "" {
			return o, fmt.Errorf("ufs: %s names no NameNode and the Hadoop configuration has no hdfs:// fs.defaultFS", u.Redacted())
		}
		o.authority = du.Host
	}
	o.addresses, err = namenodeAddresses(o.authority, hc)
	if err != nil {
		return o, err
	}
	o.user = props[HDFSUserProperty]
	if o.user == "" {
		o.user = getenv("HADOOP_USER_NAME")
	}
	if o.user == "" {
		cu, err := user.Current()
		if err != nil {
			return o, fmt.Errorf("ufs: no HDFS user: set %s or HADOOP_USER_NAME (%v)", HDFSUserProperty, err)
		}
		o.user = cu.Username
	}
	return o, nil
}

// namenodeAddresses resolves a URI authority: host:port as is; a host that
// is an HA nameservice of the Hadoop configuration (dfs.ha.namenodes.NS) to
// the RPC addresses of its NameNodes (dfs.namenode.rpc-address.NS.ID); a
// nameservice with one NameNode (dfs.namenode.rpc-address.NS) to it; any
// other host to host:8020.
func namenodeAddresses(authority string, hc hadoopconf.HadoopConf) ([]string, error) {
	if _, _, err := net.SplitHostPort(authority); err == nil {
		return []string{authority}, nil
	}
	ns := authority
	if ids := hc["dfs.ha.namenodes."+ns]; ids != "" {
		var addrs []string
		for _, id := range strings.Split(ids, ",") {
			id = strings.TrimSpace(id)
			if id == "" {
				continue
			}
			key := "dfs.namenode.rpc-address." + ns + "." + id
			a := strings.TrimSpace(hc[key])
			if a == "" {
				return nil, fmt.Errorf("ufs: HDFS nameservice %s: NameNode %s has no %s in the Hadoop configuration", ns, id, key)
			}
			addrs = append(addrs, a)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("ufs: HDFS nameservice %s: dfs.ha.namenodes.%s lists no NameNodes", ns, ns)
		}
		return addrs, nil
	}
	if a := strings.TrimSpace(hc["dfs.namenode.rpc-address."+ns]); a != "" {
		return []string{a}, nil
	}
	return []string{net.JoinHostPort(ns, defaultNameNodePort)}, nil
}

// loadHadoopConf reads the Hadoop configuration: spec is a directory or a
// colon-separated list of XML files; "" means $HADOOP_CONF_DIR, else
// $HADOOP_HOME/conf. No configuration is an empty map.
func loadHadoopConf(spec string, getenv func(string) string) (hadoopconf.HadoopConf, error) {
	if spec == "" {
		for _, d := range []string{getenv("HADOOP_CONF_DIR"), filepath.Join(getenv("HADOOP_HOME"), "conf")} {
			if d == "" || d == "conf" {
				continue
			}
			hc, err := hadoopconf.Load(d)
			if err != nil {
				return nil, fmt.Errorf("ufs: Hadoop configuration in %s: %w", d, err)
			}
			if hc != nil {
				return hc, nil
			}
		}
		return hadoopconf.HadoopConf{}, nil
	}
	hc := hadoopconf.HadoopConf{}
	for _, p := range strings.Split(spec, ":") {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			dc, err := hadoopconf.Load(p)
			if err != nil {
				return nil, fmt.Errorf("ufs: Hadoop configuration in %s: %w", p, err)
			}
			for k, v := range dc {
				hc[k] = v
			}
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("ufs: %s: %w", HDFSConfigurationProperty, err)
		}
		var pl struct {
			Property []struct {
				Name  string `xml:"name"`
				Value string `xml:"value"`
			} `xml:"property"`
		}
		if err := xml.Unmarshal(b, &pl); err != nil {
			return nil, fmt.Errorf("ufs: Hadoop configuration %s: %w", p, err)
		}
		for _, pr := range pl.Property {
			hc[pr.Name] = pr.Value
		}
	}
	return hc, nil
}
