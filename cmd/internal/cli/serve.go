package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/vidstyle/vidstyle/stream/web"
)

// tokenEnv is the environment variable -serve takes the token from when
// neither -token nor -token-file is given. Unlike -token it is not in
// the process's command line, which every local user can read (ps).
const tokenEnv = "VIDSTYLE_TOKEN"

// maxTokenLine bounds what is read of a token file: a token is a line.
const maxTokenLine = 4 << 10

// hostList is a flag that may be repeated and holds comma-separated
// values: -allow-host a -allow-host b,c:8080.
type hostList []string

func (l *hostList) String() string { return strings.Join(*l, ",") }

func (l *hostList) Set(v string) error {
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h == "" {
			return errors.New("an empty host name")
		}
		*l = append(*l, h)
	}
	return nil
}

// webConfig checks the -serve flags and returns the web preview's config
// (nil without -serve). The token comes from -token, -token-file or
// $VIDSTYLE_TOKEN (envToken, ok says whether it was set): giving both flags
// is an error, and either flag overrides the variable. Everything
// web.NewServer would refuse is refused here, before models load.
func (o *options) webConfig(set map[string]bool, envToken string, envSet bool) (*web.Config, error) {
	if !o.serve {
		if set["token"] || set["token-file"] || set["allow-host"] {
			return nil, errors.New("-token, -token-file and -allow-host go with -serve")
		}
		return nil, nil
	}
	cfg := &web.Config{Addr: o.listen, AllowedHosts: o.allowHosts, MaxViewers: o.maxViewers}
	if err := (web.Config{Addr: o.listen}).Check(); err != nil {
		return nil, fmt.Errorf("-listen: %w", errors.Unwrap(err)) // without web's "listen address"
	}
	if err := (web.Config{Addr: o.listen, AllowedHosts: o.allowHosts}).Check(); err != nil {
		return nil, fmt.Errorf("-allow-host: %w", err)
	}
	source := ""
	switch {
	case set["token"] && set["token-file"]:
		return nil, errors.New("give -token or -token-file, not both")
	case set["token"]:
		cfg.Token, source = o.token, "-token"
	case set["token-file"]:
		t, err := readTokenFile(o.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("-token-file %s: %w", o.tokenFile, err)
		}
		cfg.Token, source = t, "-token-file "+o.tokenFile
	case envSet:
		cfg.Token, source = strings.TrimSpace(envToken), "$"+tokenEnv
	}
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return cfg, nil
}

// readTokenFile reads the token from the first line of path, surrounding
// spaces and the line end trimmed. The file must be a regular file that
// the user vidstyle runs as (or root) owns and only its owner can read or
// write (like an SSH key): a token other users can read or replace guards
// nothing. It is opened without blocking, so that a pipe (FIFO) is
// refused instead of waiting for a writer.
func readTokenFile(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return "", fmt.Errorf("cannot open: %w", errors.Unwrap(err))
	}
	defer f.Close()
	st, err := f.Stat() // the file opened, not what the path names now
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() && sys.Uid != 0 {
		return "", fmt.Errorf("owned by uid %d, not by the user vidstyle runs as (uid %d) or root: its owner could change it; chown it", sys.Uid, os.Getuid())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("mode %04o lets other users read or change it: chmod 600 it", perm)
	}
	line, err := bufio.NewReader(io.LimitReader(f, maxTokenLine)).ReadString('\n')
	switch {
	case errors.Is(err, io.EOF) && len(line) == maxTokenLine:
		return "", fmt.Errorf("the first line is over %d bytes: not a token", maxTokenLine)
	case err != nil && !errors.Is(err, io.EOF):
		return "", fmt.Errorf("cannot read: %w", err)
	}
	t := strings.TrimSpace(line)
	if t == "" {
		return "", errors.New("no token on the first line")
	}
	return t, nil
}
