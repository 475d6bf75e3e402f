package zktest

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from a loopback address to a target (a
// ZooKeeper server), and injects two faults. Block cuts every connection and
// refuses new ones: to ZooKeeper the client simply vanishes, without closing
// its session, as after a crash. Blackhole keeps connections open but
// silently drops everything in both directions, and accepts new connections
// without forwarding them, as in a network partition: neither side sees an
// error until its own timeouts fire. Unblock ends either fault.
type Proxy struct {
	target string
	ln     net.Listener

	mu         sync.Mutex
	blocked    bool
	blackholed bool
	closed     bool
	conns      map[net.Conn]struct{}
	wg         sync.WaitGroup
}

// NewProxy starts a proxy to target on a free loopback port; t.Cleanup
// closes it.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("zktest: proxy listen: %v", err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr returns the proxy's address, to give to clients instead of target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Block closes all proxied connections and refuses new ones.
func (p *Proxy) Block() {
	p.mu.Lock()
	p.blocked = true
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// Blackhole drops all traffic, on existing and new connections, without
// closing anything.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	p.blackholed = true
	p.mu.Unlock()
}

// Unblock ends Block or Blackhole. Connections that were black-holed are
// closed (their byte streams are broken); new connections go through.
func (p *Proxy) Unblock() {
	p.mu.Lock()
	wasBlackholed := p.blackholed
	p.blocked, p.blackholed = false, false
	p.mu.Unlock()
	if wasBlackholed {
		p.Block()
		p.mu.Lock()
		p.blocked = false
		p.mu.Unlock()
	}
}

func (p *Proxy) isBlackholed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blackholed
}

// Close stops the proxy and closes all connections. It is idempotent.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.Block()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		blocked := p.blocked || p.closed
		if !blocked && p.blackholed {
			// Hold the connection without forwarding it.
			p.conns[c] = struct{}{}
			p.wg.Add(1)
			p.mu.Unlock()
			go p.pipe(nil, c)
			continue
		}
		p.mu.Unlock()
		if blocked {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.blocked || p.closed {
			p.mu.Unlock()
			c.Close()
			up.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.conns[up] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst (dst nil: discards), dropping data while the proxy
// is black-holed.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 && dst != nil && !p.isBlackholed() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	src.Close()
	p.mu.Lock()
	delete(p.conns, src)
	if dst != nil {
		dst.Close()
		delete(p.conns, dst)
	}
	p.mu.Unlock()
}
