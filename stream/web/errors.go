package web

import "errors"

var (
	// ErrTokenTooShort: a token shorter than MinTokenLen is refused.
	ErrTokenTooShort = errors.New("the token is too short")
	// ErrTokenChars: a token must be usable as an RFC 6750 Bearer token
	// and in a URL without escaping.
	ErrTokenChars = errors.New("the token may only hold A-Z a-z 0-9 - . _ ~")
	// ErrAllowedHost: an AllowedHosts entry is not a host or host:port.
	ErrAllowedHost = errors.New("not a host name or host:port")
	// ErrRTPWrite: writing a frame's packets to the track failed for at
	// least one viewer (one leaving, as a rule). The other viewers got
	// the whole frame.
	ErrRTPWrite = errors.New("RTP write failed for a viewer")

	errDataChannel = errors.New("the offer asks for a data channel: only video is served")
	errNoVideo     = errors.New("the offer has no video section that receives (m=video, recvonly or sendrecv): the stream is video")
	// errICELite: browsers never send an ICE-lite offer; one makes this
	// side start the checks with the peer's own credentials, so that a
	// peer that never read the answer could still connect.
	errICELite   = errors.New("the offer is ICE-lite: browsers' offers are full ICE")
	errClosed    = errors.New("the server is closing")
	errPushedOut = errors.New("pushed out by newer offers before it was answered")
)
