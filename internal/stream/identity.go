package stream

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka/storage"
	"github.com/rs/zerolog"
)

// goka trusts a local table copy: it resumes from the table offset stored
// in it (storage's magic "__offset" key). When the table topic is deleted
// and recreated ("aistream replay" does that) or lost, the copy is ahead of
// its topic, and goka either serves it stale ("local offset is higher than
// partition offset") or, on an empty topic, refuses to start. So beside
// each local table we keep the id of the table topic it was built from
// (<dir>/<table>.topic-id), and before goka opens a copy we drop it when
// that id changed or its stored offset is at or past the partition's high
// watermark; goka then rebuilds it from the table topic.

// identitySuffix names the file beside a table's local copies.
const identitySuffix = ".topic-id"

// TopicIdentity is what the cluster says about a table topic.
type TopicIdentity struct {
	// ID is Kafka's topic id; "" when the broker reports none (Kafka before
	// 2.8) or the topic does not exist.
	ID string
	// End is each partition's high watermark; a partition missing here
	// (or the whole topic) ends at 0.
	End map[int32]int64
}

// ResetStale drops every local copy of table under dir that cur does not
// back, one log line per partition saying why, and then records cur's id.
// Copies it keeps are not touched.
func ResetStale(log zerolog.Logger, dir, table string, cur TopicIdentity) error {
	parts, err := localPartitions(dir, table)
	if err != nil {
		return err
	}
	idFile := filepath.Join(dir, table+identitySuffix)
	recorded := ""
	if b, err := os.ReadFile(idFile); err == nil {
		recorded = strings.TrimSpace(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", idFile, err)
	}
	for _, p := range parts {
		path := filepath.Join(dir, fmt.Sprintf("%s.%d", table, p))
		why := ""
		if recorded != "" && cur.ID != "" && recorded != cur.ID {
			why = fmt.Sprintf("the table topic was recreated (topic id %s, the local copy was built from %s)", cur.ID, recorded)
		} else {
			offset, err := storedOffset(dir, table, p)
			if err != nil {
				return err
			}
			if offset >= 0 && offset >= cur.End[p] {
				why = fmt.Sprintf("the local copy holds table offset %d but the table topic partition ends at %d", offset, cur.End[p])
			}
		}
		if why == "" {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("drop stale local table %s: %w", path, err)
		}
		log.Warn().Str("table", table).Int32("partition", p).Str("path", path).
			Msg("local table copy dropped, rebuilt from the table topic: " + why)
	}
	if cur.ID == "" || cur.ID == recorded {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create state directory %s: %w", dir, err)
	}
	// Written whole or not at all: a torn id would drop good copies.
	tmp := idFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(cur.ID+"\n"), 0o644); err != nil {
		return fmt.Errorf("record the table topic id: %w", err)
	}
	if err := os.Rename(tmp, idFile); err != nil {
		return fmt.Errorf("record the table topic id: %w", err)
	}
	return nil
}

// localPartitions lists the partitions of table with a local copy in dir
// (storage.DefaultBuilder's layout, <dir>/<table>.<partition>).
func localPartitions(dir, table string) ([]int32, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list local tables in %s: %w", dir, err)
	}
	var out []int32
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), table+".")
		if !ok || !e.IsDir() {
			continue
		}
		if p, err := strconv.ParseInt(rest, 10, 32); err == nil && p >= 0 {
			out = append(out, int32(p))
		}
	}
	slices.Sort(out)
	return out, nil
}

// storedOffset is the table offset goka stored in a local copy, -1 if none.
func storedOffset(dir, table string, p int32) (int64, error) {
	st, err := storage.DefaultBuilder(dir)(table, p)
	if err != nil {
		return 0, fmt.Errorf("open local table %s.%d in %s (is another process using this state directory?): %w", table, p, dir, err)
	}
	offset, err := st.GetOffset(-1)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("read the stored offset of local table %s.%d in %s: %w", table, p, dir, err)
	}
	return offset, nil
}

// localTables are the tables this runner keeps local copies of, by the
// directory they live in.
func (r *Runner) localTables() map[string][]string {
	out := map[string][]string{}
	add := func(dir, topic string) {
		if !slices.Contains(out[dir], topic) {
			out[dir] = append(out[dir], topic)
		}
	}
	procs := filepath.Join(r.env.StateDir, "processors")
	for _, p := range r.Processors() {
		gg := p.Graph()
		if t := gg.GroupTable(); t != nil {
			add(procs, t.Topic())
		}
		for _, t := range append(gg.LookupTables(), gg.JointTables()...) {
			add(procs, t.Topic())
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.views {
		add(filepath.Join(r.env.StateDir, "views"), v.Topic())
	}
	return out
}

// resetStaleTables runs ResetStale on every local table of the runner
// before goka opens any of them.
func (r *Runner) resetStaleTables() error {
	tables := r.localTables()
	var topics []string
	for _, ts := range tables {
		for _, t := range ts {
			if !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
	}
	if len(topics) == 0 {
		return nil
	}
	ids, err := r.env.identities(topics)
	if err != nil {
		return fmt.Errorf("check local tables against their table topics: %w", err)
	}
	for dir, ts := range tables {
		for _, t := range ts {
			if err := ResetStale(r.env.Log, dir, t, ids[t]); err != nil {
				return err
			}
		}
	}
	return nil
}

// identities asks the cluster for each topic's id and high watermarks; a
// topic that does not exist has neither.
func (e *Env) identities(topics []string) (map[string]TopicIdentity, error) {
	client, err := sarama.NewClient(e.Brokers, e.config("aistream-identity"))
	if err != nil {
		return nil, fmt.Errorf("connect to Kafka at %v: %w", e.Brokers, err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, err
	}
	mds, err := admin.DescribeTopics(topics)
	if err != nil {
		return nil, fmt.Errorf("describe topics %v: %w", topics, err)
	}
	out := map[string]TopicIdentity{}
	for _, md := range mds {
		if md.Err == sarama.ErrUnknownTopicOrPartition {
			out[md.Name] = TopicIdentity{}
			continue
		}
		if md.Err != sarama.ErrNoError {
			return nil, fmt.Errorf("describe topic %s: %w", md.Name, md.Err)
		}
		id := TopicIdentity{End: map[int32]int64{}}
		if md.Uuid != (sarama.Uuid{}) {
			id.ID = md.Uuid.String()
		}
		for _, p := range md.Partitions {
			end, err := client.GetOffset(md.Name, p.ID, sarama.OffsetNewest)
			if err != nil {
				return nil, fmt.Errorf("high watermark of %s[%d]: %w", md.Name, p.ID, err)
			}
			id.End[p.ID] = end
		}
		out[md.Name] = id
	}
	return out, nil
}
