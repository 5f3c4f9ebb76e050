package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// With --audit-log -, standard output is the audit log and nothing else:
// one JSON event a line, each naming the node that served it; the banner
// goes to standard error.
func TestAuditLogOnStandardOutput(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Env: []string{"TRENT_AUDIT_LOG=-", "TRENT_NODE_ID=node-7"}})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	k := newKey(t, root.kms, nil)
	if _, err := root.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	if !strings.Contains(srv.Stderr(), "Trent is serving AWS KMS at") {
		t.Errorf("the banner is not on standard error:\n%s", srv.Stderr())
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(srv.Stdout()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("standard output has a line that is not a JSON event: %q", line)
		}
		if e["trentNode"] != "node-7" {
			t.Errorf("event %v: trentNode %v, want node-7", e["eventName"], e["trentNode"])
		}
		names = append(names, e["eventName"].(string))
	}
	if !strings.Contains(strings.Join(names, ","), "CreateKey,Encrypt") {
		t.Errorf("events on standard output: %v", names)
	}
}

// SIGHUP rotates the audit file while requests go on: each event is in
// exactly one of the files, and the node keeps serving.
func TestAuditLogRotatesOnSIGHUP(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	k := newKey(t, root.kms, nil)
	const rounds, each = 3, 20
	for r := range rounds {
		for range each {
			if _, err := root.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
		if r < rounds-1 {
			if err := srv.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			// Signals of one kind may merge while pending: wait for this
			// one to be handled before the next.
			for strings.Count(srv.Stderr(), "audit log rotated on SIGHUP") < r+1 {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	srv.Stop(t)
	files, err := filepath.Glob(filepath.Join(srv.DataDir, "audit*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != rounds {
		t.Fatalf("audit files %v, want %d after %d SIGHUPs\n%s", files, rounds, rounds-1, srv.Stderr())
	}
	ids := map[string]int{}
	encrypts := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		first := true
		for sc.Scan() {
			var e map[string]any
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("%s: not a JSON line: %s", name, sc.Text())
			}
			if first && e["eventName"] != "StartAuditLog" {
				t.Errorf("%s does not begin with its header", name)
			}
			first = false
			ids[e["eventID"].(string)]++
			if e["eventName"] == "Encrypt" {
				encrypts++
			}
		}
		f.Close()
	}
	if encrypts != rounds*each {
		t.Errorf("%d Encrypt events in the files, want %d", encrypts, rounds*each)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %s is in the files %d times", id, n)
		}
	}
}
