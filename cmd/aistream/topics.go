package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/IBM/sarama"

	"github.com/aistream/aistream/internal/config"
	"github.com/aistream/aistream/internal/kafkaprobe"
	"github.com/aistream/aistream/internal/stream"
	"github.com/aistream/aistream/topology"
)

// cmdTopics runs "topics apply|check|list".
func cmdTopics(args []string) error {
	if len(args) == 0 || (args[0] != "apply" && args[0] != "check" && args[0] != "list") {
		return &exitError{code: 2, err: errors.New(`topics needs a subcommand: apply, check or list`)}
	}
	verb := args[0]
	fs := flag.NewFlagSet("aistream topics "+verb, flag.ContinueOnError)
	kf := config.Bind(fs, os.Getenv, config.Defaults{Bootstrap: "localhost:9092", HTTPAddr: "-", StateDir: "-"})
	mods := bindModules(fs)
	actor := fs.String("actor", "", "apply: who applies, for the audit event (default: the OS user)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if verb == "list" {
		// Offline: the topic table as aistream defines it, internal topics
		// included; nothing is asked of a cluster.
		internal, err := stream.Topics(stream.Prefix(fs.Lookup("consumer-group").Value.String()), mods)
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "topics as aistream defines them (offline: no cluster contacted; replication before clamping to a cluster's broker count)")
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "TOPIC\tPARTITIONS\tREPLICATION\tRETENTION\tCLEANUP\tPURPOSE")
		for _, t := range topology.All(internal) {
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\n", t.Name, t.Partitions, t.Replication, topology.RetentionString(t.Retention), t.Cleanup, t.Purpose)
		}
		return w.Flush()
	}
	kc, _, err := kf.Resolve()
	if err != nil {
		return configError(err)
	}
	internal, err := stream.Topics(stream.Prefix(kc.ConsumerGroup), mods)
	if err != nil {
		return err
	}
	sc, err := kc.Sarama()
	if err != nil {
		return configError(err)
	}
	if err := kafkaprobe.Sarama(kc, sc); err != nil {
		return configError(err)
	}
	rep, err := reconcileTopics(kc.BootstrapServers, sc, internal, verb == "apply")
	if err != nil {
		return err
	}
	for _, w := range rep.plan.Warnings {
		fmt.Fprintln(os.Stderr, "warning: "+w)
	}
	if verb == "apply" {
		for _, c := range rep.created {
			fmt.Println("created " + c)
		}
		for _, d := range rep.drifts {
			fmt.Println("drift (not fixed: changing it moves keys or data; decide by hand): " + d.String())
		}
		fmt.Printf("%d topics checked, %d created\n", len(rep.plan.Topics), len(rep.created))
		if err := auditTopicsApply(kc, *actor, rep); err != nil {
			return err
		}
		if len(rep.drifts) > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%d drift(s) left", len(rep.drifts))}
		}
		return nil
	}
	for _, d := range rep.drifts {
		fmt.Println("drift: " + d.String())
	}
	if len(rep.drifts) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d drift(s) in %d topics; \"aistream topics apply\" creates missing topics and fixes retention and cleanup policy", len(rep.drifts), len(rep.plan.Topics))}
	}
	fmt.Printf("%d topics match\n", len(rep.plan.Topics))
	return nil
}

// topicReport is what reconciling the topics with a cluster found and did.
type topicReport struct {
	plan    topology.Plan
	brokers int
	created []string
	// drifts are, after apply, what apply cannot fix; after a check, all.
	drifts []topology.Drift
}

// reconcileTopics applies (apply) or checks the contract and internal
// topics against the cluster, replication clamped to its broker count: the
// one implementation behind "topics apply|check" and every start.
func reconcileTopics(brokers []string, sc *sarama.Config, groups []topology.Group, apply bool) (topicReport, error) {
	c := *sc
	admin, err := sarama.NewClusterAdmin(brokers, &c)
	if err != nil {
		return topicReport{}, fmt.Errorf("connect to Kafka at %v: %w (check KAFKA_BOOTSTRAP_SERVERS and the security settings)", brokers, err)
	}
	defer admin.Close()
	var rep topicReport
	if rep.plan, err = topology.ResolveFor(admin, topology.All(groups)); err != nil {
		return rep, err
	}
	bs, _, err := admin.DescribeCluster()
	if err != nil {
		return rep, fmt.Errorf("describe cluster: %w", err)
	}
	rep.brokers = len(bs)
	if apply {
		rep.created, rep.drifts, err = topology.Apply(admin, rep.plan)
	} else {
		rep.drifts, err = topology.Check(admin, rep.plan)
	}
	return rep, err
}
