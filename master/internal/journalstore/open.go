package journalstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/master/internal/journal"
)

// Open returns the storage of the journal folder: a plain path or a
// file:// URI is a local directory, hdfs://namenode:port/path or
// hdfs://nameservice/path an HDFS directory; any other scheme is an error
// naming the folder. props are HDFS client properties (ufs.HDFSUserProperty
// and the other ufs.HDFS*Property keys; unset ones come from the
// environment: HADOOP_USER_NAME, HADOOP_CONF_DIR). An HDFS folder is made
// if missing and checked to be writable (see the package documentation).
// The caller closes the storage.
func Open(ctx context.Context, folder string, props map[string]string) (journal.Storage, error) {
	scheme, rest, ok := strings.Cut(folder, "://")
	if !ok || strings.ContainsAny(scheme, "/") {
		return local(folder)
	}
	switch strings.ToLower(scheme) {
	case "file":
		u, err := ufs.ParseURI(folder)
		if err != nil {
			return nil, fmt.Errorf("journalstore: journal folder: %w", err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("journalstore: journal folder %s: a file:// URI names no host (file:///path)", folder)
		}
		return local(u.Path)
	case "hdfs":
		if rest == "" {
			return nil, fmt.Errorf("journalstore: journal folder %s: no NameNode or path", folder)
		}
		return openHDFS(ctx, folder, props)
	default:
		return nil, fmt.Errorf("journalstore: journal folder %s: unsupported scheme %s:// (a local path, file:// or hdfs://)", folder, scheme)
	}
}

func local(dir string) (journal.Storage, error) {
	if dir == "" {
		return nil, fmt.Errorf("journalstore: empty journal folder")
	}
	s, err := journal.NewLocalStorage(dir)
	if err != nil {
		return nil, fmt.Errorf("journalstore: %w", err)
	}
	return s, nil
}
