package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward/models"
)

const cliPassword = "correct-horse-battery"

// cli runs keyward subcommands against one SQLite file, as a script would.
type cli struct {
	t   *testing.T
	env map[string]string
	db  string
}

func newCLI(t *testing.T) *cli {
	db := "sqlite://" + filepath.Join(t.TempDir(), "k.db")
	return &cli{t: t, db: db, env: map[string]string{"KEYWARD_DATABASE_URL": db}}
}

// lockedBuffer is safe to write from the server goroutine while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// run runs `keyward args…` with stdin and returns stdout, stderr and the error.
func (c *cli) run(ctx context.Context, stdin string, args ...string) (string, string, error) {
	c.t.Helper()
	var stdout, stderr lockedBuffer
	err := run(ctx, append([]string{"keyward"}, args...), func(k string) string { return c.env[k] },
		strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func (c *cli) mustRun(stdin string, args ...string) (string, string) {
	c.t.Helper()
	out, errOut, err := c.run(context.Background(), stdin, args...)
	if err != nil {
		c.t.Fatalf("keyward %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

func (c *cli) store() *models.Store {
	c.t.Helper()
	s, err := models.Open(context.Background(), c.db)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestMigrate(t *testing.T) {
	c := newCLI(t)
	_, errOut := c.mustRun("", "migrate")
	if !strings.Contains(errOut, "database is up to date") || !strings.Contains(errOut, `"schema_version":`) {
		t.Errorf("migrate log: %s", errOut)
	}
	c.mustRun("", "migrate") // again: nothing to do, no error
	v, err := c.store().SchemaVersion(context.Background())
	if err != nil || v < 1 {
		t.Errorf("SchemaVersion = %d, %v", v, err)
	}
}

func TestAdminCreate(t *testing.T) {
	c := newCLI(t)
	out, errOut := c.mustRun(cliPassword+"\n", "admin", "create", "--email", "Ops@Example.com", "--password-stdin", "--workspace", "Acme Corp")
	if !strings.Contains(out, "ops@example.com") || !strings.Contains(out, "/w/acme-corp") {
		t.Errorf("stdout = %q", out)
	}
	if strings.Contains(out+errOut, cliPassword) {
		t.Error("admin create printed the password")
	}
	s := c.store()
	ctx := context.Background()
	u, err := s.Authenticate(ctx, "ops@example.com", cliPassword)
	if err != nil {
		t.Fatalf("the new admin cannot sign in: %v", err)
	}
	if u.Name != "Ops" {
		t.Errorf("default name = %q, want the part before @", u.Name)
	}
	w, err := s.WorkspaceBySlug(ctx, "acme-corp")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Membership(ctx, w.ID, u.ID); err != nil || m.Role != models.RoleAdmin {
		t.Errorf("membership = %+v, %v", m, err)
	}
	if code, _ := s.NewSetupCode(ctx); code != "" {
		t.Error("setup still open after admin create")
	}

	// Without a trailing newline, and with --name.
	c.mustRun(cliPassword, "admin", "create", "--email", "two@example.com", "--name", "Second Admin", "--password-stdin", "--workspace", "Globex")
	if u, err := s.Authenticate(ctx, "two@example.com", cliPassword); err != nil || u.Name != "Second Admin" {
		t.Errorf("second admin = %+v, %v", u, err)
	}
}

func TestAdminCreateRejects(t *testing.T) {
	c := newCLI(t)
	c.mustRun(cliPassword+"\n", "admin", "create", "--email", "ops@example.com", "--password-stdin", "--workspace", "Acme")
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  []string // parts of the error message
	}{
		{"weak password", "short\n", []string{"--email", "a@example.com", "--password-stdin", "--workspace", "New"}, []string{"--password", "at least 10"}},
		{"empty stdin", "", []string{"--email", "a@example.com", "--password-stdin", "--workspace", "New"}, []string{"--password"}},
		{"no --password-stdin", cliPassword, []string{"--email", "a@example.com", "--workspace", "New"}, []string{"--password-stdin"}},
		{"no email", cliPassword, []string{"--password-stdin", "--workspace", "New"}, []string{"--email", "Enter an email address"}},
		{"bad email", cliPassword, []string{"--email", "nope", "--password-stdin", "--workspace", "New"}, []string{"--email", "valid email"}},
		{"duplicate email", cliPassword, []string{"--email", "OPS@example.com", "--password-stdin", "--workspace", "New"}, []string{"--email", "already uses"}},
		{"no workspace", cliPassword, []string{"--email", "a@example.com", "--password-stdin"}, []string{"--workspace"}},
		{"workspace taken", cliPassword, []string{"--email", "a@example.com", "--password-stdin", "--workspace", "ACME"}, []string{"--workspace", "acme"}},
		{"unknown flag", cliPassword, []string{"--email", "a@example.com", "--password-stdin", "--workspace", "New", "--role", "admin"}, []string{"role"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := c.run(context.Background(), tt.stdin, append([]string{"admin", "create"}, tt.args...)...)
			if err == nil {
				t.Fatalf("accepted; stdout %q", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) && !strings.Contains(errOut, w) {
					t.Errorf("error %q (stderr %q) does not mention %q", err, errOut, w)
				}
			}
			if strings.Contains(err.Error()+errOut+out, cliPassword) {
				t.Error("the password was printed")
			}
		})
	}
	n, err := c.store().UserCount(context.Background())
	if err != nil || n != 1 {
		t.Errorf("%d users after refused creates, want 1 (%v)", n, err)
	}
	if _, _, err := c.run(context.Background(), "", "admin"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("`keyward admin` = %v, want usage", err)
	}
}

var tokenLine = regexp.MustCompile(`^pat_([A-Za-z0-9]{8})_[A-Za-z0-9]{32}\n$`)

func TestTokenCreateAndRevoke(t *testing.T) {
	c := newCLI(t)
	c.mustRun(cliPassword+"\n", "admin", "create", "--email", "ops@example.com", "--password-stdin", "--workspace", "Acme")

	out, errOut := c.mustRun("", "token", "create", "--workspace", "acme", "--type", "personal", "--name", "ci", "--scope", "read", "--scope", "notes:create", "--ip", "10.0.0.0/8", "--expires-in", "30d")
	m := tokenLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("token create printed %q, want only the token", out)
	}
	plaintext, id := strings.TrimSpace(out), m[1]
	if strings.Contains(errOut, plaintext) {
		t.Error("the token is in the log output")
	}
	s := c.store()
	ctx := context.Background()
	w, err := s.WorkspaceBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.TokenByPublicID(ctx, w.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Name != "ci" || tok.Type != "personal" || len(tok.Scopes) != 2 || tok.IPAllowlist == "" || tok.ExpiresAt == nil || tok.RevokedAt != nil {
		t.Errorf("stored token = %+v", tok)
	}
	evs, _, err := s.AuditEvents(ctx, models.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if strings.Contains(ev.Details+ev.TargetLabel+ev.TargetID, plaintext) {
			t.Errorf("audit event %s holds the plaintext token", ev.Action)
		}
	}

	out, _ = c.mustRun("", "token", "revoke", "--workspace", "acme", id)
	if !strings.Contains(out, "revoked "+id) {
		t.Errorf("token revoke printed %q", out)
	}
	tok, err = s.TokenByPublicID(ctx, w.ID, id)
	if err != nil || tok.RevokedAt == nil || tok.RevokedReason != models.RevokeManual {
		t.Errorf("after revoke: %+v, %v", tok, err)
	}
	if _, _, err := c.run(ctx, "", "token", "revoke", "--workspace", "acme", id); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Errorf("second revoke: %v", err)
	}
}

func TestTokenCommandRejects(t *testing.T) {
	c := newCLI(t)
	c.mustRun(cliPassword+"\n", "admin", "create", "--email", "ops@example.com", "--password-stdin", "--workspace", "Acme")
	create := []string{"token", "create", "--workspace", "acme", "--name", "ci"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown type", append(create, "--type", "superuser", "--scope", "read"), []string{"--type", `"superuser"`}},
		{"unknown scope", append(create, "--type", "personal", "--scope", "root"), []string{"--scopes", `"root"`}},
		{"no scope", append(create, "--type", "personal"), []string{"--scopes"}},
		{"bad ip", append(create, "--type", "personal", "--scope", "read", "--ip", "10.0.0.300"), []string{"--ip-allowlist"}},
		{"expiry too long", append(create, "--type", "personal", "--scope", "read", "--expires-in", "1y"), []string{"--expires"}},
		{"bad expiry", append(create, "--type", "personal", "--scope", "read", "--expires-in", "soon"), []string{"--expires-in", "soon"}},
		{"missing flags", []string{"token", "create", "--workspace", "acme"}, []string{"--type", "--name", "required"}},
		{"unknown workspace", []string{"token", "create", "--workspace", "nope", "--type", "personal", "--name", "x", "--scope", "read"}, []string{`"nope"`}},
		{"revoke unknown id", []string{"token", "revoke", "--workspace", "acme", "AbCd1234"}, []string{`"AbCd1234"`}},
		{"revoke without id", []string{"token", "revoke", "--workspace", "acme"}, []string{"usage"}},
		{"unknown subcommand", []string{"token", "list"}, []string{`"list"`}},
		{"no subcommand", []string{"token"}, []string{"usage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := c.run(context.Background(), "", tt.args...)
			if err == nil {
				t.Fatalf("accepted; stdout %q", out)
			}
			if out != "" {
				t.Errorf("stdout %q on failure", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestBadEnvironment(t *testing.T) {
	tests := []struct {
		name, key, value string
	}{
		{"log level", "KEYWARD_LOG_LEVEL", "chatty"},
		{"database url", "KEYWARD_DATABASE_URL", "mysql://db"},
		{"address", "KEYWARD_ADDR", "localhost"},
		{"secure cookies", "KEYWARD_SECURE_COOKIES", "sometimes"},
		{"session secret", "KEYWARD_SESSION_SECRET", "short"},
	}
	for _, tt := range tests {
		for _, cmd := range [][]string{{"migrate"}, {"serve"}, {"token", "revoke", "--workspace", "acme", "AbCd1234"}} {
			c := newCLI(t)
			c.env[tt.key] = tt.value
			// Cancelled, so that a wrongly accepted value cannot leave serve running.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, _, err := c.run(ctx, "", cmd...)
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("%s with %s=%q: %v, want an error naming %s", cmd[0], tt.key, tt.value, err, tt.key)
			}
		}
	}
	c := newCLI(t)
	c.env["KEYWARD_POLICY"] = filepath.Join(t.TempDir(), "missing.yaml")
	if _, _, err := c.run(context.Background(), "", "migrate"); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing policy file: %v", err)
	}
}

func TestHelp(t *testing.T) {
	c := newCLI(t)
	for _, arg := range []string{"help", "-h", "--help"} {
		out, _ := c.mustRun("", arg)
		for _, want := range []string{"Usage:", "keyward migrate", "admin create --email E --password-stdin --workspace NAME", "token create", "token revoke", "KEYWARD_"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q", arg, want)
			}
		}
	}
	_, _, err := c.run(context.Background(), "", "frobnicate")
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) || !strings.Contains(err.Error(), "Usage:") {
		t.Errorf("unknown command: %v", err)
	}
}

// cancelOnLog cancels a context when a log line containing marker is written.
type cancelOnLog struct {
	lockedBuffer
	marker string
	cancel context.CancelFunc
}

func (w *cancelOnLog) Write(p []byte) (int, error) {
	n, err := w.lockedBuffer.Write(p)
	if bytes.Contains(p, []byte(w.marker)) {
		w.cancel()
	}
	return n, err
}

// TestServeShutsDown starts the server on a free port, logs the first-run
// setup code, and shuts down cleanly when its context ends (as on SIGTERM).
func TestServeShutsDown(t *testing.T) {
	c := newCLI(t)
	c.env["KEYWARD_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelOnLog{marker: "keyward listening", cancel: cancel}
	err := run(ctx, []string{"keyward", "serve"}, func(k string) string { return c.env[k] }, strings.NewReader(""), &lockedBuffer{}, stderr)
	logs := stderr.String()
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, logs)
	}
	for _, want := range []string{`"setup_code":"`, "keyward listening", "shutting down"} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve log lacks %q:\n%s", want, logs)
		}
	}
	// The code in the log opens setup.
	code := regexp.MustCompile(`"setup_code":"([A-Z0-9-]+)"`).FindStringSubmatch(logs)
	if code == nil {
		t.Fatal("no setup code")
	}
	s := c.store()
	if _, _, err := s.CompleteSetup(context.Background(), code[1], models.NewUser{Email: "a@example.com", Name: "A", Password: cliPassword}, "Acme", "standard"); err != nil {
		t.Errorf("the logged setup code does not work: %v", err)
	}
}
