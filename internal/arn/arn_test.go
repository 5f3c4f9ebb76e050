package arn

import (
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    ARN
		wantErr bool
	}{
		{in: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", want: ARN{"aws", "kms", "us-east-1", "111122223333", "key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		{in: "arn:aws:iam::111122223333:root", want: ARN{"aws", "iam", "", "111122223333", "root"}},
		{in: "arn:aws:s3:::bucket/with:colon", want: ARN{"aws", "s3", "", "", "bucket/with:colon"}},
		{in: "alias/foo", wantErr: true},
		{in: "arn:aws:kms", wantErr: true},
		{in: "arn::kms:r:a:key/x", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v", tt.in, got, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestIsKeyID(t *testing.T) {
	for s, want := range map[string]bool{
		"1234abcd-12ab-34cd-56ef-1234567890ab": true,
		"mrk-1234abcd12ab34cd56ef1234567890ab": true,
		"1234ABCD-12ab-34cd-56ef-1234567890ab": false,
		"1234abcd12ab34cd56ef1234567890ab":     false,
		"mrk-fake-key-id":                      false,
		"fake-key-id":                          false,
		"":                                     false,
	} {
		if got := IsKeyID(s); got != want {
			t.Errorf("IsKeyID(%q) = %v, want %v", s, got, want)
		}
	}
}

func ExampleKeyARN() {
	fmt.Println(KeyARN("us-east-1", "111122223333", "1234abcd-12ab-34cd-56ef-1234567890ab"))
	// Output: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
}

// Parse splits as strings.SplitN(s, ":", 6) does, which it replaced.
func TestParseSplitsLikeSplitN(t *testing.T) {
	for _, s := range []string{"", ":", "arn", "arn:", "arn:aws", "arn:aws:kms", "arn:aws:kms:r:1:key/x", "arn:aws:kms:r:1:key/x:y:z",
		"arn::kms:r:1:k", "arn:aws::r:1:k", "arn:aws:kms::::", "arn:aws:kms:::", "arn:aws:iam::111122223333:root", "x:aws:kms:r:1:k", "arn:aws:kms:r:1"} {
		parts := strings.SplitN(s, ":", 6)
		var want ARN
		ok := len(parts) == 6 && parts[0] == "arn" && parts[1] != "" && parts[2] != ""
		if ok {
			want = ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}
		}
		got, err := Parse(s)
		if (err == nil) != ok || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, ok %v", s, got, err, want, ok)
		}
	}
}
