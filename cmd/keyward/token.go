package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/keyward/keyward/models"
)

// multiFlag collects a repeated flag such as --scope.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

var cliActor = models.Actor{Type: "system", Label: "keyward CLI"}

func tokenCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: keyward token create|revoke …; see keyward help")
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, args[1:], getenv, stdout, stderr)
	case "revoke":
		return tokenRevoke(ctx, args[1:], getenv, stdout, stderr)
	default:
		return fmt.Errorf("unknown token command %q: use create or revoke", args[0])
	}
}

func tokenCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("workspace", "", "workspace slug")
	in := models.TokenInput{}
	fs.StringVar(&in.Type, "type", "", "token type from the policy")
	fs.StringVar(&in.Name, "name", "", "token name")
	fs.StringVar(&in.Description, "description", "", "what the token is for")
	var scopes, ips, attrs multiFlag
	fs.Var(&scopes, "scope", "scope to grant (repeatable)")
	fs.Var(&ips, "ip", "allowed IP address or CIDR (repeatable)")
	fs.Var(&attrs, "attribute", "exposed attribute (repeatable, types with attributes)")
	fs.StringVar(&in.LinkingAttribute, "linking-attribute", "", "linking attribute (types with attributes)")
	fs.BoolVar(&in.AcceptTerms, "accept-terms", false, "agree to the type's terms")
	expiresIn := fs.String("expires-in", "", "lifetime such as 7d, 12h, 1y, or never (default: the type's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *slug == "" || in.Type == "" || in.Name == "" {
		return errors.New("token create: --workspace, --type and --name are required")
	}
	switch *expiresIn {
	case "":
	case "never":
		in.Never = true
	default:
		d, err := models.ParseDuration(*expiresIn)
		if err != nil || d <= 0 {
			return fmt.Errorf("token create: --expires-in %q is not a lifetime such as 30d, 12h or never", *expiresIn)
		}
		in.ExpiresIn = d
	}
	in.Scopes, in.IPAllowlist, in.ExposedAttributes = scopes, strings.Join(ips, "\n"), attrs

	a, err := open(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	ws, err := a.store.WorkspaceBySlug(ctx, *slug)
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("token create: no workspace with slug %q", *slug)
	} else if err != nil {
		return err
	}
	_, plaintext, err := a.store.CreateToken(ctx, a.policy, ws, nil, cliActor, in)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		return fieldErrorsText("token create", fe)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, plaintext)
	return err
}

func tokenRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	slug := fs.String("workspace", "", "workspace slug")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *slug == "" || fs.NArg() != 1 {
		return errors.New("usage: keyward token revoke --workspace SLUG ID")
	}
	a, err := open(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	ws, err := a.store.WorkspaceBySlug(ctx, *slug)
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("token revoke: no workspace with slug %q", *slug)
	} else if err != nil {
		return err
	}
	id := fs.Arg(0)
	tok, err := a.store.RevokeToken(ctx, ws.ID, id, cliActor, models.RevokeManual)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return fmt.Errorf("token revoke: no token %q in workspace %s", id, *slug)
	case errors.Is(err, models.ErrTokenRevoked):
		return fmt.Errorf("token revoke: token %s was already revoked", id)
	case err != nil:
		return err
	}
	_, err = fmt.Fprintf(stdout, "revoked %s (%s)\n", tok.PublicID, tok.Name)
	return err
}
