package web

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
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

// sameUser is a listener, for a server with no token on loopback, that
// answers only the programs of the user it runs as (and root's): a
// loopback socket takes every user id's connections, and on a shared
// machine another account's process could otherwise watch the camera and
// drive the controls. The peer's user comes from the kernel's socket
// table (/proc/net/tcp, tcp6: the uid of the connecting socket, as identd
// reads it). A refused connection gets a one-line 403 and is closed.
type sameUser struct {
	net.Listener
	uid     int
	log     *slog.Logger
	lastLog time.Time
	// refusing bounds the refusals in flight (each lingers up to a
	// second); past it a connection is closed without an answer.
	refusing chan struct{}
}

func newSameUser(ln net.Listener, log *slog.Logger) *sameUser {
	return &sameUser{Listener: ln, uid: os.Getuid(), log: log, refusing: make(chan struct{}, 16)}
}

func (l *sameUser) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, known := peerUID(c)
		if !known || uid == l.uid || uid == 0 {
			return c, nil
		}
		select {
		case l.refusing <- struct{}{}:
			go func() {
				defer func() { <-l.refusing }()
				refuseConn(c)
			}()
		default:
			c.Close()
		}
		if time.Since(l.lastLog) >= time.Second {
			l.lastLog = time.Now()
			l.log.Warn(fmt.Sprintf("web preview: refused a connection from another user's program (uid %d); a -token lets others in", uid))
		}
	}
}

// refuseConn answers a connection with a 403 and closes it the way HTTP
// servers do (a lingering close): the answer, then the end of the
// connection's sending side, then what the client still sends is read
// and dropped for up to a second, so that its request does not reset the
// connection before the answer is read.
func refuseConn(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"+
		"this vidstyle answers only its own user's programs (give it a -token for others)\n")
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// peerUID is the user id that owns the other end of a TCP connection on
// this machine, from /proc/net/tcp and /proc/net/tcp6; false when the
// peer is not local or the table cannot be read.
func peerUID(c net.Conn) (int, bool) {
	remote, ok1 := c.RemoteAddr().(*net.TCPAddr)
	local, ok2 := c.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 || !remote.IP.IsLoopback() {
		return 0, false
	}
	// The peer's socket: its local address is our remote one, and back.
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		six := strings.HasSuffix(table, "6")
		if uid, ok := findSocket(table, procAddr(remote, six), procAddr(local, six)); ok {
			return uid, true
		}
	}
	return 0, false
}

// procAddr writes an address as the kernel's socket table does: the IP's
// 32-bit words in host (little-endian) order, in hex, and the port.
// IPv4 in the IPv6 table is the mapped ::ffff:a.b.c.d.
func procAddr(a *net.TCPAddr, six bool) string {
	ip := a.IP.To4()
	if six {
		ip = a.IP.To16()
	} else if ip == nil {
		return ""
	}
	var b strings.Builder
	for i := 0; i+4 <= len(ip); i += 4 {
		fmt.Fprintf(&b, "%02X%02X%02X%02X", ip[i+3], ip[i+2], ip[i+1], ip[i])
	}
	fmt.Fprintf(&b, ":%04X", a.Port)
	return b.String()
}

// findSocket looks up the socket from local to remote in one of the
// kernel's tables and returns its owner.
func findSocket(table, local, remote string) (int, bool) {
	if local == "" || remote == "" {
		return 0, false
	}
	f, err := os.Open(table)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid …
		fields := strings.Fields(sc.Text())
		if len(fields) > 7 && fields[1] == local && fields[2] == remote {
			uid, err := strconv.Atoi(fields[7])
			return uid, err == nil
		}
	}
	return 0, false
}
