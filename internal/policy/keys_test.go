package policy

import (
	"slices"
	"testing"
)

func TestContextKeys(t *testing.T) {
	p, err := Compile([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/${aws:PrincipalTag/keys}","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"${aws:username}","aws:SourceVpce":"vpce-1"}}},
		{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"Bool":{"AWS:SecureTransport":"false"},"StringNotEquals":{"aws:sourcevpce":"vpce-2"}}}]}`), Options{Kind: IdentityKind})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aws:PrincipalTag/keys", "kms:EncryptionContext:tenant", "aws:username", "aws:SourceVpce", "AWS:SecureTransport"}
	if got := p.ContextKeys(); !slices.Equal(got, want) {
		t.Fatalf("ContextKeys = %v, want %v", got, want)
	}
	if got := p.StatementContextKeys(1); !slices.Equal(got, []string{"AWS:SecureTransport", "aws:sourcevpce"}) {
		t.Fatalf("StatementContextKeys(1) = %v", got)
	}
}
