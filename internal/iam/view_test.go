package iam

import (
	"bytes"
	"testing"
)

// Skip passes only over keys Keep refuses: every key from a refused key up
// to where Skip goes is refused too, and an account's identity records are
// never passed over.
func TestHandlerSkipPassesOnlyRefusedKeys(t *testing.T) {
	var h handler
	keys := []string{
		"acct/111122223333/account", "acct/111122223333/iam/users/alice",
		"acct/111122223333/kms/us-east-1/keys/k1", "acct/111122223333/kms/us-east-1/material/k1/m1",
		"acct/111122223333/kms/us-east-1/keys/k2", "acct/111122223333/kms0", "acct/111122223333/kmsx/a",
		"acct/111122223333/usage/x", "acct/111122224444/account", "acct/111122224444/iam/roles/r",
		"acct/111122224444/kms/eu-west-1/keys/k", "iam/accesskeys/AKIA", "meta/schema",
	}
	for _, k := range keys {
		if h.Keep([]byte(k)) {
			continue
		}
		next := h.Skip([]byte(k))
		if next == nil {
			continue
		}
		if bytes.Compare(next, []byte(k)) <= 0 {
			t.Fatalf("Skip(%s) = %s, not after it", k, next)
		}
		for _, o := range keys {
			if o >= k && o < string(next) && h.Keep([]byte(o)) {
				t.Fatalf("Skip(%s) = %s passes over %s, which Keep keeps", k, next, o)
			}
		}
	}
	if got := string(h.Skip([]byte("acct/111122223333/kms/us-east-1/keys/k1"))); got != "acct/111122223333/kms0" {
		t.Fatalf("Skip of a KMS key = %q, want past the account's kms/", got)
	}
	if h.Skip([]byte("acct/111122223333/iam/unknown")) != nil {
		t.Fatal("Skip passes over part of iam/")
	}
}
