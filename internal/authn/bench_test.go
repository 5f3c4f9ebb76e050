package authn

import (
	"testing"
)

// BenchmarkAuthenticate is the authentication step of a header-signed KMS
// request by an IAM user, as every request pays it: the signature (signing
// key cached), last use, identity (cached) and the request's facts.
func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b)
	r := kmsRequest(b, "Encrypt", body)
	e.sign(b, r, body, e.user(b, "alice"), "kms", "us-east-1")
	got, raw := received(b, r)
	rt := kmsRoute("Encrypt")
	if _, err := e.a.Authenticate(got, raw, rt); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.a.Authenticate(got, raw, rt); err != nil {
			b.Fatal(err)
		}
	}
}
