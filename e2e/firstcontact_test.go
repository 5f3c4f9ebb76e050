package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/trentkms/trent/internal/testserver"
)

// trentRun runs the trent binary with args and a bounded time, and returns
// its combined output and error.
func trentRun(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testserver.Binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// trent version and trent --version print the build information.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := trentRun(t, nil, args...)
		if err != nil {
			t.Fatalf("trent %s: %v\n%s", args[0], err, out)
		}
		if !strings.HasPrefix(out, "trent ") || !strings.Contains(out, "go:       go1.") || !strings.Contains(out, "platform: ") {
			t.Errorf("trent %s printed %q", args[0], out)
		}
	}
}

// A first start that fails leaves no data directory behind, so that the
// next try is a first start again; everything that can be checked is checked
// before anything is created, and listeners are bound before the store is.
func TestFailedFirstStartLeavesNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{name: "bad account id", args: []string{"--account-id", "12345"}, want: "--account-id"},
		{name: "port in use", args: []string{"--listen", busy.Addr().String()}, want: "address already in use"},
		{name: "metrics port in use", args: []string{"--metrics-listen", busy.Addr().String()}, want: "--metrics-listen"},
		{name: "not a Region", args: []string{"--region", "us-east"}, want: "not the name of an AWS Region"},
		{name: "a Region of another partition", args: []string{"--region", "cn-north-1"}, want: "not the name of an AWS Region"},
		{name: "unreachable etcd", args: []string{"--store", "etcd://" + busy.Addr().String()}, want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "" && testing.Short() {
				return
			}
			dir := filepath.Join(t.TempDir(), "new", "trent-data")
			args := append([]string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"}, tt.args...)
			out, err := trentRun(t, []string{"TRENT_ACCOUNT_ID=", "TRENT_SEAL=passphrase:env,time=1,memory-mib=8,threads=1", "TRENT_SEAL_PASSPHRASE=a long enough passphrase"}, args...)
			if err == nil {
				t.Fatalf("trent serve %v started:\n%s", tt.args, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("trent serve %v said %q, want it to mention %q", tt.args, out, tt.want)
			}
			if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the failed start left %s behind (%v)", filepath.Dir(dir), err)
			}
		})
	}
}

// A data directory another Trent serves from is reported as in use, not as
// bbolt's "timeout".
func TestDataDirectoryInUse(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	out, err := trentRun(t, nil, "serve", "--data-dir", srv.DataDir, "--listen", "127.0.0.1:0")
	if err == nil {
		t.Fatalf("a second trent serve on %s started:\n%s", srv.DataDir, out)
	}
	if !strings.Contains(out, "in use by another trent process") || strings.Contains(out, "timeout") {
		t.Errorf("second trent serve said %q", out)
	}
	// The first one still serves, and its data directory is whole.
	if _, err := os.Stat(filepath.Join(srv.DataDir, "trent.db")); err != nil {
		t.Fatal(err)
	}
}

// A request signed for a service Trent does not serve (an S3 or Secrets
// Manager client pointed at Trent) is told which services Trent serves.
func TestUnservedService(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testserver.AccessKey, SecretAccessKey: testserver.SecretKey}
	for _, tt := range []struct {
		name, method, service, target, body string
		xml                                 bool
	}{
		{name: "Secrets Manager", method: http.MethodPost, service: "secretsmanager", target: "secretsmanager.ListSecrets", body: "{}"},
		{name: "DynamoDB", method: http.MethodPost, service: "dynamodb", target: "DynamoDB_20120810.ListTables", body: "{}"},
		{name: "S3", method: http.MethodGet, service: "s3", xml: true},
		{name: "SNS", method: http.MethodPost, service: "sns", body: "Action=ListTopics&Version=2010-03-31", xml: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testserver.Context(t)
			req, err := http.NewRequestWithContext(ctx, tt.method, srv.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
				req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			} else if tt.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			sum := sha256.Sum256([]byte(tt.body))
			if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), tt.service, "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			for _, want := range []string{"Trent does not serve " + tt.service, "kms (AWS KMS), iam, sts and organizations"} {
				if !bytes.Contains(body, []byte(want)) {
					t.Errorf("answer %s does not say %q", body, want)
				}
			}
			if isXML := bytes.HasPrefix(body, []byte("<")); isXML != tt.xml {
				t.Errorf("answer %s: XML %v, want %v", body, isXML, tt.xml)
			}
		})
	}
}

// The operator commands need the server's credentials file; without it they
// say so, rather than let the SDK look for credentials elsewhere (the
// environment, instance metadata).
func TestOperatorCommandsWithoutCredentials(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"authz", "explain", "--principal", "arn:aws:iam::111122223333:root", "--action", "kms:Decrypt", "--key-id", "alias/app"},
		{"service", "list"},
		{"account", "list"},
	} {
		out, err := trentRun(t, []string{"AWS_EC2_METADATA_DISABLED=true"}, append(args, "--data-dir", dir, "--endpoint", "http://127.0.0.1:1")...)
		if err == nil || !strings.Contains(out, "no credentials file at "+filepath.Join(dir, "credentials")) {
			t.Errorf("trent %s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
	}
}
