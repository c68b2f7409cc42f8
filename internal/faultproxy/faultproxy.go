// Package faultproxy is a TCP proxy for fault tests: it forwards connections to one target and
// can, on command, delay what it forwards, reset every connection, or hold everything (a
// blackhole) as a network partition would.
package faultproxy

import (
	"net"
	"sync"
	"time"
)

// Proxy forwards each accepted connection to its target.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	latency time.Duration
	hole    chan struct{} // non-nil while blackholed; closed when the hole ends
	wg      sync.WaitGroup
}

// Start listens on a free loopback port and forwards to target (host:port).
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every chunk forwarded, either way, by d (0: none).
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// Blackhole holds every byte either way, and every new connection, until Restore: the peers
// see a silent network, not a closed one. What was held is delivered afterwards, as TCP would.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	if p.hole == nil {
		p.hole = make(chan struct{})
	}
	p.mu.Unlock()
}

// Restore ends a blackhole.
func (p *Proxy) Restore() {
	p.mu.Lock()
	if p.hole != nil {
		close(p.hole)
		p.hole = nil
	}
	p.mu.Unlock()
}

// ResetAll cuts every open connection with a TCP reset and returns how many it cut.
func (p *Proxy) ResetAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
	n := len(p.conns)
	clear(p.conns)
	return n
}

// Close stops listening, cuts every connection and waits for the forwarding to end.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.Restore()
	p.ResetAll()
	p.wg.Wait()
}

// gate waits out a blackhole and returns the latency to apply.
func (p *Proxy) gate() time.Duration {
	p.mu.Lock()
	hole, d := p.hole, p.latency
	p.mu.Unlock()
	if hole != nil {
		<-hole
		return p.gate()
	}
	return d
}

func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = struct{}{}
	p.mu.Unlock()
}

func (p *Proxy) forget(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(in)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.gate()
			out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				_ = in.Close()
				return
			}
			p.track(out)
			var both sync.WaitGroup
			both.Add(2)
			go func() { defer both.Done(); p.pipe(out, in) }()
			go func() { defer both.Done(); p.pipe(in, out) }()
			both.Wait()
		}()
	}
}

// pipe copies src to dst chunk by chunk through the gate, then closes both.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.forget(dst)
	defer p.forget(src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := p.gate(); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // the peer closed, or the connection was cut
		}
	}
}
