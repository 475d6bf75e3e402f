package zkleader

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"
)

// Participants returns the participant ids (host:port) of every master
// taking part in the election now, in queue order (the leader, whose
// candidate node stays while it leads, first), each once. It lists the
// candidate nodes under ElectionPath and reads their data.
func (e *Elector) Participants(ctx context.Context) ([]string, error) {
	return listParticipants(ctx, e.sess, e.cfg.ElectionPath)
}

// Participants is Elector.Participants for processes that do not campaign
// (the CLI, or a master answering GetMasterInfo).
func (q *Inquirer) Participants(ctx context.Context) ([]string, error) {
	s, err := q.session()
	if err != nil {
		return nil, err
	}
	return listParticipants(ctx, s, q.cfg.ElectionPath)
}

func listParticipants(ctx context.Context, s *session, electionPath string) ([]string, error) {
	if _, err := s.wait(ctx); err != nil {
		return nil, err
	}
	children, err := call(ctx, func() ([]string, error) {
		c, _, err := s.conn.Children(electionPath)
		return c, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("zkleader: list %s: %w", electionPath, err)
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range sortCandidates(children) {
		data, err := call(ctx, func() ([]byte, error) {
			d, _, err := s.conn.Get(electionPath + "/" + c)
			return d, err
		})
		if errors.Is(err, zk.ErrNoNode) {
			continue // left since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("zkleader: read %s/%s: %w", electionPath, c, err)
		}
		id := strings.TrimSpace(string(data))
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out, nil
}
