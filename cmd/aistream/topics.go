package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/IBM/sarama"

	"github.com/aistream/aistream/internal/config"
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
	mods := modules(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if verb == "list" {
		prefix := fs.Lookup("consumer-group").Value.String()
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "TOPIC\tPARTITIONS\tREPLICATION\tRETENTION\tCLEANUP\tPURPOSE")
		for _, t := range topology.All(allGroups(mods, prefix)) {
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\n", t.Name, t.Partitions, t.Replication, topology.RetentionString(t.Retention), t.Cleanup, t.Purpose)
		}
		return w.Flush()
	}
	kc, _, err := kf.Resolve()
	if err != nil {
		return configError(err)
	}
	sc, err := kc.Sarama()
	if err != nil {
		return configError(err)
	}
	admin, err := sarama.NewClusterAdmin(kc.BootstrapServers, sc)
	if err != nil {
		return fmt.Errorf("connect to Kafka at %v: %w (check KAFKA_BOOTSTRAP_SERVERS and the security settings)", kc.BootstrapServers, err)
	}
	defer admin.Close()
	plan, err := topology.ResolveFor(admin, topology.All(allGroups(mods, kc.ConsumerGroup)))
	if err != nil {
		return err
	}
	for _, w := range plan.Warnings {
		fmt.Fprintln(os.Stderr, "warning: "+w)
	}
	if verb == "apply" {
		created, unfixable, err := topology.Apply(admin, plan)
		if err != nil {
			return err
		}
		for _, c := range created {
			fmt.Println("created " + c)
		}
		for _, d := range unfixable {
			fmt.Println("drift (not fixed: changing it moves keys or data; decide by hand): " + d.String())
		}
		fmt.Printf("%d topics checked, %d created\n", len(plan.Topics), len(created))
		if len(unfixable) > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%d drift(s) left", len(unfixable))}
		}
		return nil
	}
	drifts, err := topology.Check(admin, plan)
	if err != nil {
		return err
	}
	for _, d := range drifts {
		fmt.Println("drift: " + d.String())
	}
	if len(drifts) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d drift(s) in %d topics; \"aistream topics apply\" creates missing topics and fixes retention and cleanup policy", len(drifts), len(plan.Topics))}
	}
	fmt.Printf("%d topics match\n", len(plan.Topics))
	return nil
}
