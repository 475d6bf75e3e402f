// Package version reports the build's version, stamped at link time with
// -ldflags "-X github.com/alluxio-go/alluxio/common/version.Version=...",
// together with the Go version and VCS revision of the build.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release version; "dev" unless stamped by the linker.
var Version = "dev"

// Info describes a build.
type Info struct {
	Version   string // Version
	GoVersion string // e.g. go1.26.0
	Revision  string // VCS revision, "" if unknown
	Modified  bool   // built from a tree with uncommitted changes
	Time      string // commit time (RFC 3339), "" if unknown
}

// Get returns the build information.
func Get() Info {
	i := Info{Version: Version, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			case "vcs.time":
				i.Time = s.Value
			}
		}
	}
	return i
}

// String returns e.g. "2.9.0 (go1.26.0, revision 1a2b3c4d5e6f, modified)".
func String() string {
	i := Get()
	s := fmt.Sprintf("%s (%s", i.Version, i.GoVersion)
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += ", revision " + rev
		if i.Modified {
			s += ", modified"
		}
	}
	return s + ")"
}
