package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aistream/aistream/internal/auth"
	"github.com/aistream/aistream/internal/config"
)

// cmdTokens runs "tokens create|revoke|list" on a token file. A running
// server picks a change up within auth.ReloadInterval.
func cmdTokens(args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke" && args[0] != "list") {
		return &exitError{code: 2, err: errors.New(`tokens needs a subcommand: create, revoke or list`)}
	}
	verb := args[0]
	fs := flag.NewFlagSet("aistream tokens "+verb, flag.ContinueOnError)
	path := config.BindTokenFile(fs, os.Getenv)
	var tenant, name *string
	var admin *bool
	if verb == "create" {
		tenant = fs.String("tenant", "", "the tenant whose data the token reads")
		admin = fs.Bool("admin", false, "an admin token: every tenant's data (one named per request with ?tenant=)")
		name = fs.String("name", "", "what the token is for, shown by \"tokens list\"")
	}
	rest := args[1:]
	var id string
	if verb == "revoke" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return &exitError{code: 2, err: errors.New("tokens revoke needs the token id: aistream tokens revoke ID --token-file F (ids: \"aistream tokens list\")")}
		}
		id, rest = rest[0], rest[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if *path == "" {
		return configError(errors.New("AISTREAM_TOKEN_FILE (--token-file): name the token file"))
	}
	switch verb {
	case "create":
		return tokensCreate(*path, *tenant, *admin, *name)
	case "revoke":
		return tokensRevoke(*path, id)
	}
	return tokensList(*path)
}

func tokensCreate(path, tenant string, admin bool, name string) error {
	if !admin && tenant == "" {
		return configError(errors.New("--tenant: name the tenant the token reads (or --admin for every tenant)"))
	}
	f, err := auth.LoadOrEmpty(path)
	if err != nil {
		return err
	}
	tok, entry, err := auth.New(tenant, admin, name, time.Now())
	if err != nil {
		return configError(err)
	}
	f.Tokens = append(f.Tokens, entry)
	if err := f.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created token %s (%s) in %s; it is shown only now: store it as a secret.\nuse it as: Authorization: Bearer <token>\n", entry.ID, entry.Scope(), path)
	fmt.Fprintln(os.Stdout, tok)
	return nil
}

func tokensRevoke(path, id string) error {
	f, err := auth.Load(path)
	if err != nil {
		return err
	}
	if !f.Revoke(id) {
		return &exitError{code: 1, err: fmt.Errorf("no token with id %q in %s (ids: \"aistream tokens list\")", id, path)}
	}
	if err := f.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "revoked token %s; running servers stop accepting it within %s\n", id, auth.ReloadInterval)
	return nil
}

func tokensList(path string) error {
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
