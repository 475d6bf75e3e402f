package journalstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/alluxio-go/alluxio/common/conf"
	"github.com/alluxio-go/alluxio/master/internal/journal"
)

// folderKey is the configuration key of the journal folder, named in the
// errors about its value.
const folderKey = "alluxio.master.journal.folder"

// relative explains why a relative journal folder is refused.
const relative = "a relative path moves with the working directory, and a master started elsewhere would not find acknowledged writes"

// folderForms lists the accepted forms of the folder, for error messages.
const folderForms = "an absolute local path, file:///path or hdfs://namenode:port/path"

// Open returns the storage of the journal folder (see ParseFolder for the
// forms it takes): a local directory or an HDFS directory. props are HDFS
// client properties (ufs.HDFSUserProperty and the other ufs.HDFS*Property
// keys; unset ones come from the environment: HADOOP_USER_NAME,
// HADOOP_CONF_DIR). An HDFS folder is made if missing and checked to be
// writable (see the package documentation). The caller closes the storage.
func Open(ctx context.Context, folder string, props map[string]string) (journal.Storage, error) {
	f, err := ParseFolder(folder)
	if err != nil {
		return nil, err
	}
	if f.Scheme == "hdfs" {
		return openHDFS(ctx, folder, props)
	}
	s, err := journal.NewLocalStorage(f.Path)
	if err != nil {
		return nil, fmt.Errorf("journalstore: %w", err)
	}
	return s, nil
}

// Folder is a parsed journal folder.
type Folder struct {
	// Scheme is "" for a local directory, "hdfs" for HDFS.
	Scheme string
	// Path is the absolute local path of a local folder; for HDFS it is
	// the folder as given (hdfs://authority/path).
	Path string
}

// ParseFolder checks the value of alluxio.master.journal.folder and says
// where it is, with Hadoop's Path semantics for file: URIs:
//
//   - /path, file:/path, file:///path and file://localhost/path are the
//     local directory /path (the path is taken verbatim, not
//     percent-decoded, as ufs.ParseURI does);
//   - hdfs://namenode:port/path and hdfs://nameservice/path are HDFS;
//
// and everything else is an error naming the key and the value, in one
// line: a relative path (a journal that moves with the working directory
// would lose acknowledged writes when the master starts elsewhere), a
// file:// URI naming another host, hdfs: without a NameNode, and any other
// scheme (s3://, gs://, ...), which is not supported.
func ParseFolder(folder string) (Folder, error) {
	bad := func(format string, a ...any) (Folder, error) {
		return Folder{}, fmt.Errorf("journalstore: invalid value %q for %s: %s (want %s)", folder, folderKey, fmt.Sprintf(format, a...), folderForms)
	}
	if strings.TrimSpace(folder) == "" {
		return bad("empty")
	}
	scheme, rest, ok := uriScheme(folder)
	if !ok {
		if !strings.HasPrefix(folder, "/") {
			return bad("%s (set an absolute path, or ALLUXIO_HOME for the default ${alluxio.home}/journal)", relative)
		}
		return Folder{Path: folder}, nil
	}
	switch scheme {
	case "file":
		p := rest
		if after, ok := strings.CutPrefix(rest, "//"); ok {
			host, path, hasPath := strings.Cut(after, "/")
			if host != "" && !strings.EqualFold(host, "localhost") {
				return bad("a file:// URI names a local path, not host %q (file:///path)", host)
			}
			if !hasPath {
				return bad("no path")
			}
			p = "/" + path
		}
		switch {
		case p == "":
			return bad("no path")
		case !strings.HasPrefix(p, "/"):
			return bad("%s", relative)
		}
		return Folder{Path: p}, nil
	case "hdfs":
		auth, ok := strings.CutPrefix(rest, "//")
		if !ok || auth == "" || strings.HasPrefix(auth, "/") {
			return bad("an hdfs URI must name the NameNode or nameservice")
		}
		return Folder{Scheme: "hdfs", Path: folder}, nil
	default:
		if !strings.HasPrefix(rest, "/") { // "journal:2", not a URI
			return bad("%s", relative)
		}
		return bad("scheme %s: is not supported", scheme)
	}
}

// uriScheme splits "scheme:rest" when folder starts with a URI scheme
// (RFC 3986: a letter, then letters, digits, "+", "-" or "."), lower-cased.
func uriScheme(folder string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(folder, ':')
	if i <= 0 {
		return "", "", false
	}
	for j, c := range folder[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", "", false
		}
	}
	return strings.ToLower(folder[:i]), folder[i+1:], true
}

// OpenConfigured opens the journal folder c configures
// (alluxio.master.journal.folder, with the alluxio.master.journal.ufs.option.*
// properties), as Open does; an error also says where the folder's value
// was set, as configuration errors do.
func OpenConfigured(ctx context.Context, c *conf.Config) (journal.Storage, error) {
	st, err := Open(ctx, c.Get(folderKey), c.GetPrefixed(conf.JournalUFSOptionPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w (%s from %s)", err, folderKey, c.Source(folderKey))
	}
	return st, nil
}
