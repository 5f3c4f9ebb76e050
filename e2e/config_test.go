package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/testserver"
)

// trent serve --config: the file's settings apply where neither the command
// line nor the environment sets them.
func TestServeConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trent.yaml")
	// listen and region are also given on the command line (testserver
	// passes --listen and --region): a listen address that cannot be bound
	// shows that the flag wins.
	writeFile(t, path, `# a test configuration
listen: "256.0.0.1:1"
region: [eu-west-1]
account-name: from-file
account-email: ops@example.com
log-format: json
`)
	srv := testserver.Start(t, testserver.Options{Env: []string{"TRENT_CONFIG=" + path}})
	out, err := trentRun(t, nil, "account", "list", "--endpoint", srv.URL, "--data-dir", srv.DataDir)
	if err != nil || !regexp.MustCompile(testserver.Account+`\s+from-file\s+ops@example.com`).MatchString(out) {
		t.Fatalf("account list: %v\n%s", err, out)
	}
	srv.Stop(t)
	// The log is JSON, as the file says.
	lines := strings.Split(strings.TrimSpace(srv.Stderr()), "\n")
	if len(lines) == 0 {
		t.Fatal("no log")
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil || m["level"] == nil {
			t.Errorf("log line %q is not a JSON log record: %v", l, err)
		}
	}
}

// trent config check validates a file, naming the line of a mistake.
func TestConfigCheckCommand(t *testing.T) {
	out, err := trentRun(t, nil, "config", "check", "../docs/trent.example.yaml")
	if err != nil || !strings.Contains(out, "valid") {
		t.Fatalf("config check of the example: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, bad, "listen: 127.0.0.1:9800\nregoin: us-east-1\n")
	out, err = trentRun(t, nil, "config", "check", bad)
	if err == nil || !strings.Contains(out, bad+`:2: unknown key "regoin" (did you mean region?)`) {
		t.Fatalf("config check of a bad file: %v\n%s", err, out)
	}
	// trent serve refuses it the same way, before creating anything.
	dir := filepath.Join(t.TempDir(), "data")
	out, err = trentRun(t, nil, "serve", "--config", bad, "--data-dir", dir)
	if err == nil || !strings.Contains(out, ":2: unknown key") {
		t.Fatalf("serve with a bad file: %v\n%s", err, out)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("serve with a bad file made %s", dir)
	}
}
