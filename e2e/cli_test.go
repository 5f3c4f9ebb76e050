package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/testenv"
	"github.com/trentkms/trent/internal/testserver"
)

// awsCLI is Debian's awscli (v2); the aws on PATH may be another version.
const awsCLI = "/usr/bin/aws"

// cliEnv is the environment the AWS CLI runs in: this process's without
// its AWS_* settings and HOME, so that only what a test gives configures
// the CLI; then HOME=home, no config or credentials file, us-east-1, no
// instance metadata, one attempt (retries would hide errors), no pager; then
// extra.
func cliEnv(home string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "none"),
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=")
	return append(env, extra...)
}

// awsCLIAt runs the AWS CLI against endpoint with JSON output, in cliEnv.
func awsCLIAt(t *testing.T, endpoint, home string) func(env []string, args ...string) ([]byte, error) {
	return func(env []string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(testserver.Context(t), awsCLI, append(args, "--endpoint-url", endpoint, "--output", "json")...)
		cmd.Env = cliEnv(home, env...)
		return cmd.CombinedOutput()
	}
}

// needAWSCLI skips t, or fails it under CI, without awsCLI.
func needAWSCLI(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		testenv.Missing(t, "AWS CLI not installed at %s (apt-get install awscli): %v", awsCLI, err)
	}
}

// TestAWSCLI runs cli_test.sh, which drives a test server through the AWS CLI
// v2 with a shared credentials and config file, as a user would.
func TestAWSCLI(t *testing.T) { runCLIScript(t, "cli_test.sh") }

// TestAWSCLIIdentities runs cli_identity_test.sh: IAM, STS and a role
// session through the AWS CLI v2.
func TestAWSCLIIdentities(t *testing.T) { runCLIScript(t, "cli_identity_test.sh") }

func runCLIScript(t *testing.T, script string) {
	needAWSCLI(t)
	srv := testserver.Start(t, testserver.Options{})

	home := t.TempDir()
	creds := filepath.Join(home, "credentials")
	config := filepath.Join(home, "config")
	writeFile(t, creds, "[default]\naws_access_key_id = "+testserver.AccessKey+"\naws_secret_access_key = "+testserver.SecretKey+"\n")
	// One attempt keeps retries from hiding errors; no pager, since nobody reads.
	writeFile(t, config, "[default]\nregion = "+srv.Regions[0]+"\noutput = json\ncli_pager =\nmax_attempts = 1\n")

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	// Drop the caller's AWS_* settings (a profile, keys, a region) so that only
	// the files written above configure the CLI.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"ENDPOINT="+srv.URL,
		"ACCOUNT="+testserver.Account,
		"AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_CONFIG_FILE="+config,
		"AWS_DEFAULT_REGION="+srv.Regions[0],
		"AWS_EC2_METADATA_DISABLED=true",
		"HOME="+home,
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s\nserver log:\n%s", script, err, out, srv.Stderr())
	}
	t.Logf("%s passed in %v:\n%s", script, time.Since(start).Round(time.Millisecond), out)
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
