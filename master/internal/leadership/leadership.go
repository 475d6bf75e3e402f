// Package leadership tells the master's RPC handlers whether this master may
// act as the leader right now, and in which epoch. In single-master mode the
// answer is always yes (Static); in ZooKeeper mode Elected follows the
// election: leader while the current term is valid, standby otherwise.
package leadership

import "sync/atomic"

// Leadership is consulted by every RPC that reads or changes leader state.
type Leadership interface {
	// IsLeader reports whether this master holds leadership now.
	IsLeader() bool
	// Epoch is the current leadership term (0 when not leader).
	Epoch() int64
	// Role is "SINGLE", "LEADER" or "STANDBY".
	Role() string
}

// Static is a Leadership that never changes hands: the single-master mode.
type Static struct {
	epoch  atomic.Int64
	leader atomic.Bool
	role   string
}

// NewStatic returns a Leadership that is leader with the given epoch and role.
func NewStatic(epoch int64, role string) *Static {
	s := &Static{role: role}
	s.epoch.Store(epoch)
	s.leader.Store(true)
	return s
}

// IsLeader implements Leadership.
func (s *Static) IsLeader() bool { return s.leader.Load() }

// Epoch implements Leadership.
func (s *Static) Epoch() int64 {
	if !s.leader.Load() {
		return 0
	}
	return s.epoch.Load()
}

// Role implements Leadership.
func (s *Static) Role() string {
	if !s.leader.Load() {
		return "STANDBY"
	}
	return s.role
}

// Resign gives up leadership (e.g. at shutdown); it cannot be taken back.
func (s *Static) Resign() { s.leader.Store(false) }
