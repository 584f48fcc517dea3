package httpserve

import (
	"container/list"
	"net"
	"net/http"
	"sync"
)

// Stats counts connections since the server was made.
type Stats struct {
	Open     int    // open now
	Peak     int    // most open at once
	Evicted  uint64 // idle keep-alive connections closed to admit a new one
	Rejected uint64 // new connections closed at once: the bound was reached and none was idle
}

// tracker bounds the open connections and knows which are idle, from
// http.Server.ConnState.
type tracker struct {
	max  int
	mu   sync.Mutex
	s    Stats
	idle list.List // of *conn, longest idle first
}

func newTracker(max int) *tracker { return &tracker{max: max} }

// conn is an admitted connection; it gives its slot back when closed.
type conn struct {
	net.Conn
	t *tracker
	// Guarded by t.mu.
	idle     *list.Element // in t.idle while idle
	released bool          // its slot is free (closed, or evicted)
}

func (c *conn) Close() error {
	c.t.release(c)
	return c.Conn.Close()
}

// admit takes a slot for a new connection. At the bound it frees the slot
// of the longest idle connection and returns it for the caller to close;
// ok is false when no connection is idle.
func (t *tracker) admit() (victim *conn, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s.Open < t.max {
		t.s.Open++
		t.s.Peak = max(t.s.Peak, t.s.Open)
		return nil, true
	}
	front := t.idle.Front()
	if front == nil {
		t.s.Rejected++
		return nil, false
	}
	victim = t.idle.Remove(front).(*conn)
	victim.idle = nil
	victim.released = true // its slot passes to the new connection
	t.s.Evicted++
	return victim, true
}

func (t *tracker) release(c *conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.released {
		return
	}
	c.released = true
	t.s.Open--
	if c.idle != nil {
		t.idle.Remove(c.idle)
		c.idle = nil
	}
}

// state is the http.Server's ConnState hook.
func (t *tracker) state(nc net.Conn, s http.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.released {
		return
	}
	switch {
	case s == http.StateIdle && c.idle == nil:
		c.idle = t.idle.PushBack(c)
	case s != http.StateIdle && c.idle != nil:
		// Active again, hijacked or closing: not to be evicted. A hijacked
		// connection keeps its slot until the handler closes it.
		t.idle.Remove(c.idle)
		c.idle = nil
	}
}

func (t *tracker) stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s
}

// listener admits connections within the tracker's bound. It never blocks
// on the bound: a connection that finds no room is closed at once, so
// clients get an answer (a reset) instead of waiting in the accept queue.
type listener struct {
	net.Listener
	t *tracker
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		victim, ok := l.t.admit()
		if victim != nil {
			_ = victim.Conn.Close()
		}
		if ok {
			return &conn{Conn: nc, t: l.t}, nil
		}
		_ = nc.Close()
	}
}
