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
//
// With byUser, a connection from another user's program on this machine
// counts against that user, not its address: a loopback socket takes
// every source address in 127.0.0.0/8 (and the machine's own addresses),
// so one local account could otherwise bind a few of them and hold
// every place in all, leaving nothing for the token holder. The
// server's own user and root are counted by address, as remote peers
// are.
type connLimiter struct {
	net.Listener
	max, perAddr int
	byUser       bool
	uid          int
	log          *slog.Logger

	mu      sync.Mutex
	open    int
	byAddr  map[string]int
	refused int // since the last log line
	lastLog time.Time
}

func newConnLimiter(ln net.Listener, max, perAddr int, byUser bool, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perAddr: perAddr, byUser: byUser, uid: os.Getuid(), log: log, byAddr: map[string]int{}}
}

// key is what c counts against: "uid N" for another user's program on
// this machine (with byUser), else its remote IP address.
func (l *connLimiter) key(c net.Conn) string {
	if l.byUser && fromThisMachine(c) {
		if p, found, _ := peerOf(c); found && p.live && int(p.uid) != l.uid && p.uid != 0 {
			return "uid " + strconv.FormatUint(uint64(p.uid), 10)
		}
	}
	return remoteIP(c)
}

// fromThisMachine reports whether c's peer runs on this machine: a
// loopback address at either end, the same address at both, or a remote
// address that is one of this machine's interfaces'.
func fromThisMachine(c net.Conn) bool {
	remote, ok1 := c.RemoteAddr().(*net.TCPAddr)
	local, ok2 := c.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false
	}
	if remote.IP.IsLoopback() || local.IP.IsLoopback() || remote.IP.Equal(local.IP) {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(remote.IP) {
			return true
		}
	}
	return false
}

// Accept returns the next connection under the caps; those over them are
// closed here and never reach the HTTP server.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := l.key(c)
		l.mu.Lock()
		if l.open >= l.max || l.byAddr[addr] >= l.perAddr {
			l.refused++
			var line string
			if time.Since(l.lastLog) >= time.Second { // at most one line a second
				line = fmt.Sprintf("web preview: %d connections refused (caps: %d in all, %d from one address or another user; %s has %d)",
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
// drive the controls. Every connection to a loopback address comes from
// this machine, whatever its source address (a program may bind its end
// to the machine's LAN address), so every peer is looked up in the
// kernel's socket table (/proc/net/tcp, tcp6: the uid of the connecting
// socket, as identd reads it), and one that is not found, or is no
// longer held by a program (closed before it was answered: the kernel
// shows such a socket as root's), is refused too.
// A refused connection gets a one-line 403 and is closed. Where the table
// cannot be read at all, users cannot be told apart: one warning says so
// and connections are let in.
type sameUser struct {
	net.Listener
	uid      int
	log      *slog.Logger
	lastLog  time.Time
	noTables bool // warned that the tables cannot be read
	// refusing bounds the refusals in flight (each lingers up to a
	// second); past it a connection is closed without an answer. wg
	// is them, for Close.
	refusing chan struct{}
	wg       sync.WaitGroup
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
		p, found, tables := peerOf(c)
		uid := int(p.uid)
		if !tables {
			if !l.noTables {
				l.noTables = true
				l.log.Warn("web preview: /proc/net/tcp cannot be read, so other users' programs on this machine cannot be told apart: give a -token on a shared machine")
			}
			return c, nil
		}
		if found && p.live && (uid == l.uid || uid == 0) {
			return c, nil
		}
		l.wg.Add(1)
		select {
		case l.refusing <- struct{}{}:
			go func() {
				defer l.wg.Done()
				defer func() { <-l.refusing }()
				refuseConn(c)
			}()
		default:
			c.Close()
			l.wg.Done()
		}
		if time.Since(l.lastLog) >= time.Second {
			l.lastLog = time.Now()
			who := fmt.Sprintf("another user's program (uid %d)", uid)
			switch {
			case !found:
				who = "a program whose user cannot be found (" + c.RemoteAddr().String() + ")"
			case !p.live:
				who = "a program that closed its end before it was answered, whose user can no longer be told (" + c.RemoteAddr().String() + ")"
			}
			l.log.Warn(fmt.Sprintf("web preview: refused a connection from %s; a -token lets others in", who))
		}
	}
}

// Close closes the listener and waits for the refusals in flight (a
// second at most).
func (l *sameUser) Close() error {
	err := l.Listener.Close()
	l.wg.Wait()
	return err
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

// peerOf is what the kernel says of the socket at the other end of a TCP
// connection on this machine: looked up by its exact addresses
// (sockDiag), else, where that cannot be done, in /proc/net/tcp and
// /proc/net/tcp6 (the whole tables are read: slow on a machine with many
// sockets). found is false when the peer's socket is not there, tables
// when neither way could be used.
func peerOf(c net.Conn) (p peer, found, tables bool) {
	remote, ok1 := c.RemoteAddr().(*net.TCPAddr)
	local, ok2 := c.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return peer{}, false, true
	}
	// The peer's socket: its local address is our remote one, and back.
	// An IPv4 address may be an IPv6 socket's (::ffff:a.b.c.d).
	diag := true
	for _, six := range []bool{false, true} {
		if !six && remote.IP.To4() == nil {
			continue
		}
		p, ok, err := sockDiag(remote, local, six)
		if err != nil {
			diag = false
			break
		}
		if ok {
			return p, true, true
		}
	}
	if diag {
		return peer{}, false, true
	}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		six := strings.HasSuffix(table, "6")
		p, ok, opened := findSocket(table, procAddr(remote, six), procAddr(local, six))
		tables = tables || opened
		if ok {
			return p, true, true
		}
	}
	return peer{}, false, tables
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
// kernel's tables and returns its owner; opened says whether the table
// could be read.
func findSocket(table, local, remote string) (p peer, ok, opened bool) {
	f, err := os.Open(table)
	if err != nil {
		return peer{}, false, false
	}
	defer f.Close()
	if local == "" || remote == "" {
		return peer{}, false, true
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid
		// timeout inode …
		fields := strings.Fields(sc.Text())
		if len(fields) > 9 && fields[1] == local && fields[2] == remote {
			uid, err := strconv.ParseUint(fields[7], 10, 32)
			return peer{uid: uint32(uid), live: fields[9] != "0"}, err == nil, true
		}
	}
	return peer{}, false, true
}
