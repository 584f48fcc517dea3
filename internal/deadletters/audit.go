package deadletters

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/audit"
	"github.com/aistream/aistream/topology"
)

// The audit event of a replay: action AuditAction by the operator, under
// the tenant AuditTenant (a re-drive is an operation on the platform, not on
// one tenant's data; the records it re-drives keep their own tenants).
const (
	AuditAction = "dead-letters.replay"
	AuditTenant = audit.SystemTenant
)

// AuditRecord is the audit.recorded event of one executed replay of plan,
// selected by f, for audit-events, and its event_id. That id is derived from the filter,
// the dead letters re-driven and the outcome, so a command retried after it
// succeeded (or failed the same way) writes the same id, which consumers of
// audit-events deduplicate like every other event; a retry that did more is
// a new record.
func AuditRecord(f Filter, p Plan, actor string, res Result, at time.Time) (*kgo.Record, string, error) {
	outcome := "success"
	if res.Failed > 0 || res.Err != nil {
		outcome = "error"
	}
	a := codecs.Audit{
		Actor: actor, Action: AuditAction, Resource: f.String(), Outcome: outcome,
		Details: map[string]string{
			"selected":          strconv.Itoa(len(p.Redrive) + len(p.Duplicates) + len(p.Truncated) + len(p.Tombstones) + len(p.NoSource)),
			"redriven":          strconv.Itoa(res.Redriven),
			"failed":            strconv.Itoa(res.Failed),
			"duplicates":        strconv.Itoa(len(p.Duplicates)),
			"refused_truncated": strconv.Itoa(len(p.Truncated)),
			"refused_tombstone": strconv.Itoa(len(p.Tombstones)),
			"refused_no_source": strconv.Itoa(len(p.NoSource)),
		},
	}
	if n := len(p.Redrive); n > 0 {
		a.Details["first"] = p.Redrive[0].ID()
		a.Details["last"] = p.Redrive[n-1].ID()
	}
	if res.Err != nil {
		a.Details["error"] = res.Err.Error()
	}
	if err := a.Validate(); err != nil {
		return nil, "", fmt.Errorf("audit event: %w (give the operator's name with --actor)", err)
	}

	h := sha256.New()
	for _, s := range []string{"aistream/" + AuditAction, f.String(), outcome, strconv.Itoa(res.Redriven), strconv.Itoa(res.Failed)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, d := range p.Redrive {
		h.Write([]byte(d.ID()))
		h.Write([]byte{0})
	}
	env := codecs.Envelope{
		EventID:   "audit-" + hex.EncodeToString(h.Sum(nil))[:24],
		EventType: codecs.TypeAudit, TenantID: AuditTenant,
		Timestamp: codecs.Time{Time: at.UTC()}, Source: "aistream",
	}
	value, err := codecs.Encode(env, a)
	if err != nil {
		return nil, "", err
	}
	return &kgo.Record{Topic: topology.AuditEvents, Key: []byte(AuditTenant), Value: value}, env.EventID, nil
}
