package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/testserver"
)

// trent account create/list drive the running server's Organizations API
// with the data directory's root credentials.
func TestAccountCommands(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	bin := testserver.Binary(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--endpoint", srv.URL, "--data-dir", srv.DataDir)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("trent %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// Before any organization exists, the list shows the account that will
	// manage it, with the name and email it was given at first start.
	mgmt := regexp.MustCompile(testserver.Account + `\s+management\s+root@localhost\s`)
	if list := run("account", "list"); !mgmt.MatchString(list) {
		t.Fatalf("account list before an organization = %q, want the management account's name and email", list)
	}
	out := run("account", "create", "--name", "staging", "--email", "staging@example.com")
	m := regexp.MustCompile(`Created account (\d{12}) \(staging\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("account create printed %q", out)
	}
	list := run("account", "list")
	if !strings.Contains(list, m[1]) || !strings.Contains(list, "staging@example.com") || !mgmt.MatchString(list) {
		t.Fatalf("account list = %q, want both accounts, the management account with its name and email", list)
	}
	// The same email twice is refused, as AWS reports EMAIL_ALREADY_EXISTS.
	cmd := exec.Command(bin, "account", "create", "--name", "again", "--email", "staging@example.com", "--endpoint", srv.URL, "--data-dir", srv.DataDir)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "EMAIL_ALREADY_EXISTS") {
		t.Fatalf("duplicate email: %v\n%s", err, out)
	}
}
