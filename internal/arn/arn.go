// Package arn parses and formats the names Trent deals in: ARNs, account ids,
// KMS key ids and alias names.
package arn

import (
	"errors"
	"strings"
)

// ErrMalformed is returned for a string that is not an ARN.
var ErrMalformed = errors.New("arn: malformed")

// Partition is the only partition Trent serves.
const Partition = "aws"

// ARN is a parsed Amazon Resource Name:
// arn:partition:service:region:account:resource.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// Parse splits s into its six parts. The resource part may contain colons.
func Parse(s string) (ARN, error) {
	// strings.SplitN(s, ":", 6) without the slice: every request naming
	// its key by ARN comes here.
	var parts [6]string
	rest := s
	for i := range 5 {
		var ok bool
		if parts[i], rest, ok = strings.Cut(rest, ":"); !ok {
			return ARN{}, ErrMalformed
		}
	}
	parts[5] = rest
	if parts[0] != "arn" || parts[1] == "" || parts[2] == "" {
		return ARN{}, ErrMalformed
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, nil
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// KeyARN formats the ARN of a KMS key.
func KeyARN(region, account, keyID string) string {
	return "arn:" + Partition + ":kms:" + region + ":" + account + ":key/" + keyID
}

// AliasARN formats the ARN of a KMS alias; name includes the "alias/" prefix.
func AliasARN(region, account, name string) string {
	return "arn:" + Partition + ":kms:" + region + ":" + account + ":" + name
}

// RootARN is the ARN of an account's root principal.
func RootARN(account string) string { return "arn:" + Partition + ":iam::" + account + ":root" }

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsKeyID reports whether s has the form of a KMS key id: a lowercase UUID
// (1234abcd-12ab-34cd-56ef-1234567890ab) or a multi-Region key id
// (mrk- followed by 32 lowercase hex digits).
func IsKeyID(s string) bool {
	if rest, ok := strings.CutPrefix(s, "mrk-"); ok {
		return len(rest) == 32 && isHex(rest)
	}
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHexByte(s[i]) {
				return false
			}
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return true
}

func isHexByte(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
