package replay

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/codecs"
	"github.com/aistream/aistream/internal/audit"
	"github.com/aistream/aistream/topology"
)

// AuditTenant is the tenant_id of the audit events of replays: a replay
// acts on the deployment, for every tenant at once.
const AuditTenant = audit.SystemTenant

// AuditEventID is the event_id of the plan's audit event: derived from the
// plan (target, every partition's move), so retrying one replay records it
// once for a consumer that deduplicates on event_id.
func (p *Plan) AuditEventID() string {
	h := sha256.New()
	fmt.Fprintf(h, "aistream/replay\x00%s\x00", p.Target)
	for _, g := range p.Groups {
		fmt.Fprintf(h, "%s\x00", g.Group.Group)
		for _, pp := range g.Partitions {
			fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00", pp.Topic, pp.Partition, pp.Committed, pp.Target)
		}
	}
	return "audit-replay-" + hex.EncodeToString(h.Sum(nil))[:24]
}

// AuditRecord is the audit.recorded event of the applied plan for
// audit-events, in the seed's envelope: who replayed which groups to what,
// and whether it succeeded (execErr nil) or failed part way.
func (p *Plan) AuditRecord(actor string, res Result, execErr error, at time.Time) (*kgo.Record, error) {
	var groups, tables []string
	partitions := 0
	for _, g := range p.Groups {
		groups = append(groups, g.Group.Group)
		partitions += len(g.Partitions)
	}
	for _, t := range res.Tables {
		tables = append(tables, t.Topic)
	}
	a := codecs.Audit{
		Actor:    actor,
		Action:   "replay",
		Resource: "group/" + strings.Join(groups, ",group/") + " " + p.Target.String(),
		Outcome:  "success",
		Details: map[string]string{
			"target":            p.Target.String(),
			"groups":            strings.Join(groups, ","),
			"partitions":        strconv.Itoa(partitions),
			"records":           strconv.FormatInt(p.Records(), 10),
			"committed":         strconv.Itoa(res.Committed),
			"tables_recreated":  strings.Join(tables, ","),
			"planned_at":        p.At.UTC().Format(time.RFC3339Nano),
			"skipped_never_ran": strings.Join(p.Skipped, ","),
		},
	}
	if execErr != nil {
		a.Outcome = "error"
		msg := execErr.Error()
		if len(msg) > 4<<10 { // the payload's text bound is 8 KiB
			msg = strings.ToValidUTF8(msg[:4<<10], "")
		}
		a.Details["error"] = msg
	}
	for k, v := range a.Details {
		if v == "" {
			delete(a.Details, k)
		}
	}
	env := codecs.Envelope{EventID: p.AuditEventID(), EventType: codecs.TypeAudit, TenantID: AuditTenant,
		Timestamp: codecs.Time{Time: at.UTC()}, Source: "aistream"}
	v, err := codecs.Encode(env, a)
	if err != nil {
		return nil, err
	}
	// What aistream writes it must itself accept.
	if _, err := (codecs.Decoder{}).Decode(v); err != nil {
		return nil, fmt.Errorf("audit event: %w", err)
	}
	return &kgo.Record{Topic: topology.AuditEvents, Key: []byte(AuditTenant), Value: v}, nil
}
