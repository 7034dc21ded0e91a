package web

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// connLimiter is a listener that holds at most max open connections in
// all and perAddr from one remote IP address. A connection over either
// cap is closed as soon as it is accepted, so that a peer holding idle
// or half-sent connections cannot take every slot: the others, and the
// same peer's later connections once its own close, are still served.
type connLimiter struct {
	net.Listener
	max, perAddr int
	log          *slog.Logger

	mu      sync.Mutex
	open    int
	byAddr  map[string]int
	refused int // since the last log line
	lastLog time.Time
}

func newConnLimiter(ln net.Listener, max, perAddr int, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perAddr: perAddr, log: log, byAddr: map[string]int{}}
}

// Accept returns the next connection under the caps; those over them are
// closed here and never reach the HTTP server.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := remoteIP(c)
		l.mu.Lock()
		if l.open >= l.max || l.byAddr[addr] >= l.perAddr {
			l.refused++
			var line string
			if time.Since(l.lastLog) >= time.Second { // at most one line a second
				line = fmt.Sprintf("web preview: %d connections refused (caps: %d in all, %d from one address; %s has %d)",
					l.refused, l.max, l.perAddr, addr, l.byAddr[addr])
				l.refused, l.lastLog = 0, time.Now()
			}
			l.mu.Unlock()
			c.Close()
			if line != "" {
				l.log.Warn(line)
			}
			continue
		}
		l.open++
		l.byAddr[addr]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

func (l *connLimiter) release(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// limitedConn gives its slot back once, on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
