package leadership

import "sync/atomic"

// Elected is the Leadership of a master in a ZooKeeper election: STANDBY
// until Lead is called, LEADER while the term given to Lead is still valid.
// IsLeader consults the term's validity on every call, so a master whose
// ZooKeeper connection drops stops answering as leader at once, before the
// election loop has noticed and called Stand.
type Elected struct {
	cur atomic.Pointer[elected]
}

type elected struct {
	epoch int64
	valid func() bool
}

// NewElected returns a Leadership in the STANDBY role.
func NewElected() *Elected { return &Elected{} }

// Lead makes the master leader for a term with the given epoch for as long
// as valid reports true (e.g. zkleader.Term.Valid).
func (e *Elected) Lead(epoch int64, valid func() bool) {
	e.cur.Store(&elected{epoch: epoch, valid: valid})
}

// Stand makes the master a standby.
func (e *Elected) Stand() { e.cur.Store(nil) }

// IsLeader implements Leadership.
func (e *Elected) IsLeader() bool {
	c := e.cur.Load()
	return c != nil && c.valid()
}

// Epoch implements Leadership: the term's epoch while leader, else 0.
func (e *Elected) Epoch() int64 {
	if c := e.cur.Load(); c != nil && c.valid() {
		return c.epoch
	}
	return 0
}

// Role implements Leadership: "LEADER" or "STANDBY".
func (e *Elected) Role() string {
	if e.IsLeader() {
		return RoleLeader
	}
	return RoleStandby
}

// Role names reported by Leadership.Role.
const (
	RoleSingle  = "SINGLE"
	RoleLeader  = "LEADER"
	RoleStandby = "STANDBY"
)
