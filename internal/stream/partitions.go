package stream

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// PartitionState is what this replica does with one partition of a
// processor group.
type PartitionState string

const (
	// PartitionRecovering: the partition's table is being restored into
	// local state, or the partition is assigned here and waits for the
	// restore of the others of its generation (goka starts processing all
	// of a generation's partitions together).
	PartitionRecovering PartitionState = "recovering"
	// PartitionStandby: a warm local copy of a partition that another
	// replica processes (hot standby), or one restored ahead of joining.
	PartitionStandby PartitionState = "standby"
	// PartitionRunning: this replica processes the partition.
	PartitionRunning PartitionState = "running"
)

// PartitionStates are the states, in the order /readyz and the metric use.
var PartitionStates = []PartitionState{PartitionRecovering, PartitionStandby, PartitionRunning}

// PartitionStatus is one partition's state, as /readyz lists it.
type PartitionStatus struct {
	Partition int32          `json:"partition"`
	State     PartitionState `json:"state"`
}

// Partitions tracks the state of every partition of every processor group
// this process holds and mirrors it in aistream_partition_state. Two
// sources feed it: the local table copies (opened, restored, closed: see
// trackStorage) and the consumer group's generations (assigned, processing,
// revoked: see rejoiningGroup). A partition this replica neither processes
// nor keeps a copy of has no state. Its methods may be called on nil.
type Partitions struct {
	gauge  *prometheus.GaugeVec
	mu     sync.Mutex
	groups map[string]map[int32]*partition
}

type partition struct {
	stored    bool // the local table copy is open
	recovered bool // and has caught up with the table topic
	assigned  bool // assigned to this replica in the current generation
	running   bool // assigned, and the generation's setup is done
}

func (p partition) state() (PartitionState, bool) {
	switch {
	case p.running:
		return PartitionRunning, true
	case p.assigned, p.stored && !p.recovered:
		return PartitionRecovering, true
	case p.stored:
		return PartitionStandby, true
	}
	return "", false
}

func newPartitions(gauge *prometheus.GaugeVec) *Partitions {
	return &Partitions{gauge: gauge, groups: map[string]map[int32]*partition{}}
}

// Snapshot returns each group's partitions with their state, by partition.
func (p *Partitions) Snapshot() map[string][]PartitionStatus {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]PartitionStatus{}
	for g, parts := range p.groups {
		for n, pt := range parts {
			if s, ok := pt.state(); ok {
				out[g] = append(out[g], PartitionStatus{Partition: n, State: s})
			}
		}
		slices.SortFunc(out[g], func(a, b PartitionStatus) int { return int(a.Partition - b.Partition) })
	}
	return out
}

// update applies change to the named partitions of group (every partition
// the group holds when parts is nil) and refreshes their metric series.
func (p *Partitions) update(group string, parts []int32, change func(*partition)) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	held := p.groups[group]
	if held == nil {
		held = map[int32]*partition{}
		p.groups[group] = held
	}
	if parts == nil {
		for n := range held {
			parts = append(parts, n)
		}
	}
	for _, n := range parts {
		pt := held[n]
		if pt == nil {
			pt = &partition{}
			held[n] = pt
		}
		change(pt)
		cur, ok := pt.state()
		if !ok {
			delete(held, n)
		}
		label := strconv.Itoa(int(n))
		for _, s := range PartitionStates {
			switch {
			case !ok:
				p.gauge.DeleteLabelValues(group, label, string(s))
			case s == cur:
				p.gauge.WithLabelValues(group, label, string(s)).Set(1)
			default:
				p.gauge.WithLabelValues(group, label, string(s)).Set(0)
			}
		}
	}
}

// assign starts a generation in which parts are assigned to this replica:
// every other partition of the group is no longer assigned.
func (p *Partitions) assign(group string, parts []int32) {
	p.update(group, nil, func(pt *partition) { pt.assigned, pt.running = false, false })
	p.update(group, parts, func(pt *partition) { pt.assigned = true })
}

// run marks the generation's assigned partitions as processed here.
func (p *Partitions) run(group string) {
	p.update(group, nil, func(pt *partition) { pt.running = pt.assigned })
}

// revoke ends the generation: nothing is assigned until the next one.
func (p *Partitions) revoke(group string) {
	p.update(group, nil, func(pt *partition) { pt.assigned, pt.running = false, false })
}

// trackStorage wraps a processor's storage builder so that the local copy
// of each table partition reports when it opens, has restored the table
// topic (goka calls MarkRecovered) and closes. A processor's own table is
// "<group>-table" (goka.GroupTable), which names the group; aistream's
// groups have no lookup or join tables, whose copies would be counted under
// the group owning the table.
func (p *Partitions) trackStorage(log zerolog.Logger, b storage.Builder) storage.Builder {
	return func(topic string, part int32) (storage.Storage, error) {
		st, err := b(topic, part)
		if err != nil {
			return nil, err
		}
		return &trackedStorage{Storage: st, p: p, log: log, group: groupOfTable(topic), table: topic, part: part}, nil
	}
}

// groupOfTable is the group whose table topic is table.
func groupOfTable(table string) string {
	return strings.TrimSuffix(table, string(goka.GroupTable("")))
}

type trackedStorage struct {
	storage.Storage
	p     *Partitions // may be nil
	log   zerolog.Logger
	group string
	table string
	part  int32
}

func (s *trackedStorage) Open() error {
	if err := s.Storage.Open(); err != nil {
		return err
	}
	s.p.update(s.group, []int32{s.part}, func(pt *partition) { pt.stored, pt.recovered = true, false })
	return nil
}

func (s *trackedStorage) MarkRecovered() error {
	if err := s.Storage.MarkRecovered(); err != nil {
		return err
	}
	s.p.update(s.group, []int32{s.part}, func(pt *partition) { pt.recovered = true })
	s.log.Info().Str("group", s.group).Str("topic", s.table).Int32("partition", s.part).Msg("table partition recovered")
	return nil
}

func (s *trackedStorage) Close() error {
	s.p.update(s.group, []int32{s.part}, func(pt *partition) { pt.stored, pt.recovered = false, false })
	return s.Storage.Close()
}

// Running returns the partitions of group this replica processes.
func (p *Partitions) Running(group string) map[int32]bool {
	out := map[int32]bool{}
	if p == nil {
		return out
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for n, pt := range p.groups[group] {
		if st, ok := pt.state(); ok && st == PartitionRunning {
			out[n] = true
		}
	}
	return out
}
