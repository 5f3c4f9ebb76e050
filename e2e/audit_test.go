package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// Every request leaves one CloudTrail-shaped event, allowed or denied,
// without plaintext; GetKeyLastUsage answers from the log.
func TestAuditLog(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	alice := newUser(t, srv, root, "alice")
	k := newKey(t, root.kms, nil)
	secret := "the-plaintext-that-must-not-be-logged"
	enc, err := root.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte(secret), EncryptionContext: map[string]string{"purpose": "audit"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = alice.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "audit"}})
	wantErr(t, err, "AccessDeniedException", "")
	lu, err := root.kms.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: k.KeyId})
	if err != nil || lu.KeyLastUsage == nil || string(lu.KeyLastUsage.Operation) != "Encrypt" {
		t.Fatalf("GetKeyLastUsage = %+v, %v", lu, err)
	}
	srv.Stop(t) // Close flushes the log

	f, err := os.Open(filepath.Join(srv.DataDir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var encrypt, denied map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), secret) {
			t.Fatalf("an audit event contains the plaintext: %s", sc.Text())
		}
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a JSON line: %s", sc.Text())
		}
		switch {
		case e["eventName"] == "Encrypt":
			encrypt = e
		case e["eventName"] == "Decrypt" && e["errorCode"] == "AccessDeniedException":
			denied = e
		}
	}
	if encrypt == nil || denied == nil {
		t.Fatalf("missing events: encrypt %v, denied decrypt %v", encrypt != nil, denied != nil)
	}
	if encrypt["eventSource"] != "kms.amazonaws.com" || encrypt["userIdentity"].(map[string]any)["type"] != "Root" ||
		encrypt["requestParameters"].(map[string]any)["encryptionContext"].(map[string]any)["purpose"] != "audit" {
		t.Fatalf("Encrypt event = %v", encrypt)
	}
	res := denied["resources"].([]any)
	if len(res) != 1 || res[0].(map[string]any)["ARN"] != *k.Arn || denied["userIdentity"].(map[string]any)["userName"] != "alice" {
		t.Fatalf("denied Decrypt event = %v", denied)
	}
	if !strings.Contains(denied["errorMessage"].(string), "User: arn:aws:iam::"+acct+":user/alice is not authorized to perform: kms:Decrypt") {
		t.Fatalf("denied Decrypt errorMessage = %v", denied["errorMessage"])
	}
}
