package authz

import "testing"

func TestKnownConditionKey(t *testing.T) {
	for key, want := range map[string]bool{
		"aws:SourceVpce":                          true,
		"AWS:SOURCEVPCE":                          true, // key names are not case sensitive
		"aws:PrincipalTag/team":                   true,
		"aws:PrincipalTag/":                       false, // a family needs its member
		"kms:EncryptionContext:tenant":            true,
		"kms:ExpirationModel":                     true,
		"aws:Ec2InstanceSourceVpc":                false, // requests never come from EC2 instance credentials
		"kms:NoSuchKey":                           false,
		"iam:ResourceTag/team":                    true, // IAM resources' and roles' tags
		"iam:ResourceTag/":                        false,
		"iam:OrganizationsPolicyId":               false, // no request of an operation Trent serves carries it
		"organizations:PolicyType":                true,
		"s3:prefix":                               true, // another service's: never in a request, as in AWS
		"accounts.google.com:aud":                 true, // a web identity provider's
		"token.actions.githubusercontent.com:sub": true,
	} {
		if got := KnownConditionKey(key); got != want {
			t.Errorf("KnownConditionKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// The request's own keys: a forwarded request's client, the source
// organization of a service acting for an account.
func TestRequestKeysOfTheClient(t *testing.T) {
	k := RequestKeys(Request{UserAgent: "aws-cli/2.9.19", Referer: "https://console.example.com/", SourceAccount: "111122223333",
		SourceOrgID: "o-exampleorgid", SourceOrgPath: "o-exampleorgid/r-ab12/"})
	for name, want := range map[string]string{
		"aws:useragent": "aws-cli/2.9.19", "aws:referer": "https://console.example.com/",
		"aws:sourceorgid": "o-exampleorgid", "aws:sourceorgpaths": "o-exampleorgid/r-ab12/",
	} {
		if v := k[name]; len(v) != 1 || v[0] != want {
			t.Errorf("%s = %v, want %q", name, v, want)
		}
	}
	if k := RequestKeys(Request{}); k["aws:useragent"] != nil || k["aws:referer"] != nil || k["aws:sourceorgid"] != nil {
		t.Errorf("keys of a request without them: %v", k)
	}
}
