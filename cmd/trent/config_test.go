package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// exampleConfig is the annotated example the README points to.
const exampleConfig = "../../docs/trent.example.yaml"

// clearTrentEnv unsets every TRENT_ variable for the test, so that the
// machine's environment does not decide what a test sees.
func clearTrentEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TRENT_") {
			t.Setenv(k, "")
		}
	}
}

// serveFlags returns trent serve's flags parsed from args and settled (file,
// environment), and the configuration they filled.
func serveFlags(t *testing.T, args ...string) (*serveConfig, *pflag.FlagSet, error) {
	t.Helper()
	cmd, c := newServeCommand()
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return c, cmd.Flags(), c.settle(cmd.Flags())
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trent.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The example in docs/ is valid, and names every flag of trent serve, set or
// commented out, so that it documents every setting.
func TestExampleConfig(t *testing.T) {
	clearTrentEnv(t)
	cmd := newConfigCmd()
	cmd.SetArgs([]string{"check", exampleConfig})
	var out strings.Builder
	cmd.SetOut(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("trent config check %s: %v", exampleConfig, err)
	}
	if !strings.Contains(out.String(), "valid") {
		t.Errorf("config check printed %q", out.String())
	}
	data, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	serveCmd, _ := newServeCommand()
	serveCmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == configFlag || f.Name == "help" {
			return
		}
		if !regexp.MustCompile(`(?m)^(# )?` + regexp.QuoteMeta(f.Name) + `:`).Match(data) {
			t.Errorf("%s does not mention the key %s (--%s)", exampleConfig, f.Name, f.Name)
		}
	})
}

// Every flag's help names the environment variable that sets it, the one
// the configuration file yields to.
func TestEveryFlagHasItsVariable(t *testing.T) {
	serveCmd, _ := newServeCommand()
	serveCmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		if !regexp.MustCompile(`\[` + envName(f.Name) + `[\],]`).MatchString(f.Usage) {
			t.Errorf("--%s: its help does not name %s", f.Name, envName(f.Name))
		}
	})
}

// The command line beats the environment, which beats the file, which
// beats the default.
func TestConfigPrecedence(t *testing.T) {
	clearTrentEnv(t)
	path := writeConfig(t, `
listen: 127.0.0.1:7001
log-level: debug
log-format: json
account-name: from-file
region: [eu-west-1, us-west-2]
`)
	t.Setenv("TRENT_LOG_LEVEL", "warn")
	t.Setenv("TRENT_REGION", "ap-southeast-1")
	c, _, err := serveFlags(t, "--config", path, "--log-format", "text")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, got, want string }{
		{"file over default", c.listen, "127.0.0.1:7001"},
		{"file over default", c.extra.accountName, "from-file"},
		{"environment over file", c.logLevel, "warn"},
		{"flag over file", c.extra.logFormat, "text"},
		{"default where nothing sets it", c.dataDir, "./trent-data"},
		{"environment over file (list)", strings.Join(c.regions, ","), "ap-southeast-1"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	// Without the variable, the file's list.
	t.Setenv("TRENT_REGION", "")
	c, _, err = serveFlags(t, "--config", path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.regions, []string{"eu-west-1", "us-west-2"}) {
		t.Errorf("regions = %v, want the file's", c.regions)
	}
	// TRENT_CONFIG names the file too.
	t.Setenv("TRENT_CONFIG", path)
	if c, _, err = serveFlags(t); err != nil || c.listen != "127.0.0.1:7001" {
		t.Errorf("with TRENT_CONFIG: listen %q, %v", c.listen, err)
	}
}

// Mistakes are refused with the line they are on.
func TestConfigRefused(t *testing.T) {
	clearTrentEnv(t)
	for _, tt := range []struct {
		name, body, want string
		mode             os.FileMode
	}{
		{name: "unknown key", body: "listen: 127.0.0.1:1\n\nlisten-adress: x\n", want: `:3: unknown key "listen-adress" (did you mean listen?)`},
		{name: "underscore for dash", body: "data_dir: x\n", want: `:1: unknown key "data_dir" (did you mean data-dir?)`},
		{name: "unknown key far from any", body: "bogus: 1\n", want: `:1: unknown key "bogus" (the keys are the flags`},
		{name: "the config key itself", body: "config: other.yaml\n", want: `:1: unknown key "config"`},
		{name: "help", body: "help: true\n", want: `:1: unknown key "help"`},
		{name: "key twice", body: "listen: a:1\nlog-level: info\nlisten: b:2\n", want: ":3: listen is set twice (first at line 1)"},
		{name: "list for a single value", body: "log-level:\n  - info\n", want: ":2: log-level takes one value, not a list"},
		{name: "mapping", body: "region:\n  us-east-1: yes\n", want: ":2: region takes a value or a list, not a mapping"},
		{name: "no value", body: "tls-cert:\n", want: ":1: tls-cert has no value"},
		{name: "not a mapping", body: "- listen\n", want: ":1: want a mapping"},
		{name: "bad YAML", body: "listen: [\n", want: "line"},
		{name: "secret readable by others", body: "root-access-key-id: AKIAX\nroot-secret-access-key: s3cret\n", mode: 0o644, want: ":2: root-secret-access-key is a secret, and the file is readable by others"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.body)
			if tt.mode != 0 {
				os.Chmod(path, tt.mode)
			}
			_, _, err := serveFlags(t, "--config", path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), path) {
				t.Errorf("err = %v, want it to start with the file's name", err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the secret: %v", err)
			}
		})
	}
}

// trent config check refuses a file whose values trent serve would refuse,
// naming the setting.
func TestConfigCheckValues(t *testing.T) {
	clearTrentEnv(t)
	for _, tt := range []struct{ name, body, want string }{
		{"a Region that is not one", "region: [us-east-1, moon-1]\n", `"moon-1" is not the name of an AWS Region`},
		{"bad account id", "account-id: \"12\"\n", "--account-id"},
		{"bad log format", "log-format: xml\n", "--log-format"},
		{"bad seal", "seal: vault\n", "--seal"},
		{"bad store", "store: redis://x\n", "--store"},
		{"TLS key without certificate", "tls-key: k.pem\n", "--tls-cert and --tls-key go together"},
		{"OTLP endpoint without a scheme", "otlp-endpoint: collector:4317\n", "--otlp-endpoint"},
		{"sample ratio above 1", "trace-sample-ratio: 2\n", "--trace-sample-ratio"},
		{"negative audit size", "audit-max-size: -1\n", "--audit-max-size"},
		{"no key cache", "key-cache: 0\n", "--key-cache"},
		{"negative material cache", "material-cache: -5\n", "--material-cache"},
		{"flush interval too short", "usage-flush-interval: 10ms\n", "--usage-flush-interval"},
		{"node id with a space", "node-id: a b\n", "--node-id"},
		{"a quota that is not one", "quota: [Encrypt=fast]\n", "--quota"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newConfigCmd()
			cmd.SetArgs([]string{"check", writeConfig(t, tt.body)})
			cmd.SetOut(&strings.Builder{})
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("config check: %v, want %q", err, tt.want)
			}
		})
	}
}
