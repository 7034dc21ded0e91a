package web

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// peer is what the kernel says of the socket at the other end of a
// loopback connection.
type peer struct {
	uid uint32
	// live: a process holds the socket (its inode is not 0). A socket
	// closed by its program lingers in FIN_WAIT2 or TIME_WAIT owned by
	// nobody, shown as uid 0: its request may still be waiting to be
	// read, but who sent it can no longer be told.
	live bool
}

// errNoDiag means the kernel's socket lookup (NETLINK_SOCK_DIAG) cannot be
// used here; the tables in /proc are read instead.
var errNoDiag = errors.New("sock_diag unavailable")

// sockDiag looks up the TCP socket from src to dst by its exact addresses,
// as ss does (NETLINK_SOCK_DIAG, one hash lookup in the kernel however many
// sockets the machine has), among the IPv6 sockets when six (an IPv4
// address then as ::ffff:a.b.c.d), else the IPv4 ones. ok is false when
// there is no such socket; errNoDiag when the lookup cannot be made at
// all.
func sockDiag(src, dst *net.TCPAddr, six bool) (p peer, ok bool, err error) {
	family, sip, dip := uint8(unix.AF_INET), src.IP.To4(), dst.IP.To4()
	if six {
		family, sip, dip = unix.AF_INET6, src.IP.To16(), dst.IP.To16()
	}
	if sip == nil || dip == nil {
		return peer{}, false, fmt.Errorf("%w: addresses %v, %v", errNoDiag, src, dst)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return peer{}, false, fmt.Errorf("%w: %w", errNoDiag, err)
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return peer{}, false, fmt.Errorf("%w: %w", errNoDiag, err)
	}
	// nlmsghdr (16 bytes), then inet_diag_req_v2 (56): family, protocol,
	// ext, pad, states, then inet_diag_sockid: sport, dport (big-endian),
	// src[4], dst[4] (network order), interface, cookie (none: ~0).
	req := make([]byte, 72)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1)
	req[16], req[17] = family, unix.IPPROTO_TCP
	ne.PutUint32(req[20:], ^uint32(0))
	binary.BigEndian.PutUint16(req[24:], uint16(src.Port))
	binary.BigEndian.PutUint16(req[26:], uint16(dst.Port))
	copy(req[28:44], sip)
	copy(req[44:60], dip)
	ne.PutUint32(req[64:], ^uint32(0))
	ne.PutUint32(req[68:], ^uint32(0))
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return peer{}, false, fmt.Errorf("%w: %w", errNoDiag, err)
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return peer{}, false, fmt.Errorf("%w: %w", errNoDiag, err)
	}
	msg := buf[:n]
	if len(msg) < 16 {
		return peer{}, false, fmt.Errorf("%w: a %d-byte answer", errNoDiag, len(msg))
	}
	switch ne.Uint16(msg[4:]) {
	case unix.NLMSG_ERROR:
		if len(msg) < 20 {
			return peer{}, false, fmt.Errorf("%w: a short error", errNoDiag)
		}
		switch errno := syscall.Errno(-int32(ne.Uint32(msg[16:]))); errno {
		case unix.ENOENT:
			return peer{}, false, nil
		default:
			return peer{}, false, fmt.Errorf("%w: %w", errNoDiag, os.NewSyscallError("sock_diag", errno))
		}
	case unix.SOCK_DIAG_BY_FAMILY:
		// inet_diag_msg: family, state, timer, retrans, sockid (48),
		// expires, rqueue, wqueue, uid, inode.
		if len(msg) < 16+72 {
			return peer{}, false, fmt.Errorf("%w: a short answer", errNoDiag)
		}
		d := msg[16:]
		return peer{uid: ne.Uint32(d[64:]), live: ne.Uint32(d[68:]) != 0}, true, nil
	}
	return peer{}, false, fmt.Errorf("%w: message type %d", errNoDiag, ne.Uint16(msg[4:]))
}
