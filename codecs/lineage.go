package codecs

import "fmt"

// ColumnRef names one column of one dataset.
type ColumnRef struct {
	Dataset string `json:"dataset"`
	Column  string `json:"column"`
}

// ColumnMapping says a target column is computed from source columns.
type ColumnMapping struct {
	Target  ColumnRef   `json:"target"`
	Sources []ColumnRef `json:"sources"`
}

const maxColumnRefs = 512

// Lineage is the payload of query.lineage on query-lineage-events: which
// datasets a query read and wrote.
type Lineage struct {
	QueryID string          `json:"query_id"`
	SQL     string          `json:"sql,omitempty"`
	SQLHash string          `json:"sql_hash,omitempty"`
	Dialect string          `json:"dialect"`
	Sources []string        `json:"sources"`
	Targets []string        `json:"targets"`
	Columns []ColumnMapping `json:"columns,omitempty"`
	UserID  string          `json:"user_id"`
	TraceID string          `json:"trace_id,omitempty"`
	Status  string          `json:"status"` // success or failed
}

// Validate implements Payload.
func (l *Lineage) Validate() error {
	if err := first(
		required("query_id", l.QueryID), required("dialect", l.Dialect), required("user_id", l.UserID),
		oneOf("status", l.Status, "success", "failed"), maxLen("sql", l.SQL, maxContentBytes),
		optional("sql_hash", l.SQLHash), optional("trace_id", l.TraceID),
	); err != nil {
		return err
	}
	if l.SQL == "" && l.SQLHash == "" {
		return Reject(ReasonMissingField, "sql", "sql or sql_hash is required")
	}
	if len(l.Sources) == 0 && len(l.Targets) == 0 {
		return Reject(ReasonMissingField, "sources", "at least one source or target dataset is required")
	}
	if len(l.Sources)+len(l.Targets) > 256 {
		return Reject(ReasonInvalidValue, "sources", "at most 256 datasets per event")
	}
	// Paths are formatted only for an error.
	for i, s := range l.Sources {
		if required("", s) != nil {
			return required(fmt.Sprintf("sources[%d]", i), s)
		}
	}
	for i, t := range l.Targets {
		if required("", t) != nil {
			return required(fmt.Sprintf("targets[%d]", i), t)
		}
	}
	// Column references are bounded so that the lineage record and the
	// per-dataset updates an event fans out into fit one Kafka record.
	refs := 0
	for _, c := range l.Columns {
		refs += 1 + len(c.Sources)
	}
	if refs > maxColumnRefs {
		return Reject(ReasonInvalidValue, "columns", "at most %d column references (targets plus sources) per event, got %d", maxColumnRefs, refs)
	}
	for i, c := range l.Columns {
		if validMapping(c) {
			continue
		}
		p := fmt.Sprintf("columns[%d]", i)
		if err := first(required(p+".target.dataset", c.Target.Dataset), required(p+".target.column", c.Target.Column)); err != nil {
			return err
		}
		if len(c.Sources) == 0 {
			return Reject(ReasonMissingField, p+".sources", "at least one source column is required")
		}
		for j, s := range c.Sources {
			q := fmt.Sprintf("%s.sources[%d]", p, j)
			if err := first(required(q+".dataset", s.Dataset), required(q+".column", s.Column)); err != nil {
				return err
			}
		}
	}
	return nil
}

// validMapping reports whether Validate finds nothing wrong with c.
func validMapping(c ColumnMapping) bool {
	if first(required("", c.Target.Dataset), required("", c.Target.Column)) != nil || len(c.Sources) == 0 {
		return false
	}
	for _, s := range c.Sources {
		if first(required("", s.Dataset), required("", s.Column)) != nil {
			return false
		}
	}
	return true
}
