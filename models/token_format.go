package models

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
)

// A token reads <prefix>_<id>_<secret>. The prefix names the token type so people
// and secret scanners can tell tokens apart; the id is public and addresses the
// token everywhere; the secret ends in a checksum so the verifier can throw away
// typos and random strings without a database round trip.
//
// #nosec G101 -- the block holds lengths and the token alphabet, not a credential.
const (
	// TokenIDLength is the length of a token's public id.
	TokenIDLength = 8
	// TokenSecretLength is the length of a token's secret, checksum included.
	TokenSecretLength = 32
	// MaxTokenLength bounds what ParseToken will look at; anything longer is
	// rejected before any work is done, so a hostile header costs nothing.
	MaxTokenLength = 64

	minPrefixLength  = 2
	maxPrefixLength  = 8
	checksumLength   = 6
	randomLength     = TokenSecretLength - checksumLength
	minTokenLength   = minPrefixLength + 1 + TokenIDLength + 1 + TokenSecretLength
	base62Alphabet   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	maskedSecretDots = "••••"
)

var (
	// ErrMalformedToken is returned for anything that does not have the shape of a
	// token: wrong length, wrong separators, characters outside the alphabet.
	ErrMalformedToken = errors.New("malformed token")
	// ErrTokenChecksum is returned for a well-formed token whose checksum does not
	// match, which is almost always a typo or a truncated copy.
	ErrTokenChecksum = errors.New("token checksum mismatch")
)

// ParsedToken is a token split into its parts. Its fields are substrings of the
// parsed string, so parsing does not allocate.
type ParsedToken struct {
	Prefix string
	ID     string
	Secret string
}

// String returns the masked form so that a ParsedToken that ends up in a log line
// or an error message by accident does not leak the secret.
func (t ParsedToken) String() string {
	return MaskToken(t.Prefix, t.ID, TokenLast4(t.Secret))
}

// GoString masks the secret for %#v too, for the same reason as String.
func (t ParsedToken) GoString() string {
	return fmt.Sprintf("models.ParsedToken{%s}", t.String())
}

// ParseToken splits s into prefix, id and secret and checks the checksum. It is
// strict (ASCII only, exact lengths, no surrounding space) and cheap: no regexp,
// no allocation, and nothing longer than MaxTokenLength is even scanned.
//
// It returns ErrMalformedToken or ErrTokenChecksum; callers treat both as an
// invalid key.
func ParseToken(s string) (ParsedToken, error) {
	if len(s) > MaxTokenLength || len(s) < minTokenLength {
		return ParsedToken{}, ErrMalformedToken
	}
	p := 0
	for p < len(s) && p <= maxPrefixLength && isLowerASCII(s[p]) {
		p++
	}
	if p < minPrefixLength || p > maxPrefixLength || s[p] != '_' {
		return ParsedToken{}, ErrMalformedToken
	}
	if len(s) != p+1+TokenIDLength+1+TokenSecretLength {
		return ParsedToken{}, ErrMalformedToken
	}
	idStart := p + 1
	secretStart := idStart + TokenIDLength + 1
	id := s[idStart : secretStart-1]
	secret := s[secretStart:]
	if s[secretStart-1] != '_' || !isBase62(id) || !isBase62(secret) {
		return ParsedToken{}, ErrMalformedToken
	}
	want := decodeBase62(s[len(s)-checksumLength:])
	if uint64(crc32String(s[:len(s)-checksumLength])) != want {
		return ParsedToken{}, ErrTokenChecksum
	}
	return ParsedToken{Prefix: s[:p], ID: id, Secret: secret}, nil
}

// ValidTokenPrefix reports whether s can be a token prefix: 2 to 8 lowercase
// ASCII letters.
func ValidTokenPrefix(s string) bool {
	if len(s) < minPrefixLength || len(s) > maxPrefixLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerASCII(s[i]) {
			return false
		}
	}
	return true
}

// ValidTokenID reports whether s can be a token's public id, which lets callers
// refuse a bad id from a URL or the CLI before querying for it.
func ValidTokenID(s string) bool {
	return len(s) == TokenIDLength && isBase62(s)
}

// NewTokenID returns a fresh public id of TokenIDLength random base62 characters.
// It returns an error only if the system's random source fails.
func NewTokenID() (string, error) {
	var b [TokenIDLength]byte
	if err := randomBase62(b[:]); err != nil {
		return "", err
	}
	return string(b[:]), nil
}

// NewTokenPlaintext builds a complete token for prefix and id with a fresh secret.
// Creating a token and resetting one both use it; a reset passes the existing id
// so the token keeps its address and history.
//
// It returns an error wrapping ErrMalformedToken if prefix or id is invalid, or an
// error if the system's random source fails.
func NewTokenPlaintext(prefix, id string) (string, error) {
	if !ValidTokenPrefix(prefix) {
		return "", fmt.Errorf("%w: prefix %q must be 2 to 8 lowercase letters", ErrMalformedToken, prefix)
	}
	if !ValidTokenID(id) {
		return "", fmt.Errorf("%w: id %q must be %d base62 characters", ErrMalformedToken, id, TokenIDLength)
	}
	n := len(prefix) + 1 + TokenIDLength + 1 + TokenSecretLength
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	b = append(b, '_')
	b = append(b, id...)
	b = append(b, '_')
	b = b[:n-checksumLength]
	if err := randomBase62(b[n-TokenSecretLength:]); err != nil {
		return "", err
	}
	b = b[:n]
	encodeBase62(b[n-checksumLength:], uint64(crc32.ChecksumIEEE(b[:n-checksumLength])))
	return string(b), nil
}

// HashToken returns the lowercase hex SHA-256 of the whole token, the only form in
// which a token is ever stored.
func HashToken(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// TokenHashEqual compares two hashes in constant time, so response timing does not
// reveal how much of a guessed hash was right.
func TokenHashEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// TokenLast4 returns the last four characters of a token, kept so people can tell
// their tokens apart in lists. A shorter string is returned whole.
func TokenLast4(plaintext string) string {
	if len(plaintext) <= 4 {
		return plaintext
	}
	return plaintext[len(plaintext)-4:]
}

// MaskToken renders a token for display without its secret, for example
// "pat_abc12def_••••o5p6".
func MaskToken(prefix, id, last4 string) string {
	return prefix + "_" + id + "_" + maskedSecretDots + last4
}

// randomBase62 fills dst with uniformly random base62 characters from crypto/rand.
func randomBase62(dst []byte) error {
	var buf [64]byte
	for i := 0; i < len(dst); {
		if _, err := rand.Read(buf[:]); err != nil {
			return fmt.Errorf("token: unable to read random bytes: %w", err)
		}
		for _, c := range buf {
			// 248 is the largest multiple of 62 that fits a byte; dropping the bytes
			// above it keeps every character equally likely (no modulo bias).
			if c >= 248 {
				continue
			}
			dst[i] = base62Alphabet[c%62]
			i++
			if i == len(dst) {
				break
			}
		}
	}
	return nil
}

// encodeBase62 writes v into dst as fixed-width base62, most significant digit
// first, left-padded with '0'.
func encodeBase62(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62Alphabet[v%62]
		v /= 62
	}
}

// decodeBase62 reads a string that isBase62 has already accepted. Six digits stay
// far below 2^64, so it cannot overflow for the checksum.
func decodeBase62(s string) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*62 + uint64(base62Value(s[i]))
	}
	return v
}

// crc32String is crc32.ChecksumIEEE over a string. Converting the string to a
// byte slice would allocate on every verification, which ParseToken avoids.
func crc32String(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ (crc >> 8) // #nosec G115 -- CRC32 indexes its table by the low byte on purpose
	}
	return ^crc
}

func base62Value(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'A' && c <= 'Z':
		return c - 'A' + 10
	default:
		return c - 'a' + 36
	}
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

func isLowerASCII(c byte) bool { return c >= 'a' && c <= 'z' }

// NewFormID returns a random id that marks one rendering of a form whose
// submission reveals a secret, so a resubmission can be recognised.
func NewFormID() string {
	b := make([]byte, 16)
	if err := randomBase62(b); err != nil {
		return ""
	}
	return string(b)
}
