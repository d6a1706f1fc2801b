package models_test

import (
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/models"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := models.LoadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := models.Config{
		Addr: ":8080", DatabaseURL: "sqlite://keyward.db", SecureCookies: true, LogLevel: slog.LevelInfo,
		SessionIdle: 30 * time.Minute, SessionAbsolute: 12 * time.Hour,
	}
	if c.Addr != want.Addr || c.DatabaseURL != want.DatabaseURL || c.SecureCookies != want.SecureCookies ||
		c.LogLevel != want.LogLevel || c.SessionIdle != want.SessionIdle || c.SessionAbsolute != want.SessionAbsolute ||
		len(c.SessionSecret) != 0 || len(c.TrustedProxies) != 0 || c.RedisURL != "" || c.PolicyPath != "" {
		t.Errorf("defaults = %+v, want %+v", c, want)
	}
	// Every documented variable is one LoadConfig reads, and vice versa.
	read := map[string]bool{}
	if _, err := models.LoadConfig(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	for _, v := range models.ConfigVars {
		if !read[v[0]] {
			t.Errorf("ConfigVars documents %s, which LoadConfig never reads", v[0])
		}
		delete(read, v[0])
	}
	for k := range read {
		t.Errorf("LoadConfig reads %s, which ConfigVars does not document", k)
	}
}

func TestLoadConfigValues(t *testing.T) {
	secret := strings.Repeat("s", 40)
	c, err := models.LoadConfig(envOf(map[string]string{
		"KEYWARD_ADDR":            "127.0.0.1:9090",
		"KEYWARD_DATABASE_URL":    "postgres://u:p@db/keyward",
		"KEYWARD_SESSION_SECRET":  secret,
		"KEYWARD_SECURE_COOKIES":  "false",
		"KEYWARD_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,",
		"KEYWARD_POLICY":          "/etc/keyward/policy.yaml",
		"KEYWARD_REDIS_URL":       "redis://cache:6379/0",
		"KEYWARD_LOG_LEVEL":       "debug",
		"KEYWARD_SESSION_IDLE":    "15m",
		"KEYWARD_SESSION_MAX":     "8h",
	}))
	if err != nil {
		t.Fatal(err)
	}
	wantProxies := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32"),
	}
	if c.Addr != "127.0.0.1:9090" || c.DatabaseURL != "postgres://u:p@db/keyward" || string(c.SessionSecret) != secret ||
		c.SecureCookies || !slices.Equal(c.TrustedProxies, wantProxies) || c.PolicyPath != "/etc/keyward/policy.yaml" ||
		c.RedisURL != "redis://cache:6379/0" || c.LogLevel != slog.LevelDebug || c.SessionIdle != 15*time.Minute ||
		c.SessionAbsolute != 8*time.Hour {
		t.Errorf("config = %+v", c)
	}
}

func TestLoadConfigRejects(t *testing.T) {
	tests := []struct {
		name  string
		vars  map[string]string
		names []string // variables the error must name
	}{
		{"addr without port", map[string]string{"KEYWARD_ADDR": "8080"}, []string{"KEYWARD_ADDR"}},
		{"addr port too big", map[string]string{"KEYWARD_ADDR": ":99999"}, []string{"KEYWARD_ADDR"}},
		{"addr port not a number", map[string]string{"KEYWARD_ADDR": ":http"}, []string{"KEYWARD_ADDR"}},
		{"addr host not an address", map[string]string{"KEYWARD_ADDR": "keyward.example:80"}, []string{"KEYWARD_ADDR"}},
		{"database scheme", map[string]string{"KEYWARD_DATABASE_URL": "mysql://db/keyward"}, []string{"KEYWARD_DATABASE_URL"}},
		{"database plain path", map[string]string{"KEYWARD_DATABASE_URL": "keyward.db"}, []string{"KEYWARD_DATABASE_URL"}},
		{"database sqlite without file", map[string]string{"KEYWARD_DATABASE_URL": "sqlite://"}, []string{"KEYWARD_DATABASE_URL"}},
		{"database broken postgres URL", map[string]string{"KEYWARD_DATABASE_URL": "postgres://%zz"}, []string{"KEYWARD_DATABASE_URL"}},
		{"short secret", map[string]string{"KEYWARD_SESSION_SECRET": "tooshort"}, []string{"KEYWARD_SESSION_SECRET"}},
		{"secure cookies not a bool", map[string]string{"KEYWARD_SECURE_COOKIES": "yes please"}, []string{"KEYWARD_SECURE_COOKIES"}},
		{"proxy not an address", map[string]string{"KEYWARD_TRUSTED_PROXIES": "10.0.0.1,proxy.internal"}, []string{"KEYWARD_TRUSTED_PROXIES"}},
		{"proxy prefix too long", map[string]string{"KEYWARD_TRUSTED_PROXIES": "10.0.0.0/33"}, []string{"KEYWARD_TRUSTED_PROXIES"}},
		{"redis scheme", map[string]string{"KEYWARD_REDIS_URL": "http://cache:6379"}, []string{"KEYWARD_REDIS_URL"}},
		{"redis without host", map[string]string{"KEYWARD_REDIS_URL": "redis://"}, []string{"KEYWARD_REDIS_URL"}},
		{"log level", map[string]string{"KEYWARD_LOG_LEVEL": "verbose"}, []string{"KEYWARD_LOG_LEVEL"}},
		{"idle not a duration", map[string]string{"KEYWARD_SESSION_IDLE": "soon"}, []string{"KEYWARD_SESSION_IDLE"}},
		{"idle without unit", map[string]string{"KEYWARD_SESSION_IDLE": "30"}, []string{"KEYWARD_SESSION_IDLE"}},
		{"idle too short", map[string]string{"KEYWARD_SESSION_IDLE": "30s"}, []string{"KEYWARD_SESSION_IDLE"}},
		{"max not a duration", map[string]string{"KEYWARD_SESSION_MAX": "forever"}, []string{"KEYWARD_SESSION_MAX"}},
		{"max negative", map[string]string{"KEYWARD_SESSION_MAX": "-1h"}, []string{"KEYWARD_SESSION_MAX"}},
		{"idle longer than max", map[string]string{"KEYWARD_SESSION_IDLE": "2h", "KEYWARD_SESSION_MAX": "1h"}, []string{"KEYWARD_SESSION_IDLE", "KEYWARD_SESSION_MAX"}},
		{"idle longer than default max", map[string]string{"KEYWARD_SESSION_IDLE": "13h"}, []string{"KEYWARD_SESSION_IDLE"}},
		{"every problem at once", map[string]string{
			"KEYWARD_ADDR": "nope", "KEYWARD_LOG_LEVEL": "loud", "KEYWARD_SECURE_COOKIES": "maybe",
		}, []string{"KEYWARD_ADDR", "KEYWARD_LOG_LEVEL", "KEYWARD_SECURE_COOKIES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := models.LoadConfig(envOf(tt.vars))
			if err == nil {
				t.Fatalf("accepted %v as %+v", tt.vars, c)
			}
			msg := err.Error()
			for _, name := range tt.names {
				if !strings.Contains(msg, name) {
					t.Errorf("error %q does not name %s", msg, name)
				}
			}
		})
	}
}

// TestLoadConfigSecretNotEchoed: a bad secret is reported by its length, never
// by its value, since configuration errors end up in logs.
func TestLoadConfigSecretNotEchoed(t *testing.T) {
	for _, secret := range []string{"hunter2hunter2", strings.Repeat("x", 31)} {
		_, err := models.LoadConfig(envOf(map[string]string{"KEYWARD_SESSION_SECRET": secret}))
		if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "32") {
			t.Errorf("short secret: %v", err)
		}
	}
}
