package models

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
)

// buildTestToken is a token built by hand so the checksum rule is checked against an
// independent computation rather than against NewTokenPlaintext.
func buildTestToken(t testing.TB, prefix, id, random26 string) string {
	t.Helper()
	body := prefix + "_" + id + "_" + random26
	sum := make([]byte, checksumLength)
	encodeBase62(sum, uint64(crc32.ChecksumIEEE([]byte(body))))
	return body + string(sum)
}

func TestNewTokenPlaintextRoundTrip(t *testing.T) {
	for _, prefix := range []string{"pat", "svc", "lp", "wbk", "lxc", "abcdefgh"} {
		id, err := NewTokenID()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := NewTokenPlaintext(prefix, id)
		if err != nil {
			t.Fatalf("NewTokenPlaintext(%q, %q): %v", prefix, id, err)
		}
		if want := len(prefix) + 2 + TokenIDLength + TokenSecretLength; len(tok) != want {
			t.Errorf("len(%q) = %d, want %d", tok, len(tok), want)
		}
		p, err := ParseToken(tok)
		if err != nil {
			t.Fatalf("ParseToken(%q): %v", tok, err)
		}
		if p.Prefix != prefix || p.ID != id || len(p.Secret) != TokenSecretLength {
			t.Errorf("ParseToken(%q) = %+v", tok, [3]string{p.Prefix, p.ID, p.Secret})
		}
		if tok != buildTestToken(t, prefix, id, p.Secret[:randomLength]) {
			t.Errorf("checksum of %q differs from an independent computation", tok)
		}
	}
}

func TestNewTokenPlaintextFreshSecret(t *testing.T) {
	const id = "abc12def"
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		tok, err := NewTokenPlaintext("pat", id)
		if err != nil {
			t.Fatal(err)
		}
		if seen[tok] {
			t.Fatalf("NewTokenPlaintext repeated %q", tok)
		}
		seen[tok] = true
		if !strings.HasPrefix(tok, "pat_abc12def_") {
			t.Fatalf("reset must keep the id: got %q", tok)
		}
	}
}

func TestNewTokenPlaintextRejectsBadInput(t *testing.T) {
	tests := []struct{ prefix, id string }{
		{"", "abc12def"},
		{"p", "abc12def"},
		{"PAT", "abc12def"},
		{"toolongpx", "abc12def"},
		{"pa_t", "abc12def"},
		{"pat", "abc12de"},
		{"pat", "abc12de_"},
		{"pat", "abc12defg"},
		{"pat", "abc12dé"},
	}
	for _, tt := range tests {
		if _, err := NewTokenPlaintext(tt.prefix, tt.id); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("NewTokenPlaintext(%q, %q) error = %v, want ErrMalformedToken", tt.prefix, tt.id, err)
		}
	}
}

func TestNewTokenID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id, err := NewTokenID()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidTokenID(id) {
			t.Fatalf("NewTokenID() = %q, not %d base62 characters", id, TokenIDLength)
		}
		if seen[id] {
			t.Fatalf("NewTokenID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestRandomBase62UsesWholeAlphabet(t *testing.T) {
	buf := make([]byte, 62*200)
	if err := randomBase62(buf); err != nil {
		t.Fatal(err)
	}
	counts := map[byte]int{}
	for _, c := range buf {
		counts[c]++
	}
	if len(counts) != 62 {
		t.Errorf("saw %d distinct characters, want 62", len(counts))
	}
	for c, n := range counts {
		// 200 expected per character; 100 is far outside chance for a fair source.
		if n < 100 || n > 300 {
			t.Errorf("character %q appeared %d times, want about 200", c, n)
		}
	}
}

func TestParseToken(t *testing.T) {
	valid := buildTestToken(t, "pat", "abc12def", "a1b2c3d4e5f6g7h8i9j0k1l2m3")
	validLong := buildTestToken(t, "abcdefgh", "ZZZZZZZZ", "00000000000000000000000000")
	// Swap two characters in the random part: same shape, wrong checksum.
	typo := valid[:14] + string(valid[15]) + string(valid[14]) + valid[16:]

	tests := []struct {
		name string
		in   string
		want error
	}{
		{"valid", valid, nil},
		{"valid 8-letter prefix", validLong, nil},
		{"valid 2-letter prefix", buildTestToken(t, "lp", "00000000", "zzzzzzzzzzzzzzzzzzzzzzzzzz"), nil},
		{"empty", "", ErrMalformedToken},
		{"prefix only", "pat_", ErrMalformedToken},
		{"typo", typo, ErrTokenChecksum},
		{"wrong checksum", valid[:len(valid)-1] + otherBase62Char(valid[len(valid)-1]), ErrTokenChecksum},
		{"one-letter prefix", "p" + valid[3:] + "x", ErrMalformedToken},
		{"nine-letter prefix", "abcdefghi" + validLong[8:], ErrMalformedToken},
		{"uppercase prefix", "PAT" + valid[3:], ErrMalformedToken},
		{"digit in prefix", "pa1" + valid[3:], ErrMalformedToken},
		{"short id", "pat_abc12de_" + valid[13:] + "x", ErrMalformedToken},
		{"missing second separator", "pat_abc12defx" + valid[13:], ErrMalformedToken},
		{"dash separator", "pat-abc12def_" + valid[13:], ErrMalformedToken},
		{"secret too short", valid[:len(valid)-1], ErrMalformedToken},
		{"secret too long", valid + "a", ErrMalformedToken},
		{"underscore in secret", valid[:20] + "_" + valid[21:], ErrMalformedToken},
		{"dash in id", "pat_abc-2def_" + valid[13:], ErrMalformedToken},
		{"non-ASCII in secret", valid[:20] + "é" + valid[22:], ErrMalformedToken},
		{"non-ASCII prefix", "pät" + valid[3:], ErrMalformedToken},
		{"leading space", " " + valid, ErrMalformedToken},
		{"trailing newline", valid + "\n", ErrMalformedToken},
		{"bearer included", "Bearer " + valid, ErrMalformedToken},
		{"over max length", strings.Repeat("a", MaxTokenLength+1), ErrMalformedToken},
		{"huge", strings.Repeat("pat_", 100000), ErrMalformedToken},
		{"NUL", valid[:30] + "\x00" + valid[31:], ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseToken(tt.in)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ParseToken(%q) error = %v, want %v", tt.in, err, tt.want)
			}
			if err == nil && p.Prefix+"_"+p.ID+"_"+p.Secret != tt.in {
				t.Errorf("parts do not join back to the input")
			}
			if err != nil && p != (ParsedToken{}) {
				t.Errorf("ParseToken returned parts %v with an error", p)
			}
		})
	}
}

func otherBase62Char(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestParseTokenDoesNotAllocate(t *testing.T) {
	tok, err := NewTokenPlaintext("pat", "abc12def")
	if err != nil {
		t.Fatal(err)
	}
	bad := tok[:len(tok)-1] + otherBase62Char(tok[len(tok)-1])
	for _, in := range []string{tok, bad, "garbage", strings.Repeat("x", 1000)} {
		allocs := testing.AllocsPerRun(100, func() { _, _ = ParseToken(in) })
		if allocs != 0 {
			t.Errorf("ParseToken(%.20q…) allocates %v times", in, allocs)
		}
	}
}

func TestCRC32StringMatchesStandardLibrary(t *testing.T) {
	for _, s := range []string{"", "a", "pat_abc12def_", "pat_abc12def_a1b2c3d4e5f6g7h8i9j0k1l2m3", "\xff\x00é"} {
		if got, want := crc32String(s), crc32.ChecksumIEEE([]byte(s)); got != want {
			t.Errorf("crc32String(%q) = %08x, want %08x", s, got, want)
		}
	}
}

func TestBase62RoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 61, 62, 3843, 1 << 31, 1<<32 - 1} {
		b := make([]byte, checksumLength)
		encodeBase62(b, v)
		if !isBase62(string(b)) || decodeBase62(string(b)) != v {
			t.Errorf("base62 round trip of %d gave %q", v, b)
		}
	}
	b := make([]byte, checksumLength)
	encodeBase62(b, 0)
	if string(b) != "000000" {
		t.Errorf("zero encodes as %q, want left-padded 000000", b)
	}
}

func TestHashToken(t *testing.T) {
	// SHA-256("abc") from FIPS 180-2.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashToken("abc"); got != want {
		t.Errorf("HashToken(abc) = %s, want %s", got, want)
	}
	if HashToken("pat_a") == HashToken("pat_b") {
		t.Error("different tokens hash alike")
	}
}

func TestTokenHashEqual(t *testing.T) {
	h := HashToken("x")
	tests := []struct {
		a, b string
		want bool
	}{
		{h, h, true},
		{h, HashToken("y"), false},
		{h, h[:63], false},
		{h, strings.ToUpper(h), false},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := TokenHashEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("TokenHashEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestTokenLast4AndMask(t *testing.T) {
	tok := "pat_abc12def_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"
	if got := TokenLast4(tok); got != "o5p6" {
		t.Errorf("TokenLast4 = %q, want o5p6", got)
	}
	if got := TokenLast4("ab"); got != "ab" {
		t.Errorf("TokenLast4(ab) = %q", got)
	}
	if got, want := MaskToken("pat", "abc12def", "o5p6"), "pat_abc12def_••••o5p6"; got != want {
		t.Errorf("MaskToken = %q, want %q", got, want)
	}
}

func TestParsedTokenNeverPrintsSecret(t *testing.T) {
	tok, err := NewTokenPlaintext("pat", "abc12def")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, p)
		if strings.Contains(out, p.Secret[:TokenSecretLength-4]) {
			t.Errorf("Sprintf(%s) = %q shows the secret", verb, out)
		}
		if !strings.Contains(out, "pat_abc12def_••••"+tok[len(tok)-4:]) {
			t.Errorf("Sprintf(%s) = %q, want the masked token", verb, out)
		}
	}
}

func TestValidTokenPrefix(t *testing.T) {
	tests := map[string]bool{
		"pat": true, "lp": true, "abcdefgh": true,
		"": false, "p": false, "abcdefghi": false, "Pat": false, "p_t": false, "p1": false, "pé": false,
	}
	for in, want := range tests {
		if got := ValidTokenPrefix(in); got != want {
			t.Errorf("ValidTokenPrefix(%q) = %v, want %v", in, got, want)
		}
	}
}

func BenchmarkParseToken(b *testing.B) {
	tok, err := NewTokenPlaintext("pat", "abc12def")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseToken(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseToken checks that ParseToken never panics and that anything it accepts
// has the documented shape and a checksum that an independent CRC32 agrees with.
func FuzzParseToken(f *testing.F) {
	f.Add("pat_abc12def_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6")
	f.Add(buildTestToken(f, "pat", "abc12def", "a1b2c3d4e5f6g7h8i9j0k1l2m3"))
	f.Add(buildTestToken(f, "lp", "00000000", "zzzzzzzzzzzzzzzzzzzzzzzzzz"))
	f.Add("")
	f.Add("pat_")
	f.Add("Bearer pat_abc12def_x")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedToken) && !errors.Is(err, ErrTokenChecksum) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		if p.Prefix+"_"+p.ID+"_"+p.Secret != s {
			t.Fatalf("parts of %q do not join back", s)
		}
		if !ValidTokenPrefix(p.Prefix) || !ValidTokenID(p.ID) || len(p.Secret) != TokenSecretLength || !isBase62(p.Secret) {
			t.Fatalf("accepted %q with bad parts", s)
		}
		if len(s) > MaxTokenLength {
			t.Fatalf("accepted %d bytes", len(s))
		}
		if s != buildTestToken(t, p.Prefix, p.ID, p.Secret[:randomLength]) {
			t.Fatalf("accepted %q whose checksum is wrong", s)
		}
	})
}
