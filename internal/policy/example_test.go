package policy_test

import (
	"fmt"
	"time"

	"github.com/trentkms/trent/internal/policy"
)

func ExampleCompile() {
	doc := []byte(`{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:*", "Resource": "*"},
	    {"Sid": "App", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"},
	     "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
	     "Condition": {"StringEquals": {"kms:EncryptionContext:Dept": "IT"}}},
	    {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
	  ]
	}`)
	p, err := policy.Compile(doc, policy.Options{Kind: policy.ResourceKind, MaxBytes: 32768, Charset: policy.Latin1Charset})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := policy.Request{
		Principal: policy.Principal{Type: policy.AWSPrincipal, ARN: "arn:aws:sts::111122223333:assumed-role/App/s1", Account: "111122223333"},
		Action:    "kms:Decrypt",
		Resource:  "arn:aws:kms:us-east-1:111122223333:key/k1",
		Time:      time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Keys:      policy.NewKeys("kms:EncryptionContext:dept", "IT"),
	}
	out := p.Decide(&req)
	fmt.Println(out.Decision, out.Sid, out.Via)

	req.Keys = policy.NewKeys("kms:EncryptionContext:Dept", "HR")
	out = p.Decide(&req)
	fmt.Println(out.Decision, out.Sid, out.Via)

	req.Action = "kms:ScheduleKeyDeletion"
	fmt.Println(p.Decide(&req).Decision)
	// Output:
	// Allow App role
	// Allow Root account
	// ExplicitDeny
}
