package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/testserver"
)

// readmeBlock returns the first ```sh block of README.md after the line that
// starts with marker.
func readmeBlock(t *testing.T, readme, marker string) string {
	t.Helper()
	i := strings.Index(readme, "\n"+marker)
	if i < 0 {
		t.Fatalf("README.md has no line starting %q", marker)
	}
	rest := readme[i:]
	start := strings.Index(rest, "```sh\n")
	if start < 0 {
		t.Fatalf("no sh block after %q", marker)
	}
	rest = rest[start+len("```sh\n"):]
	end := strings.Index(rest, "\n```")
	if end < 0 {
		t.Fatalf("the sh block after %q does not end", marker)
	}
	return rest[:end+1]
}

// The README's two examples run as written, one after the other, as a new
// user would paste them in the directory where trent serve made trent-data:
// the KMS walk-through (a key, an alias, encrypt, decrypt) and the identities
// (a user, her access key, a role whose trust.json names her, her
// AssumeRole, then the trent account, authz and service commands). Only the
// endpoint is the test server's, and `go run ./cmd/trent` the built binary.
func TestREADMEExamples(t *testing.T) {
	needAWSCLI(t)
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	kmsExample := readmeBlock(t, readme, "Then, for example")
	identities := readmeBlock(t, readme, "### Identities in practice")

	work := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: filepath.Join(work, "trent-data")})
	const readmeEndpoint = "http://127.0.0.1:9800"
	script := "set -euo pipefail\n" +
		// The README's first block follows the banner's export line.
		"export AWS_SHARED_CREDENTIALS_FILE=$PWD/trent-data/credentials AWS_DEFAULT_REGION=us-east-1\n" +
		kmsExample + "echo\n" + identities
	if !strings.Contains(script, readmeEndpoint) || !strings.Contains(script, "go run ./cmd/trent ") {
		t.Fatalf("the README's examples no longer name %s and go run ./cmd/trent:\n%s", readmeEndpoint, script)
	}
	script = strings.ReplaceAll(script, readmeEndpoint, srv.URL)
	script = strings.ReplaceAll(script, "go run ./cmd/trent ", testserver.Binary(t)+" ")

	home := t.TempDir()
	writeFile(t, filepath.Join(home, "config"), "[default]\noutput = json\ncli_pager =\nmax_attempts = 1\n")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = work
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "TRENT_") && !strings.HasPrefix(kv, "PATH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"PATH=/usr/bin:"+os.Getenv("PATH"), // Debian's aws first
		"HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_EC2_METADATA_DISABLED=true",
		// What the README says for another server: the trent commands' endpoint.
		"TRENT_ENDPOINT="+srv.URL,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's examples failed: %v\n%s\nserver log:\n%s", err, out, srv.Stderr())
	}
	for _, want := range []string{
		"attack at dawn", // decrypt printed the plaintext
		"arn:aws:sts::" + testserver.Account + ":assumed-role/app/s1", // alice assumed the role
		"Created account",   // trent account create
		"management",        // trent account list
		"ALLOW kms:Decrypt", // trent authz explain
		"Registered service backup.example.internal",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the README's examples did not print %q:\n%s", want, out)
		}
	}
}
