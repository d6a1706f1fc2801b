package models

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is Keyward's configuration, read from KEYWARD_* environment variables.
type Config struct {
	Addr            string
	DatabaseURL     string
	SessionSecret   []byte // empty: generated once and kept in the database
	SecureCookies   bool
	TrustedProxies  []netip.Prefix
	PolicyPath      string
	RedisURL        string
	LogLevel        slog.Level
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	// VerifyCacheTTL is how long a verified token is cached; negative: no cache.
	VerifyCacheTTL time.Duration
}

// ConfigVars documents every variable: name, default, meaning. README's table
// and `keyward help` are generated from the same facts.
var ConfigVars = [][3]string{
	{"KEYWARD_ADDR", ":8080", "host:port the server listens on"},
	{"KEYWARD_DATABASE_URL", "sqlite://keyward.db", "sqlite://relative.db, sqlite:///abs/path.db or postgres://user:pass@host/db"},
	{"KEYWARD_SESSION_SECRET", "(generated, kept in the database)", "at least 32 characters; signs session cookies"},
	{"KEYWARD_SECURE_COOKIES", "true", "false only for local plain-HTTP use"},
	{"KEYWARD_TRUSTED_PROXIES", "(none)", "comma-separated IPs/CIDRs whose X-Forwarded-For is believed"},
	{"KEYWARD_POLICY", "(built-in)", "path of the YAML token policy file"},
	{"KEYWARD_REDIS_URL", "(none: in-memory)", "redis://host:6379/0 to share rate limits between instances"},
	{"KEYWARD_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"KEYWARD_SESSION_IDLE", "30m", "sign out after this long without a request"},
	{"KEYWARD_SESSION_MAX", "12h", "sign out this long after sign-in, whatever happens"},
	{"KEYWARD_VERIFY_CACHE_TTL", "5s", "how long a verified token is cached per instance; 0 turns the cache off"},
}

// LoadConfig reads the configuration through getenv and reports every bad
// value at once, each with what to fix.
func LoadConfig(getenv func(string) string) (*Config, error) {
	c := &Config{
		Addr:            ":8080",
		DatabaseURL:     "sqlite://keyward.db",
		SecureCookies:   true,
		LogLevel:        slog.LevelInfo,
		SessionIdle:     30 * time.Minute,
		SessionAbsolute: 12 * time.Hour,
		VerifyCacheTTL:  DefaultVerifyCacheTTL,
	}
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}
	if v := getenv("KEYWARD_ADDR"); v != "" {
		host, port, err := net.SplitHostPort(v)
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
			bad("KEYWARD_ADDR", "%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", v)
		} else if host != "" && host != "localhost" && net.ParseIP(host) == nil {
			bad("KEYWARD_ADDR", "host %q is not an IP address or localhost", host)
		}
		c.Addr = v
	}
	if v := getenv("KEYWARD_DATABASE_URL"); v != "" {
		if _, _, err := ParseDatabaseURL(v); err != nil {
			bad("KEYWARD_DATABASE_URL", "%v", err)
		}
		c.DatabaseURL = v
	}
	if v := getenv("KEYWARD_SESSION_SECRET"); v != "" {
		if len(v) < 32 {
			bad("KEYWARD_SESSION_SECRET", "use at least 32 characters (this one has %d); `openssl rand -hex 32` makes one", len(v))
		}
		c.SessionSecret = []byte(v)
	}
	if v := getenv("KEYWARD_SECURE_COOKIES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("KEYWARD_SECURE_COOKIES", "%q is not true or false", v)
		}
		c.SecureCookies = b
	}
	if v := getenv("KEYWARD_TRUSTED_PROXIES"); v != "" {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			p, err := parsePrefixOrAddr(part)
			if err != nil {
				bad("KEYWARD_TRUSTED_PROXIES", "%q is not an IP address or CIDR range", part)
				continue
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	c.PolicyPath = getenv("KEYWARD_POLICY")
	if v := getenv("KEYWARD_REDIS_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("KEYWARD_REDIS_URL", "%q is not a redis:// or rediss:// URL", v)
		}
		c.RedisURL = v
	}
	if v := getenv("KEYWARD_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			bad("KEYWARD_LOG_LEVEL", "%q is not debug, info, warn or error", v)
		}
	}
	for _, d := range []struct {
		name string
		into *time.Duration
	}{{"KEYWARD_SESSION_IDLE", &c.SessionIdle}, {"KEYWARD_SESSION_MAX", &c.SessionAbsolute}} {
		if v := getenv(d.name); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur < time.Minute {
				bad(d.name, "%q is not a duration of at least 1m (e.g. 30m, 12h)", v)
				continue
			}
			*d.into = dur
		}
	}
	if v := getenv("KEYWARD_VERIFY_CACHE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil || d < 0 || d > time.Minute:
			bad("KEYWARD_VERIFY_CACHE_TTL", "%q is not a duration up to 1m such as 5s, or 0 for no cache", v)
		case d == 0:
			c.VerifyCacheTTL = -1
		default:
			c.VerifyCacheTTL = d
		}
	}
	if c.SessionIdle > c.SessionAbsolute {
		bad("KEYWARD_SESSION_IDLE", "must not be longer than KEYWARD_SESSION_MAX (%s)", c.SessionAbsolute)
	}
	if len(problems) > 0 {
		return nil, errors.New("configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return c, nil
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
