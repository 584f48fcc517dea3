package lineage

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/ids"
)

// RecordType is the event type of the lineage records on ai-lineage-records.
const RecordType = "lineage.record"

// Record is the payload of a lineage record: one processed lineage event
// with canonical dataset names, shaped after an OpenLineage RunEvent
// (run_state ~ eventType, run ~ run, job ~ job, inputs/outputs ~ datasets,
// column_lineage ~ the columnLineage facet) in the project's snake_case.
type Record struct {
	RunState      string          `json:"run_state"` // COMPLETE or FAIL
	EventTime     codecs.Time     `json:"event_time"`
	SourceEventID string          `json:"source_event_id"`
	Run           RecordRun       `json:"run"`
	Job           RecordJob       `json:"job"`
	Inputs        []RecordDataset `json:"inputs"`
	Outputs       []RecordDataset `json:"outputs"`
	UserID        string          `json:"user_id"`
	TraceID       string          `json:"trace_id,omitempty"`
	Status        string          `json:"status"` // success or failed, as received
}

// RecordRun identifies one execution; RunID is a UUID derived from the
// tenant and source event id, so a replay yields the same id.
type RecordRun struct {
	RunID string `json:"run_id"`
}

// RecordJob is the query.
type RecordJob struct {
	Namespace string `json:"namespace"` // the tenant id
	Name      string `json:"name"`      // the query id
	SQL       string `json:"sql,omitempty"`
	SQLHash   string `json:"sql_hash"`
	Dialect   string `json:"dialect"`
}

// RecordDataset is one input or output dataset.
type RecordDataset struct {
	Namespace string `json:"namespace"` // the tenant id
	Name      string `json:"name"`      // canonical catalog.schema.table
	// ColumnLineage maps an output column to the input columns it is
	// computed from (outputs only).
	ColumnLineage map[string][]RecordField `json:"column_lineage,omitempty"`
}

// RecordField is one input column.
type RecordField struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Field     string `json:"field"`
}

// AppendJSON implements codecs.JSONAppender: byte for byte what
// encoding/json writes for r (codecs.Encode checks nothing else; the
// reflection path was a sixth of an input event's cost). False for an
// event time outside years 0-9999, which encoding/json refuses.
func (r *Record) AppendJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"run_state":`...)
	b = codecs.AppendString(b, r.RunState)
	b = append(b, `,"event_time":`...)
	b, ok := codecs.AppendTime(b, r.EventTime)
	b = append(b, `,"source_event_id":`...)
	b = codecs.AppendString(b, r.SourceEventID)
	b = append(b, `,"run":{"run_id":`...)
	b = codecs.AppendString(b, r.Run.RunID)
	b = append(b, `},"job":{"namespace":`...)
	b = codecs.AppendString(b, r.Job.Namespace)
	b = append(b, `,"name":`...)
	b = codecs.AppendString(b, r.Job.Name)
	if r.Job.SQL != "" {
		b = append(b, `,"sql":`...)
		b = codecs.AppendString(b, r.Job.SQL)
	}
	b = append(b, `,"sql_hash":`...)
	b = codecs.AppendString(b, r.Job.SQLHash)
	b = append(b, `,"dialect":`...)
	b = codecs.AppendString(b, r.Job.Dialect)
	b = append(b, `},"inputs":`...)
	b = appendDatasets(b, r.Inputs)
	b = append(b, `,"outputs":`...)
	b = appendDatasets(b, r.Outputs)
	b = append(b, `,"user_id":`...)
	b = codecs.AppendString(b, r.UserID)
	if r.TraceID != "" {
		b = append(b, `,"trace_id":`...)
		b = codecs.AppendString(b, r.TraceID)
	}
	b = append(b, `,"status":`...)
	b = codecs.AppendString(b, r.Status)
	return append(b, '}'), ok
}

// appendDatasets writes a []RecordDataset as encoding/json does (nil as
// null, column lineage by sorted column).
func appendDatasets(b []byte, ds []RecordDataset) []byte {
	if ds == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range ds {
		d := &ds[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"namespace":`...)
		b = codecs.AppendString(b, d.Namespace)
		b = append(b, `,"name":`...)
		b = codecs.AppendString(b, d.Name)
		if len(d.ColumnLineage) > 0 {
			b = append(b, `,"column_lineage":{`...)
			for j, col := range slices.Sorted(maps.Keys(d.ColumnLineage)) {
				if j > 0 {
					b = append(b, ',')
				}
				b = codecs.AppendString(b, col)
				b = append(b, ':')
				b = appendFields(b, d.ColumnLineage[col])
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendFields(b []byte, fs []RecordField) []byte {
	if fs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"namespace":`...)
		b = codecs.AppendString(b, f.Namespace)
		b = append(b, `,"name":`...)
		b = codecs.AppendString(b, f.Name)
		b = append(b, `,"field":`...)
		b = codecs.AppendString(b, f.Field)
		b = append(b, '}')
	}
	return append(b, ']')
}

// Statuses of a lineage event.
const (
	StatusSuccess = "success"
	StatusFailed  = "failed"
)

func record(env codecs.Envelope, l *codecs.Lineage, e *normalised, q QueryRef) Record {
	state := "COMPLETE"
	if l.Status == StatusFailed {
		state = "FAIL"
	}
	ns := env.TenantID
	r := Record{
		RunState: state, EventTime: env.Timestamp, SourceEventID: env.EventID,
		Run:    RecordRun{RunID: runID(env.TenantID, env.EventID)},
		Job:    RecordJob{Namespace: ns, Name: l.QueryID, SQL: l.SQL, SQLHash: q.SQLHash, Dialect: l.Dialect},
		UserID: l.UserID, TraceID: l.TraceID, Status: l.Status,
		Inputs: []RecordDataset{}, Outputs: []RecordDataset{},
	}
	for _, s := range e.sources {
		r.Inputs = append(r.Inputs, RecordDataset{Namespace: ns, Name: s})
	}
	for _, t := range e.targets {
		d := RecordDataset{Namespace: ns, Name: t}
		for _, c := range e.columns {
			if c.To.Dataset != t {
				continue
			}
			if d.ColumnLineage == nil {
				d.ColumnLineage = map[string][]RecordField{}
			}
			d.ColumnLineage[c.To.Column] = append(d.ColumnLineage[c.To.Column], RecordField{Namespace: ns, Name: c.From.Dataset, Field: c.From.Column})
		}
		r.Outputs = append(r.Outputs, d)
	}
	return r
}

// RecordEventID is the deterministic event id of the record made from the
// lineage event eventID of tenant.
func RecordEventID(tenant, eventID string) string {
	return "lr-" + ids.Terminated(tenant, eventID).Hex(32)
}

// runID is a version-8 (custom) RFC 9562 UUID derived from the event.
func runID(tenant, eventID string) string { return ids.Joined("run", tenant, eventID).UUID() }

// sqlHash is the event's sql_hash, or sha256 of its SQL text when it sent
// none.
func sqlHash(l *codecs.Lineage) string {
	if l.SQLHash != "" {
		return l.SQLHash
	}
	h := sha256.Sum256([]byte(l.SQL))
	return "sha256:" + hex.EncodeToString(h[:])
}
