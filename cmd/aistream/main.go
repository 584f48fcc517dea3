// Command aistream runs the aistream stream processors and views.
//
//	aistream dev [--demo]        everything in one process on an embedded broker
//	aistream run                 processors and/or views against a Kafka cluster (KAFKA_*)
//	aistream topics apply|check  create or verify the topics
//	aistream replay              reset a processor group to reprocess its inputs
//	aistream demo                produce demo AI Service traffic into a cluster
//	aistream dead-letters list|replay  print or re-drive rejected messages
//	aistream loadtest            measure the read API of a running server
//	aistream bench               benchmark every processor group beside a plain client
//	aistream tokens create|revoke|list  manage the API's bearer tokens
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `aistream — stream processing for the AI platform's Kafka events

Usage:
  aistream dev [flags]            embedded broker, topics, every processor, views (--demo for traffic)
  aistream run [flags]            processors and/or views against the cluster in KAFKA_*
  aistream topics apply [flags]   create missing topics, fix retention/cleanup drift
  aistream topics check [flags]   report every drift; exit 1 when there is any
  aistream topics list            print the topic table
  aistream replay [flags]         reset a processor group's offsets and state to reprocess its inputs (dry run by default)
  aistream demo [flags]           produce demo AI Service traffic into the cluster in KAFKA_*
  aistream dead-letters list [flags]    print rejected messages: reason, source, a readable excerpt
  aistream dead-letters replay [flags]  re-drive them to their source topic (a dry run without --execute)
  aistream loadtest [flags]       measure the read API of a running server beside /healthz, idle and under ingest
  aistream bench [flags]          benchmark every processor group against the cluster in KAFKA_*, beside a plain client
  aistream tokens create --tenant T|--admin [--name N] --token-file F   print a new API token (once)
  aistream tokens revoke ID --token-file F   revoke a token (servers reload the file within seconds)
  aistream tokens list --token-file F        print token ids, scopes, names (never the tokens)

Run "aistream <command> -h" for the flags of a command. Every flag also reads
the environment variable named in its help; a flag given on the command line wins.
`

// exitError carries a process exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	err := run(os.Args[1:])
	if err == nil {
		return
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "aistream: %v\n", err)
	}
	os.Exit(code)
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return &exitError{code: 2, err: errors.New("a command is required")}
	}
	switch args[0] {
	case "dev":
		return cmdServe(args[1:], true)
	case "run":
		return cmdServe(args[1:], false)
	case "topics":
		return cmdTopics(args[1:])
	case "demo":
		return cmdDemo(args[1:])
	case "dead-letters":
		return cmdDeadLetters(args[1:])
	case "replay":
		return cmdReplay(args[1:])
	case "loadtest":
		return cmdLoadtest(args[1:])
	case "bench":
		return cmdBench(args[1:])
	case "tokens":
		return cmdTokens(args[1:])
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return nil
	default:
		fmt.Fprint(os.Stderr, usage)
		return &exitError{code: 2, err: fmt.Errorf("unknown command %q", args[0])}
	}
}

// parse parses flags; a bad flag is a usage error (exit 2).
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{code: 0, err: err}
		}
		return &exitError{code: 2, err: err}
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// configError wraps a configuration error (exit 2).
func configError(err error) error { return &exitError{code: 2, err: err} }
