package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// dialer opens the connection of one Send and ties it to the Send's context: once the context
// is done, every read and write on the connection fails at once, even one under way, and no
// deadline go-mail sets afterwards can undo that. With implicit TLS it also encrypts the
// connection before the server's greeting. stop closes what it opened: go-mail leaves a
// connection open when the exchange fails before the message is sent.
type dialer struct {
	ctx       context.Context
	tlsConfig *tls.Config
	implicit  bool

	mu    sync.Mutex
	conns []*boundConn
	stops []func() bool
}

// dial is go-mail's DialContextFunc.
func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	bc := &boundConn{Conn: raw}
	stop := context.AfterFunc(d.ctx, bc.expire)
	d.mu.Lock()
	d.conns = append(d.conns, bc)
	d.stops = append(d.stops, stop)
	d.mu.Unlock()
	if !d.implicit {
		return bc, nil
	}
	// A *tls.Conn, so that go-mail's SMTP client knows the session is encrypted.
	tc := tls.Client(bc, d.tlsConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = bc.Close()
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// stop closes the connections and releases what ties them to the context.
func (d *dialer) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, c := range d.conns {
		d.stops[i]()
		_ = c.Close()
	}
	d.conns, d.stops = nil, nil
}

// past is a deadline that has passed.
var past = time.Unix(1, 0)

// boundConn is a connection whose deadlines stay in the past once expire has been called.
type boundConn struct {
	net.Conn
	mu      sync.Mutex
	expired bool
}

func (c *boundConn) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expired = true
	_ = c.Conn.SetDeadline(past)
}

func (c *boundConn) SetDeadline(t time.Time) error {
	return c.set(c.Conn.SetDeadline, t)
}

func (c *boundConn) SetReadDeadline(t time.Time) error {
	return c.set(c.Conn.SetReadDeadline, t)
}

func (c *boundConn) SetWriteDeadline(t time.Time) error {
	return c.set(c.Conn.SetWriteDeadline, t)
}

func (c *boundConn) set(f func(time.Time) error, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expired {
		t = past
	}
	return f(t)
}

// negotiatedAuth logs in with the strongest mechanism both sides support: SCRAM-SHA-256,
// SCRAM-SHA-1, then PLAIN and LOGIN. PLAIN and LOGIN send the password itself, so go-mail lets
// them run only over TLS or to localhost; anywhere else the login fails before the password
// leaves. A server offering none of these fails the login permanently.
type negotiatedAuth struct {
	user, pass, host string
	chosen           smtp.Auth
}

// Start picks the mechanism among those the server advertises, and starts it.
func (a *negotiatedAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	offered := func(mech string) bool {
		return slices.ContainsFunc(s.Auth, func(m string) bool { return strings.EqualFold(m, mech) })
	}
	switch {
	case offered("SCRAM-SHA-256"):
		a.chosen = smtp.ScramSHA256Auth(a.user, a.pass)
	case offered("SCRAM-SHA-1"):
		a.chosen = smtp.ScramSHA1Auth(a.user, a.pass)
	case offered("PLAIN"):
		a.chosen = smtp.PlainAuth("", a.user, a.pass, a.host, false)
	case offered("LOGIN"):
		a.chosen = smtp.LoginAuth(a.user, a.pass, a.host, false)
	default:
		offers := strings.Join(s.Auth, " ")
		if offers == "" {
			offers = "none"
			if !s.TLS {
				offers += " before TLS"
			}
		}
		return "", nil, &permanentError{fmt.Errorf("the server offers no login mechanism supported here (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN); it offers: %s", offers)}
	}
	mech, resp, err := a.chosen.Start(s)
	if errors.Is(err, smtp.ErrUnencrypted) {
		return "", nil, &permanentError{errors.New("refusing to send the password over an unencrypted connection: use TLS mode starttls or tls")}
	}
	if err != nil {
		return "", nil, &permanentError{err}
	}
	return mech, resp, nil
}

// Next answers the server's challenge.
func (a *negotiatedAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.chosen.Next(fromServer, more)
}
