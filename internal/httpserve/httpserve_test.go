package httpserve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The idle-connections test runs its clients in a child process (this test
// binary again), so the server process's descriptors are the server's own.
const (
	envClientsAddr = "HTTPSERVE_TEST_IDLE_CLIENTS_ADDR"
	envClientsN    = "HTTPSERVE_TEST_IDLE_CLIENTS_N"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(envClientsAddr); addr != "" {
		n, _ := strconv.Atoi(os.Getenv(envClientsN))
		os.Exit(holdIdleClients(addr, n))
	}
	os.Exit(m.Run())
}

// holdIdleClients opens n keep-alive connections that each send one request,
// reports how many got an answer, and keeps them open until stdin closes.
func holdIdleClients(addr string, n int) int {
	var held []net.Conn
	answered := 0
	for range n {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			return 1
		}
		held = append(held, c)
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
			continue
		}
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			answered++
		}
	}
	fmt.Printf("held %d answered %d\n", len(held), answered)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

var healthz = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/healthz" {
		http.NotFound(w, r)
		return
	}
	_, _ = io.WriteString(w, "ok")
})

// start serves h until the test ends.
func start(t *testing.T, h http.Handler, l Limits) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(h, ln, l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("counting descriptors needs /proc: %v", err)
	}
	return len(ents)
}

// getHealthz asks on a fresh connection, as a load balancer's probe would.
func getHealthz(addr string) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// Idle keep-alive connections beyond the bound neither hold descriptors nor
// lock out new clients: they make room for them.
func TestIdleConnectionsCannotExhaustDescriptors(t *testing.T) {
	const bound, clients = 64, 500
	base := openFDs(t)
	s := start(t, healthz, Limits{MaxConns: bound})

	var peakFDs atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peakFDs.Store(max(peakFDs.Load(), int64(openFDs(t))))
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envClientsAddr+"="+s.Addr().String(), envClientsN+"="+strconv.Itoa(clients))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("client process: %v", err)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("client process: %v", err)
	}
	t.Logf("client process: %s", strings.TrimSpace(line))

	// The clients still hold all their connections open.
	for i := range 3 {
		if err := getHealthz(s.Addr().String()); err != nil {
			t.Fatalf("fresh client %d with %d idle connections held: %v", i, clients, err)
		}
	}
	close(stop)
	<-sampled

	st := s.Stats()
	if st.Peak > bound || st.Open > bound {
		t.Errorf("server connections: peak %d, open %d; bound %d", st.Peak, st.Open, bound)
	}
	if st.Evicted == 0 {
		t.Errorf("no idle connection was evicted for %d clients over a bound of %d: %+v", clients, bound, st)
	}
	// Slack: the listener, the child's pipes, a connection being accepted.
	if limit := int64(base + bound + 16); peakFDs.Load() > limit {
		t.Errorf("the server process held up to %d descriptors (%d before serving, bound %d)", peakFDs.Load(), base, bound)
	}
}

// At the bound with no idle connection to evict, a new connection is closed
// at once rather than left waiting.
func TestNewConnectionAtTheBoundIsClosedAtOnce(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	s := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}), Limits{MaxConns: 2})
	defer close(release)
	for range 2 {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /busy HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		<-entered
	}
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("third connection over a bound of 2 busy ones: read %v, want it closed", err)
	}
	if st := s.Stats(); st.Rejected != 1 || st.Open != 2 {
		t.Errorf("stats %+v, want 1 rejected and 2 open", st)
	}
}

// A client sending its headers slower than ReadHeaderTimeout loses its
// connection before it finishes them.
func TestSlowHeadersAreCutOff(t *testing.T) {
	var served atomic.Bool
	s := start(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Store(true) }),
		Limits{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: time.Minute})
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan time.Time, 1)
	go func() {
		_, _ = c.Read(make([]byte, 1))
		closed <- time.Now()
	}()
	begin := time.Now()
	req := "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + strings.Repeat("a", 40) + "\r\n\r\n"
	for i := range len(req) {
		select {
		case at := <-closed:
			if d := at.Sub(begin); d > time.Second {
				t.Errorf("closed after %s", d)
			}
			if served.Load() {
				t.Error("the slow request reached the handler")
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := c.Write([]byte{req[i]}); err != nil {
			return // closed by the server
		}
	}
	t.Fatalf("the server waited %s for headers sent byte by byte", time.Since(begin))
}

func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	s := start(t, healthz, Limits{IdleTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("an idle keep-alive connection stayed open 2s with IdleTimeout 200ms")
	}
	if st := s.Stats(); st.Open != 0 {
		t.Errorf("open connections after the idle one closed: %d", st.Open)
	}
}

func TestSlowResponsesAreCutOff(t *testing.T) {
	s := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(400 * time.Millisecond)
		_, _ = io.WriteString(w, "late")
	}), Limits{WriteTimeout: 200 * time.Millisecond})
	resp, err := http.Get("http://" + s.Addr().String() + "/")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a response written after WriteTimeout arrived: %s", resp.Status)
	}
}

func TestOversizedHeadersAreRefused(t *testing.T) {
	s := start(t, healthz, Limits{MaxHeaderBytes: 1 << 10})
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr().String()+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("16 KiB of headers with MaxHeaderBytes 1 KiB: %s", resp.Status)
	}
}

// Run lets a running request finish, then returns nil: the errgroup sees a
// clean stop.
func TestRunShutsDownGracefully(t *testing.T) {
	entered := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		time.Sleep(200 * time.Millisecond)
		_, _ = io.WriteString(w, "done")
	}), ln, Limits{})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-entered
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run after a graceful shutdown: %v", err)
	}
	if b := <-got; b != "done" {
		t.Errorf("request running at shutdown got %q", b)
	}
	if _, err := net.Dial("tcp", s.Addr().String()); err == nil {
		t.Error("still accepting after Run returned")
	}
}

func TestRunReportsAShutdownThatTimedOut(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}), ln, Limits{ShutdownTimeout: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	go func() {
		if resp, err := http.Get("http://" + s.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	select {
	case err := <-ran:
		if err == nil || !strings.Contains(err.Error(), "cut off") {
			t.Errorf("Run with a request stuck past ShutdownTimeout: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run waited for a stuck request past ShutdownTimeout")
	}
}

func TestMaxConnsForLeavesDescriptorsToKafka(t *testing.T) {
	for _, c := range []struct {
		nofile uint64
		want   int
	}{{0, 512}, {20, 16}, {1024, 512}, {20000, 4096}, {1 << 20, 4096}} {
		if got := MaxConnsFor(c.nofile); got != c.want {
			t.Errorf("MaxConnsFor(%d) = %d, want %d", c.nofile, got, c.want)
		}
	}
}
