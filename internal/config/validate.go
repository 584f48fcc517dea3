package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

const (
	httpExample   = "127.0.0.1:8080 or :8080"
	brokerExample = "kafka-0:9092"
)

// MaxTopicName is Kafka's limit on a topic name's length.
const MaxTopicName = 249

// topicChars are the characters Kafka accepts in a topic name; the group
// prefix begins every internal topic's name.
var topicChars = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// checkGroupPrefix returns what is wrong with prefix, "" if nothing: the
// prefix followed by suffix, the longest suffix aistream appends, must be a
// legal topic name.
func checkGroupPrefix(prefix, suffix string) string {
	if prefix == "" {
		return "a prefix is required, e.g. aistream"
	}
	if !topicChars.MatchString(prefix) {
		return "topic names begin with it: use only letters, digits, '.', '_' and '-', e.g. aistream-prod"
	}
	if n := len(prefix) + len(suffix); n > MaxTopicName {
		return fmt.Sprintf("it has %d characters and topic names append up to %d more (%q), over Kafka's %d: use at most %d characters",
			len(prefix), len(suffix), suffix, MaxTopicName, MaxTopicName-len(suffix))
	}
	return ""
}

// checkHostPort returns what is wrong with a host:port address, "" if
// nothing; example is a valid one for the message. Port 0 and an empty host
// are accepted when listen is set (any free port, every interface).
func checkHostPort(addr, example string, listen bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "use host:port, e.g. " + example
	}
	lo := 1
	if listen {
		lo = 0
	}
	if p, err := strconv.Atoi(port); err != nil || p < lo || p > 65535 {
		return fmt.Sprintf("the port must be a number from %d to 65535", lo)
	}
	if !listen && host == "" {
		return "the host is missing: use host:port, e.g. " + example
	}
	return ""
}

// checkWritableDir makes sure dir is a directory this process can write,
// creating it if missing, and returns what is wrong, "" if nothing. It
// creates and removes a file in dir: a mode or a read-only mount can refuse
// writes to a directory that exists.
func checkWritableDir(dir string) string {
	if dir == "" {
		return "a writable directory is required"
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return "it is a file, not a directory: choose a directory path"
	case err != nil:
		// Missing, or a path through a file: MkdirAll says which.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Sprintf("the directory cannot be created (%v): create it or choose another path", err)
		}
	}
	f, err := os.CreateTemp(dir, ".aistream-write-check-*")
	if err != nil {
		return fmt.Sprintf("the directory is not writable (%v): give aistream's user write access or choose another path", errors.Unwrap(err))
	}
	_ = f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Sprintf("a file created in the directory cannot be removed (%v): fix its permissions or choose another path", err)
	}
	return ""
}

// Listen binds the HTTP listen address. Binding is the only reliable check
// that the address is usable (free, local, permitted), so call it before
// any other side effect, such as joining consumer groups, and serve the
// returned listener (httpserve.New) instead of listening again.
func (r Runtime) Listen() (net.Listener, error) {
	if msg := checkHostPort(r.HTTPAddr, httpExample, true); msg != "" {
		return nil, &Error{Setting: sHTTP.name(), Value: r.HTTPAddr, Want: msg}
	}
	ln, err := net.Listen("tcp", r.HTTPAddr)
	if err != nil {
		return nil, &Error{Setting: sHTTP.name(), Value: r.HTTPAddr, Want: listenReason(err)}
	}
	return ln, nil
}

func listenReason(err error) string {
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return "the address is in use: stop the process listening there or choose another port"
	case errors.Is(err, syscall.EACCES):
		return "permission denied: ports below 1024 need privileges, use a port from 1024 up"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no network interface of this host has that address: use 0.0.0.0, 127.0.0.1 or one of this host's addresses"
	case errors.As(err, &dns):
		return fmt.Sprintf("the host name does not resolve (%s): use an IP address or a name of this host", dns.Err)
	}
	return "cannot listen: " + strings.TrimPrefix(err.Error(), "listen tcp ")
}
