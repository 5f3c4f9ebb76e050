package kms

import (
	"errors"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
)

// Explain authorizes its caller before it resolves the key or the subject
// (issue 9, hole 10: "authorize first, on every admin operation; an
// unauthorized caller learns nothing from the error"): a caller who may not
// explain gets the same answer for a key that exists and one that does not,
// and the subject is never resolved for it. The key is looked up in the
// account of the caller's identity, not in an account the Caller merely
// names, so another account's keys are not found whether they exist or not.
func TestExplainAuthorizesBeforeLookup(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(t)
	missing := strings.Replace(*k.Arn, (*k.KeyId)[:8], "00000000", 1)
	resolved := false
	subject := func() (*authz.Identity, error) { resolved = true; return e.caller.Identity, nil }
	answer := func(c Caller, id string) string {
		_, err := e.s.Explain(c, subject, "kms:Decrypt", id, nil)
		var we *wire.Error
		if !errors.As(err, &we) {
			t.Fatalf("Explain of %s by %s: %v, want an error", id, c.ARN, err)
		}
		// The key named is the only difference two answers may have.
		return we.Code + ": " + strings.NewReplacer(*k.Arn, "<key>", missing, "<key>").Replace(we.Message)
	}
	other := &authz.Identity{Principal: authz.Principal{Account: "444455556666", ARN: "arn:aws:iam::444455556666:root", Type: authz.RootType, UserID: "444455556666"}}
	for name, c := range map[string]Caller{
		"a user of the key's account":                    userCaller(e, "app"),
		"another account's root":                         {Account: other.Account, ARN: other.ARN, Region: "us-east-1", Identity: other},
		"another account's root, the Caller naming ours": {Account: "111122223333", ARN: other.ARN, Region: "us-east-1", Identity: other},
	} {
		if a, b := answer(c, *k.Arn), answer(c, missing); a != b {
			t.Errorf("%s: Explain of an existing key answers %q, of a missing one %q", name, a, b)
		}
		if resolved {
			t.Fatalf("%s: the subject was resolved for a caller who may not explain", name)
		}
	}
	if _, err := e.s.Explain(e.caller, subject, "kms:Decrypt", *k.Arn, nil); err != nil || !resolved {
		t.Fatalf("Explain by the key's account's root: %v (subject resolved: %v)", err, resolved)
	}
}
