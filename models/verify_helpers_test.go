package models_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
	"gorm.io/gorm"
)

// verifyFixture is a store with one workspace, a verifier over it, a clock
// the test moves by hand, and a count of the queries the store runs.
type verifyFixture struct {
	t       testing.TB
	s       *models.Store
	p       *models.Policy
	ws      *models.Workspace
	v       *models.Verifier
	usage   *models.UsageRecorder
	actor   models.Actor
	clock   atomic.Int64 // unix nanoseconds
	queries atomic.Int64
}

var verifySeq atomic.Int64

// newVerifyFixture builds the fixture on s. A nil policy means the built-in
// one; o.Usage is filled in with a recorder on s when nil.
func newVerifyFixture(t testing.TB, s *models.Store, p *models.Policy, o models.VerifierOptions) *verifyFixture {
	t.Helper()
	if p == nil {
		p = models.DefaultPolicy()
	}
	f := &verifyFixture{t: t, s: s, p: p}
	f.clock.Store(time.Date(2030, 5, 14, 9, 30, 0, 0, time.UTC).UnixNano())
	s.Now = f.now
	n := verifySeq.Add(1)
	_, ws, err := s.CreateAdmin(context.Background(), models.NewUser{
		Email: fmt.Sprintf("verify%d@example.com", n), Name: "Admin", Password: "correct-horse-battery",
	}, fmt.Sprintf("Verify %d", n), p.DefaultPlan)
	if err != nil {
		t.Fatalf("create admin: %v", err)
	}
	f.ws = ws
	f.actor = models.Actor{Type: "system", Label: "test"}
	if o.Usage == nil {
		o.Usage = models.NewUsageRecorder(s, nil)
	}
	f.usage = o.Usage
	f.v = models.NewVerifier(s, p, o)
	// Model queries and the raw rows the verify path scans by hand.
	count := func(*gorm.DB) { f.queries.Add(1) }
	if err := s.DB().Callback().Query().Before("gorm:query").Register("verify_test:count", count); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Callback().Row().Before("gorm:row").Register("verify_test:count_rows", count); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *verifyFixture) now() time.Time { return time.Unix(0, f.clock.Load()).UTC() }

func (f *verifyFixture) advance(d time.Duration) { f.clock.Add(int64(d)) }

// token creates a token of the type with the given changes to valid input.
func (f *verifyFixture) token(typ string, edit func(*models.TokenInput)) (*models.Token, string) {
	f.t.Helper()
	in := models.TokenInput{Type: typ, Name: "verify " + typ, Scopes: []string{"read"}}
	if typ == "service" {
		in.Scopes = []string{"tokens:verify"}
	}
	if edit != nil {
		edit(&in)
	}
	tok, plain, err := f.s.CreateToken(context.Background(), f.p, f.ws, nil, f.actor, in)
	if err != nil {
		f.t.Fatalf("CreateToken(%s): %v", typ, err)
	}
	return tok, plain
}

func (f *verifyFixture) verify(token string, req models.VerifyRequest) models.VerifyResult {
	return f.v.Verify(context.Background(), token, req)
}

// expect verifies and fails the test unless the code is want.
func (f *verifyFixture) expect(token string, req models.VerifyRequest, want string) models.VerifyResult {
	f.t.Helper()
	res := f.verify(token, req)
	if res.Code != want {
		f.t.Fatalf("Verify code = %q (%s), want %q", res.Code, res.Message, want)
	}
	if res.Valid != (want == models.CodeOK) {
		f.t.Fatalf("Valid = %v with code %q", res.Valid, res.Code)
	}
	if res.Status != models.CodeStatus(want) {
		f.t.Fatalf("Status = %d, want %d", res.Status, models.CodeStatus(want))
	}
	return res
}

func verifyIP(s string) netip.Addr { return netip.MustParseAddr(s) }

type gormDB = gorm.DB

// registerWriteCounter calls fn for every insert, update, delete and raw
// statement the store runs.
func registerWriteCounter(t testing.TB, s *models.Store, fn func(*gorm.DB)) {
	t.Helper()
	cb := s.DB().Callback()
	for _, err := range []error{
		cb.Create().Register("verify_test:create", fn),
		cb.Update().Register("verify_test:update", fn),
		cb.Delete().Register("verify_test:delete", fn),
		cb.Raw().Register("verify_test:raw", fn),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}
