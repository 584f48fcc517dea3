package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/aistream/aistream/internal/demo"
	"github.com/aistream/aistream/internal/stream"
)

// ScaleResult is the scale phase for one replica count: every group of the
// pipeline in Replicas "aistream run" processes sharing one consumer group
// prefix.
type ScaleResult struct {
	Replicas int
	// Join is from the processes' start until every group is Stable with
	// one member per replica, each owning partitions: not in the span.
	Join time.Duration
	// Events are the messages the groups processed (inputs and loops, every
	// group counted: a record two groups read counts twice).
	Events  int64
	Elapsed time.Duration
	// CPU is the replicas' CPU over the span (Linux /proc/<pid>/stat);
	// CPUTotal their whole life (rusage at exit: start-up, join, shutdown).
	CPU, CPUTotal time.Duration
	// PerTopic is Events by input topic.
	PerTopic map[string]int64
}

// Rate is events per second over the span.
func (s ScaleResult) Rate() float64 { return perSecond(s.Events, s.Elapsed) }

// RestoreResult is one table restored from its changelog into an empty
// state directory by a goka view (the recovery a replica does before it
// processes, without the group join).
type RestoreResult struct {
	Table   string
	Records int64
	Bytes   int64 // the changelog's size on the broker
	Elapsed time.Duration
	CPU     time.Duration // this process's
}

// scaleGroup is one processor group under one replica count's prefix.
type scaleGroup struct {
	id     string   // consumer group
	inputs []string // topics it consumes, loop included
	table  string   // its table's topic, "" without one
}

// scale is phase 4: for each replica count, fresh groups (a prefix of their
// own, started at the inputs' end), the replicas started and joined, then
// the mix produced and the span measured until every group's committed
// offsets reach the end of every input. Then phase 5: the restore rate of
// the first count's tables.
func (b *bench) scale(ctx context.Context, rep *Report) error {
	if b.cfg.Binary == "" {
		return errors.New("bench: the scale phase needs the aistream binary to start replicas of (Config.Binary)")
	}
	recs := b.mix(b.cfg.Events, time.Now())
	var restoreFrom []scaleGroup
	for _, n := range b.cfg.Replicas {
		prefix := stream.Prefix(fmt.Sprintf("%s-r%d", b.prefix, n))
		gs, err := b.scaleGroups(ctx, prefix)
		if err != nil {
			return err
		}
		r, err := b.scaleRun(ctx, prefix, gs, n, recs)
		if err != nil {
			return fmt.Errorf("scale phase, %d replicas: %w", n, err)
		}
		rep.Scale = append(rep.Scale, r)
		if restoreFrom == nil {
			restoreFrom = gs
		}
	}
	if !b.cfg.Restore {
		return nil
	}
	for _, g := range restoreFrom {
		if g.table == "" {
			continue
		}
		r, err := b.restore(ctx, g.table)
		if err != nil {
			return fmt.Errorf("restore %s: %w", g.table, err)
		}
		rep.Restore = append(rep.Restore, r)
	}
	return nil
}

// scaleGroups creates the internal topics of every group under prefix and
// describes the groups.
func (b *bench) scaleGroups(ctx context.Context, prefix stream.Prefix) ([]scaleGroup, error) {
	// The replicas' binary creates its topics under prefix: its modules may
	// be more than this process's.
	args := append([]string{"topics", "apply"}, b.cfg.ClusterFlags...)
	args = append(args, "--consumer-group", string(prefix), "--actor", "aistream-bench")
	if out, err := exec.CommandContext(ctx, b.cfg.Binary, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("create the topics of prefix %s: %v: %s", prefix, err, strings.TrimSpace(string(out)))
	}
	o := stream.Options{Prefix: prefix, Decoder: b.cfg.Decoder}
	var out []scaleGroup
	for _, g := range b.groups {
		gg := g.Graph(o)
		sg := scaleGroup{id: string(gg.Group()), inputs: stream.Inputs(gg)}
		if t := gg.GroupTable(); t != nil {
			sg.table = t.Topic()
		}
		out = append(out, sg)
	}
	return out, nil
}

func (b *bench) scaleRun(ctx context.Context, prefix stream.Prefix, gs []scaleGroup, n int, recs []demo.Record) (ScaleResult, error) {
	res := ScaleResult{Replicas: n}
	var topics []string
	for _, g := range gs {
		for _, t := range g.inputs {
			if !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
	}
	from, err := endOffsets(ctx, b.adm, topics...)
	if err != nil {
		return res, err
	}
	for _, g := range gs {
		if err := commit(ctx, b.adm, g.id, from.only(g.inputs)); err != nil {
			return res, err
		}
	}
	started := time.Now()
	reps := make([]*replica, n)
	defer stopAll(reps)
	for i := range n {
		dir := filepath.Join(b.env.StateDir, fmt.Sprintf("%s-%d", prefix, i))
		args := append([]string{"run"}, b.cfg.ClusterFlags...)
		args = append(args, "--consumer-group", string(prefix), "--state-dir", dir,
			"--http-addr", "127.0.0.1:0", "--views=false", "--apply-topics=false", "--log-level", "warn",
			"--processors", names(b.groups))
		r, err := startReplica(b.cfg.Binary, args)
		if err != nil {
			return res, err
		}
		reps[i] = r
	}
	if err := b.awaitJoin(ctx, gs, n, reps); err != nil {
		return res, err
	}
	res.Join = time.Since(started)
	// What the groups processed during the join (records others wrote to
	// the shared topics meanwhile) is not the span's: events count from
	// where each group had committed when it started.
	start := map[string]positions{}
	for _, g := range gs {
		offs, err := b.adm.FetchOffsets(ctx, g.id)
		if err != nil {
			return res, fmt.Errorf("committed offsets of %s: %w", g.id, err)
		}
		p := from.only(g.inputs)
		for t, parts := range p {
			for part := range parts {
				if o, ok := offs.Lookup(t, part); ok && o.Err == nil && o.At > parts[part] {
					parts[part] = o.At
				}
			}
		}
		start[g.id] = p
	}
	cpu0, ok := replicasCPU(reps)
	begin := time.Now()
	if err := fill(ctx, b.cl, recs); err != nil {
		return res, err
	}
	to, err := b.awaitCommitted(ctx, gs, reps)
	if err != nil {
		return res, err
	}
	res.Elapsed = time.Since(begin)
	if cpu1, ok1 := replicasCPU(reps); ok && ok1 {
		res.CPU = cpu1 - cpu0
	}
	res.PerTopic = map[string]int64{}
	for _, g := range gs {
		for _, t := range g.inputs {
			n := start[g.id].only([]string{t}).span(to)
			res.Events += n
			res.PerTopic[t] += n
		}
	}
	if err := stopAll(reps); err != nil {
		return res, err
	}
	for _, r := range reps {
		res.CPUTotal += r.cpu
	}
	if !ok {
		res.CPU = res.CPUTotal // no per-process CPU to read mid-run here
	}
	return res, nil
}

// awaitJoin waits until every group is Stable with n members, each owning
// at least one partition (when the group has that many).
func (b *bench) awaitJoin(ctx context.Context, gs []scaleGroup, n int, reps []*replica) error {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.id
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var missing string
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the replicas did not all join within the time limit: %s", missing)
		case <-tick.C:
		}
		if err := exitedReplica(reps); err != nil {
			return err
		}
		dg, err := b.adm.DescribeGroups(ctx, ids...)
		if err != nil {
			missing = err.Error()
			continue
		}
		missing = ""
		for _, id := range ids {
			if why := joined(dg[id], n); why != "" {
				missing = id + ": " + why
				break
			}
		}
		if missing == "" {
			return nil
		}
	}
}

// joined says what group d lacks to be Stable with n members that own
// partitions, "" if nothing.
func joined(d kadm.DescribedGroup, n int) string {
	if d.Err != nil {
		return d.Err.Error()
	}
	owned := make([]int, len(d.Members))
	for i, m := range d.Members {
		c, ok := m.Assigned.AsConsumer()
		if !ok {
			owned = nil // an assignment kadm cannot read: state and members are all there is
			break
		}
		for _, t := range c.Topics {
			owned[i] += len(t.Partitions)
		}
	}
	return joinedWith(d.State, len(d.Members), owned, n)
}

// joinedWith is joined over a group's state, its member count and how many
// partitions each member owns (nil: unknown).
func joinedWith(state string, members int, owned []int, n int) string {
	if state != "Stable" || members != n {
		return fmt.Sprintf("%s with %d of %d members", state, members, n)
	}
	if owned == nil {
		return ""
	}
	owners, parts := 0, 0
	for _, o := range owned {
		if o > 0 {
			owners++
		}
		parts += o
	}
	if parts == 0 || owners < min(n, parts) {
		return fmt.Sprintf("%d of %d members own partitions", owners, n)
	}
	return ""
}

// awaitCommitted waits until every group's committed offsets reach the end
// of each of its inputs, and returns those ends. Committed offsets are read
// before the ends, so an output an upstream group committed is in the ends
// the downstream group has to reach.
func (b *bench) awaitCommitted(ctx context.Context, gs []scaleGroup, reps []*replica) (positions, error) {
	var topics []string
	for _, g := range gs {
		topics = append(topics, g.inputs...)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	behind := "nothing checked yet"
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("not processed to the end within the time limit: %s", behind)
		case <-tick.C:
		}
		if err := exitedReplica(reps); err != nil {
			return nil, err
		}
		committed := map[string]kadm.OffsetResponses{}
		for _, g := range gs {
			offs, err := b.adm.FetchOffsets(ctx, g.id)
			if err != nil {
				return nil, fmt.Errorf("committed offsets of %s: %w", g.id, err)
			}
			committed[g.id] = offs
		}
		to, err := endOffsets(ctx, b.adm, topics...)
		if err != nil {
			return nil, err
		}
		behind = ""
		for _, g := range gs {
			if lag := lagOf(committed[g.id], to.only(g.inputs)); lag > 0 {
				behind = fmt.Sprintf("%s is %d records behind its inputs' end", g.id, lag)
				break
			}
		}
		if behind == "" {
			return to, nil
		}
	}
}

// lagOf is how many records of to lie past the committed offsets.
func lagOf(committed kadm.OffsetResponses, to positions) int64 {
	var lag int64
	for t, parts := range to {
		for p, end := range parts {
			at := int64(0)
			if o, ok := committed.Lookup(t, p); ok && o.Err == nil {
				at = o.At
			}
			if end > at {
				lag += end - at
			}
		}
	}
	return lag
}

// restore measures how fast table is restored from its changelog into an
// empty state directory.
func (b *bench) restore(ctx context.Context, table string) (RestoreResult, error) {
	res := RestoreResult{Table: table}
	starts, err := b.adm.ListStartOffsets(ctx, table)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return res, fmt.Errorf("list start offsets: %w", err)
	}
	ends, err := endOffsets(ctx, b.adm, table)
	if err != nil {
		return res, err
	}
	starts.Each(func(o kadm.ListedOffset) { res.Records += ends[o.Topic][o.Partition] - o.Offset })
	parts := map[int32]struct{}{}
	for p := range ends[table] {
		parts[p] = struct{}{}
	}
	// The size is the broker's answer; one that cannot give it (an older
	// or embedded broker) leaves it unknown (-1), not the run failed.
	res.Bytes = -1
	if dirs, err := b.adm.DescribeAllLogDirs(ctx, kadm.TopicsSet{table: parts}); err == nil {
		size := map[int32]int64{} // per partition, the largest replica
		dirs.Each(func(d kadm.DescribedLogDir) {
			for _, p := range d.Topics[table] {
				size[p.Partition] = max(size[p.Partition], p.Size)
			}
		})
		if len(size) > 0 {
			res.Bytes = 0
		}
		for _, s := range size {
			res.Bytes += s
		}
	}
	env := *b.env
	env.StateDir, err = os.MkdirTemp(b.env.StateDir, "restore-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(env.StateDir)
	v, err := goka.NewView(env.Brokers, goka.Table(table), new(codec.Bytes), env.ViewOptions()...)
	if err != nil {
		return res, err
	}
	vctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	cpu0, begin := cpuTime(), time.Now()
	go func() { done <- v.Run(vctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			b.cfg.Log.Warn().Str("table", table).Msg("bench: the restore's view did not stop within 20 s")
		}
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !v.Recovered() {
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("not recovered within the time limit (%d records)", res.Records)
		case err := <-done:
			done <- err
			return res, fmt.Errorf("the view stopped before it recovered: %v", err)
		case <-tick.C:
		}
	}
	res.Elapsed, res.CPU = time.Since(begin), cpuTime()-cpu0
	return res, nil
}

// replica is one "aistream run" process.
type replica struct {
	cmd    *exec.Cmd
	out    *tail
	exited chan struct{}
	err    error
	cpu    time.Duration // user + system, once exited
	once   sync.Once
	serr   error
}

func startReplica(bin string, args []string) (*replica, error) {
	r := &replica{out: &tail{max: 16 << 10}, exited: make(chan struct{})}
	r.cmd = exec.Command(bin, args...)
	r.cmd.Env = os.Environ()
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	r.cmd.SysProcAttr = childAttr()
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start a replica (%s): %w", bin, err)
	}
	go func() {
		r.err = r.cmd.Wait()
		if ps := r.cmd.ProcessState; ps != nil {
			r.cpu = ps.UserTime() + ps.SystemTime()
		}
		close(r.exited)
	}()
	return r, nil
}

// stop ends the replica (SIGTERM, SIGKILL after 20 s) and returns an error
// if it had exited on its own or did not stop cleanly. Nil-safe, once.
func (r *replica) stop() error {
	if r == nil {
		return nil
	}
	r.once.Do(func() {
		select {
		case <-r.exited:
			r.serr = fmt.Errorf("exited before it was stopped: %v: %s", r.err, r.out)
			return
		default:
		}
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
			if r.err != nil {
				r.serr = fmt.Errorf("stopped with %v: %s", r.err, r.out)
			}
		case <-time.After(20 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
			r.serr = fmt.Errorf("did not stop within 20 s of SIGTERM (killed): %s", r.out)
		}
	})
	return r.serr
}

// stopAll stops the replicas together and returns the first one's error.
func stopAll(reps []*replica) error {
	errs := make([]error, len(reps))
	var wg sync.WaitGroup
	for i, r := range reps {
		wg.Go(func() {
			if err := r.stop(); err != nil {
				errs[i] = fmt.Errorf("replica %d: %w", i+1, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// exitedReplica is an error for the first replica that exited, nil if all
// run.
func exitedReplica(reps []*replica) error {
	for i, r := range reps {
		select {
		case <-r.exited:
			return fmt.Errorf("replica %d exited: %v: %s", i+1, r.err, r.out)
		default:
		}
	}
	return nil
}

// replicasCPU is the replicas' CPU so far, false where it cannot be read.
func replicasCPU(reps []*replica) (time.Duration, bool) {
	var sum time.Duration
	for _, r := range reps {
		c, ok := processCPU(r.cmd.Process.Pid)
		if !ok {
			return 0, false
		}
		sum += c
	}
	return sum, true
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return "(no output)"
	}
	return s
}

// printScale writes the scale and restore tables.
func (r *Report) printScale(w io.Writer) {
	if len(r.Scale) > 0 {
		fmt.Fprintln(w, "\nscale phase: every group in N \"aistream run\" processes (one consumer group prefix, fresh groups per N); the span starts once all N own their partitions (join not counted)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "replicas\tjoin s\tevents\tspan s\tevents/s\tCPU µs/ev\tCPU s (whole life)\t")
		for _, s := range r.Scale {
			fmt.Fprintf(tw, "%d\t%.1f\t%d\t%.2f\t%.0f\t%.1f\t%.1f\t\n", s.Replicas, s.Join.Seconds(), s.Events, s.Elapsed.Seconds(), s.Rate(),
				us(per(s.CPU, s.Events)), s.CPUTotal.Seconds())
		}
		tw.Flush()
		for _, s := range r.Scale {
			var by []string
			for t, n := range s.PerTopic {
				by = append(by, fmt.Sprintf("%s %d", t, n))
			}
			slices.Sort(by)
			fmt.Fprintf(w, "  %d replicas, events by input topic (every group reading it counts): %s\n", s.Replicas, strings.Join(by, ", "))
		}
	}
	if len(r.Restore) > 0 {
		fmt.Fprintln(w, "\ntable restore: a goka view recovers the table from its changelog into an empty state directory")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "table\trecords\tMiB\ts\trecords/s\tMiB/s\tCPU µs/rec\t")
		all := RestoreResult{Table: "all tables, one after another"}
		for _, x := range r.Restore {
			all.Records += x.Records
			all.Elapsed += x.Elapsed
			all.CPU += x.CPU
			if all.Bytes >= 0 && x.Bytes >= 0 {
				all.Bytes += x.Bytes
			} else {
				all.Bytes = -1
			}
		}
		for _, x := range append(slices.Clone(r.Restore), all) {
			mib, rate := "?", "?"
			if x.Bytes >= 0 {
				m := float64(x.Bytes) / (1 << 20)
				mib, rate = fmt.Sprintf("%.1f", m), fmt.Sprintf("%.1f", m/max(x.Elapsed.Seconds(), 1e-9))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.2f\t%.0f\t%s\t%.1f\t\n", x.Table, x.Records, mib, x.Elapsed.Seconds(),
				perSecond(x.Records, x.Elapsed), rate, us(per(x.CPU, x.Records)))
		}
		tw.Flush()
	}
}
