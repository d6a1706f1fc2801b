package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/keyward/keyward/models"
)

func adminCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: keyward admin create --email E --password-stdin --workspace NAME [--name N]")
	}
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the admin's email address")
	name := fs.String("name", "", "display name (default: the part of the email before @)")
	workspace := fs.String("workspace", "", "name of the workspace to create")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if !*fromStdin {
		return errors.New("admin create: pass --password-stdin and the password on standard input, so it stays out of the process list")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("admin create: unable to read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if *name == "" {
		*name, _, _ = strings.Cut(*email, "@")
	}
	a, err := open(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	u, w, err := a.store.CreateAdmin(ctx, models.NewUser{Email: *email, Name: *name, Password: password}, *workspace, a.policy.DefaultPlan)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		return fieldErrorsText("admin create", fe)
	}
	if err != nil {
		return err
	}
	err = a.store.Audit(ctx, w.ID, models.Actor{Type: "system", Label: "keyward admin create"}, models.ActionMemberAdded,
		models.Target{Type: "user", ID: fmt.Sprint(u.ID), Label: u.Email}, map[string]any{"role": models.RoleAdmin})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "created admin %s in workspace %s (/w/%s)\n", u.Email, w.Name, w.Slug)
	return err
}

// fieldErrorsText lists validation messages with the flag each belongs to.
func fieldErrorsText(cmd string, fe models.FieldErrors) error {
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: invalid input", cmd)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  --%s: %s", strings.ReplaceAll(k, "_", "-"), fe[k])
	}
	return errors.New(b.String())
}
