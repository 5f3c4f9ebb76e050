package policy

import (
	"errors"
	"testing"
)

// Options.KnownKey refuses the condition keys it does not know, and only
// them.
func TestKnownKey(t *testing.T) {
	known := func(k string) bool { return k != "aws:ec2instancesourcevpc" }
	doc := func(key string) []byte {
		return []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"` + key + `":"x"}}}]}`)
	}
	_, err := Compile(doc("aws:Ec2InstanceSourceVpc"), Options{Kind: IdentityKind, KnownKey: known})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Findings[0].Code != CodeCondition || ve.Error() != "Condition key aws:Ec2InstanceSourceVpc is not supported." {
		t.Fatalf("an unknown key: %v", err)
	}
	if _, err := Compile(doc("aws:SourceVpc"), Options{Kind: IdentityKind, KnownKey: known}); err != nil {
		t.Fatalf("a known key: %v", err)
	}
	if _, err := Compile(doc("aws:Ec2InstanceSourceVpc"), Options{Kind: IdentityKind}); err != nil {
		t.Fatalf("any key without KnownKey: %v", err)
	}
}
