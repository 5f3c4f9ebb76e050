package arn

import "testing"

func TestIsRegion(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want bool
	}{
		{"us-east-1", "us-east-1", true},
		{"eu-central-2", "eu-central-2", true},
		{"ap-southeast-5", "ap-southeast-5", true},
		{"il-central-1", "il-central-1", true},
		{"mx-central-1", "mx-central-1", true},
		{"no number", "us-east", false},
		{"no place", "us--1", false},
		{"empty", "", false},
		{"a word", "local", false},
		{"upper case", "US-EAST-1", false},
		{"an availability zone", "us-east-1a", false},
		{"trailing dash", "us-east-1-", false},
		{"unknown area", "xx-east-1", false},
		{"China partition", "cn-north-1", false},
		{"GovCloud partition", "us-gov-west-1", false},
		{"an underscore", "us-east_x-1", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRegion(tt.in); got != tt.want {
				t.Errorf("IsRegion(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
