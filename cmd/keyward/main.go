// Command keyward runs the Keyward server and its operator commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "keyward:", err)
		os.Exit(1)
	}
}

const usage = `Keyward — self-hosted API-token manager.

Usage:
  keyward [serve]                     run the server (the default)
  keyward migrate                     apply database migrations and exit
  keyward admin create --email E --password-stdin --workspace NAME [--name N]
  keyward token create --workspace SLUG --type TYPE --name NAME [--scope S]... [--ip CIDR]... [--expires-in 30d]
  keyward token revoke --workspace SLUG ID
  keyward help

Configuration is read from KEYWARD_* environment variables; see README.md.
`

// run dispatches to a subcommand; it is main without the process globals, so
// tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", []string{}
	if len(args) > 1 {
		cmd, rest = args[1], args[2:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, getenv, stderr)
	case "migrate":
		return migrate(ctx, getenv, stderr)
	case "admin":
		return adminCmd(ctx, rest, getenv, stdin, stdout, stderr)
	case "token":
		return tokenCmd(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
}
