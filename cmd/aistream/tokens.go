package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/aistream/aistream/internal/audit"
	"github.com/aistream/aistream/internal/auth"
	"github.com/aistream/aistream/internal/config"
)

const tokensUsage = `Usage:
  aistream tokens create --tenant T [--name N] --token-file F   a token for one tenant
  aistream tokens create --admin [--name N] --token-file F      an admin token (every tenant, one per request)
  aistream tokens revoke --token-file F ID
  aistream tokens list --token-file F

create prints the new token once, alone on stdout's one line (the file
keeps only its SHA-256). A running aistream picks up a change within 2s
(or on SIGHUP). create and revoke append an audit event to audit-events when
a cluster is given (--bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS).

`

// cmdTokens runs "tokens create|revoke|list".
func cmdTokens(args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke" && args[0] != "list") {
		fmt.Fprint(os.Stderr, tokensUsage)
		return &exitError{code: 2, err: errors.New("tokens needs a subcommand: create, revoke or list")}
	}
	verb := args[0]
	fs := flag.NewFlagSet("aistream tokens "+verb, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), tokensUsage); fs.PrintDefaults() }
	file := config.BindTokenFile(fs, os.Getenv)
	var kf *config.Flags
	if verb != "list" {
		kf = config.Bind(fs, os.Getenv, config.Defaults{HTTPAddr: "-", StateDir: "-"})
	}
	tenant := fs.String("tenant", "", "create: the tenant the token reads")
	admin := fs.Bool("admin", false, "create: an admin token")
	name := fs.String("name", "", "create: a note on what the token is for (shown by list)")
	actor := fs.String("actor", "", "who acts, for the audit event (default: the OS user)")
	rest := args[1:]
	var id string
	if verb == "revoke" {
		// The id may come before or after the flags.
		if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
			id, rest = rest[0], rest[1:]
		}
	}
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{code: 0, err: err}
		}
		return &exitError{code: 2, err: err}
	}
	if verb == "revoke" && id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *file == "" {
		return configError(errors.New("--token-file (AISTREAM_TOKEN_FILE) is required: the JSON file aistream run/dev read with the same flag"))
	}
	switch verb {
	case "list":
		return listTokens(*file)
	case "revoke":
		if id == "" {
			return configError(errors.New("tokens revoke needs the token's id (see \"aistream tokens list\")"))
		}
	case "create":
		if *admin == (*tenant != "") {
			return configError(errors.New("give --tenant T for a tenant's token or --admin for an admin token (one of them)"))
		}
	}
	who, err := actorName(*actor)
	if err != nil {
		return configError(err)
	}
	send, err := auditSender(fs, kf)
	if err != nil {
		return configError(err)
	}
	f, err := auth.LoadOrEmpty(*file)
	if err != nil {
		return err
	}
	var ev audit.Event
	if verb == "create" {
		tok, entry, err := auth.New(*tenant, *admin, *name, time.Now())
		if err != nil {
			return configError(err)
		}
		f.Tokens = append(f.Tokens, entry)
		if err := f.Save(*file); err != nil {
			return err
		}
		fmt.Println(tok)
		fmt.Fprintf(os.Stderr, "created token %s (%s) in %s; the line above is the token, shown only this once: send it as \"Authorization: Bearer <token>\"\n", entry.ID, entry.Scope(), *file)
		ev = audit.Event{ID: audit.DerivedID("tokens.create", entry.ID), Tenant: entry.Tenant, Action: "tokens.create",
			Resource: "token " + entry.ID, Details: map[string]string{"scope": entry.Scope(), "name": entry.Name}}
	} else {
		var gone auth.Token
		for _, t := range f.Tokens {
			if t.ID == id {
				gone = t
			}
		}
		if !f.Revoke(id) {
			return &exitError{code: 1, err: fmt.Errorf("no token %q in %s (see \"aistream tokens list\")", id, *file)}
		}
		if err := f.Save(*file); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "revoked token %s (%s); a running aistream stops accepting it within 2s\n", id, gone.Scope())
		ev = audit.Event{ID: audit.DerivedID("tokens.revoke", id), Tenant: gone.Tenant, Action: "tokens.revoke",
			Resource: "token " + id, Details: map[string]string{"scope": gone.Scope()}}
	}
	ev.Actor, ev.Outcome, ev.Time = "cli:"+who, audit.Success, time.Now()
	return send(ev)
}

// auditSender writes one audit event synchronously to the cluster named by
// the flags, or only notes on stderr that none was given.
func auditSender(fs *flag.FlagSet, kf *config.Flags) (func(audit.Event) error, error) {
	if fs.Lookup("bootstrap-servers").Value.String() == "" {
		return func(e audit.Event) error {
			fmt.Fprintf(os.Stderr, "no audit event written (no cluster given: set KAFKA_BOOTSTRAP_SERVERS to append %s %s to audit-events)\n", e.Action, e.Resource)
			return nil
		}, nil
	}
	kc, _, err := kf.Resolve()
	if err != nil {
		return nil, err
	}
	opts, err := kc.Franz()
	if err != nil {
		return nil, err
	}
	return func(e audit.Event) error { return writeAudit(opts, e) }, nil
}

// writeAudit produces one audit event and waits (at most 15s) for the ack:
// the admin commands' direct write.
func writeAudit(opts []kgo.Opt, e audit.Event) error {
	rec, err := e.Record()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))...)
	if err != nil {
		return fmt.Errorf("audit producer: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("%s is done but its audit event was not written to audit-events: %w", e.Action, err)
	}
	fmt.Fprintf(os.Stderr, "audit event %s appended to audit-events\n", string(rec.Key)+"/"+e.ID)
	return nil
}

func listTokens(path string) error {
	f, err := auth.Load(path)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSCOPE\tNAME\tCREATED")
	for _, t := range f.Tokens {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.ID, t.Scope(), t.Name, t.Created.Format(time.RFC3339))
	}
	return w.Flush()
}

// auditTopicsApply appends the audit event of a "topics apply": who, what
// it created and the drifts it left. Its id is derived from the prefix, the
// outcome and the second it ran.
func auditTopicsApply(kc config.Kafka, actorFlag string, rep topicReport) error {
	who, err := actorName(actorFlag)
	if err != nil {
		return configError(err)
	}
	opts, err := kc.Franz()
	if err != nil {
		return configError(err)
	}
	now := time.Now()
	created := strings.Join(rep.created, ",")
	outcome := audit.Success
	if len(rep.drifts) > 0 {
		outcome = audit.Error
	}
	details := map[string]string{"created": created, "drifts": strconv.Itoa(len(rep.drifts)), "topics": strconv.Itoa(len(rep.plan.Topics))}
	if len(created) > 4000 {
		details["created"] = created[:4000] + "…"
	}
	return writeAudit(opts, audit.Event{
		ID:    audit.DerivedID("topics.apply", kc.ConsumerGroup, created, now.UTC().Truncate(time.Second).Format(time.RFC3339)),
		Actor: "cli:" + who, Action: "topics.apply", Resource: "topics of " + kc.ConsumerGroup, Outcome: outcome, Time: now, Details: details,
	})
}
