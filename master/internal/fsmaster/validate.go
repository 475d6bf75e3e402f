package fsmaster

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/alluxio-go/alluxio/common/rpcstatus"
	"github.com/alluxio-go/alluxio/common/ufs"
	"github.com/alluxio-go/alluxio/proto/alluxiopb"
)

// Validation of FileSystemMasterClientService requests: every check that
// needs only the request (ranges, enums, names) is here, one function per
// request type, run before any lock or UFS call. Paths are checked by
// pathutil.Clean where each operation cleans them; checks against the
// namespace stay with the operations. Every failure is one line naming the
// field and its value.

const (
	// MaxBlockSize bounds block_size_bytes (1 TB).
	MaxBlockSize = 1 << 40
	// maxModeBits are the permission, setuid/setgid and sticky bits.
	maxModeBits = 0o7777
	// maxNameLen bounds owner and group names.
	maxNameLen = 1024
	// noTTL is the ttl of an inode that never expires.
	noTTL = -1
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("fsmaster: "+format+": %w", append(args, rpcstatus.ErrInvalidArgument)...)
}

func validateMode(field string, mode int32) error {
	if mode < 0 || mode > maxModeBits {
		return invalidf("%s %#o outside 0..07777", field, mode)
	}
	return nil
}

func validateWriteType(wt alluxiopb.WriteType) error {
	if _, ok := alluxiopb.WriteType_name[int32(wt)]; !ok {
		return invalidf("write_type %d unknown", int32(wt))
	}
	return nil
}

// validateTTL accepts -1 (no TTL) and 0 or more milliseconds.
func validateTTL(ttl int64) error {
	if ttl < noTTL {
		return invalidf("ttl %d (want -1 for none, or 0 or more milliseconds)", ttl)
	}
	return nil
}

// validateName checks an owner or group; empty means "not given" unless
// required.
func validateName(field, s string, required bool) error {
	switch {
	case s == "" && required:
		return invalidf("%s is empty", field)
	case len(s) > maxNameLen:
		return invalidf("%s of %d bytes (at most %d)", field, len(s), maxNameLen)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return invalidf("%s %q has control characters", field, s)
	}
	return nil
}

func validateCreateFile(req *alluxiopb.CreateFileRequest) error {
	if bs := req.GetBlockSizeBytes(); bs < 0 || bs > MaxBlockSize {
		return invalidf("block_size_bytes %d outside 1..%d (0 for the default)", bs, int64(MaxBlockSize))
	}
	if err := validateMode("mode", req.GetMode()); err != nil {
		return err
	}
	if err := validateWriteType(req.GetWriteType()); err != nil {
		return err
	}
	if err := validateTTL(req.GetTtl()); err != nil {
		return err
	}
	if err := validateName("owner", req.GetOwner(), false); err != nil {
		return err
	}
	return validateName("group", req.GetGroup(), false)
}

func validateCreateDirectory(req *alluxiopb.CreateDirectoryRequest) error {
	if err := validateMode("mode", req.GetMode()); err != nil {
		return err
	}
	if err := validateWriteType(req.GetWriteType()); err != nil {
		return err
	}
	if err := validateName("owner", req.GetOwner(), false); err != nil {
		return err
	}
	return validateName("group", req.GetGroup(), false)
}

func validateCompleteFile(req *alluxiopb.CompleteFileRequest) error {
	if req.GetLength() < 0 {
		return invalidf("length %d is negative", req.GetLength())
	}
	if req.GetUfsLength() < 0 {
		return invalidf("ufs_length %d is negative", req.GetUfsLength())
	}
	return nil
}

func validateSetAttribute(req *alluxiopb.SetAttributeRequest) error {
	if req.Mode != nil {
		if err := validateMode("mode", req.GetMode()); err != nil {
			return err
		}
	}
	if req.Ttl != nil {
		if err := validateTTL(req.GetTtl()); err != nil {
			return err
		}
	}
	if req.TtlAction != nil && ttlActionCode(req.GetTtlAction()) == 0 {
		return invalidf("ttl_action %q (want DELETE or FREE)", req.GetTtlAction())
	}
	if req.Owner != nil {
		if err := validateName("owner", req.GetOwner(), true); err != nil {
			return err
		}
	}
	if req.Group != nil {
		if err := validateName("group", req.GetGroup(), true); err != nil {
			return err
		}
	}
	return nil
}

// validateMount checks the UFS path: an absolute local path or a URI with a
// scheme (the scheme's backend is checked when it is opened).
func validateMount(req *alluxiopb.MountRequest) error {
	u := req.GetUfsPath()
	switch {
	case u == "":
		return invalidf("ufs_path is empty")
	case strings.ContainsFunc(u, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return invalidf("ufs_path %q has control characters", u)
	}
	if _, err := parseUFS(u); err != nil {
		return err
	}
	return nil
}

// ufsLocation is a UFS URI reduced to what decides overlap: scheme (""
// and "file" are both the local file system), authority and clean path.
type ufsLocation struct {
	scheme, host, path string
}

// parseUFS parses a mount's UFS path; it refuses relative paths.
func parseUFS(s string) (ufsLocation, error) {
	u, err := ufs.ParseURI(s)
	if err != nil {
		return ufsLocation{}, invalidf("ufs_path %q: %v", s, err)
	}
	if !strings.HasPrefix(u.Path, "/") && !(u.Path == "" && u.Host != "") {
		return ufsLocation{}, invalidf("ufs_path %q is relative (want an absolute path or scheme://authority/path)", s)
	}
	loc := ufsLocation{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Host), path: path.Clean("/" + u.Path)}
	if loc.scheme == "file" {
		loc.scheme = ""
	}
	return loc, nil
}

// mountedUFS is parseUFS for the UFS of an existing mount, which may be a
// relative local path (a root UFS under "${alluxio.home}" with home ".").
func mountedUFS(s string) (ufsLocation, error) {
	if u, err := ufs.ParseURI(s); err == nil && u.Scheme == "" && !strings.HasPrefix(s, "/") {
		abs, err := filepath.Abs(s)
		if err != nil {
			return ufsLocation{}, err
		}
		s = abs
	}
	return parseUFS(s)
}

// overlaps reports whether one location is inside the other (or both are
// the same).
func (a ufsLocation) overlaps(b ufsLocation) bool {
	if a.scheme != b.scheme || a.host != b.host {
		return false
	}
	return within(a.path, b.path) || within(b.path, a.path)
}

// within reports whether clean path p is dir or inside it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}
