package arn

// IsRegion reports whether s is a Region name of the aws partition, the only
// one Trent serves: the AWS SDKs' regionRegex for it,
// ^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$, with the middle part lower-case
// letters, as every AWS Region name has it. Regions of the other partitions
// (cn-north-1, us-gov-west-1) are refused: their ARNs begin arn:aws-cn: or
// arn:aws-us-gov:, which Trent does not make.
func IsRegion(s string) bool {
	area, rest, ok := cut(s)
	if !ok {
		return false
	}
	switch area {
	case "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx":
	default:
		return false
	}
	place, num, ok := cut(rest)
	if !ok || place == "" || num == "" {
		return false
	}
	for i := 0; i < len(place); i++ {
		if place[i] < 'a' || place[i] > 'z' {
			return false
		}
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return false
		}
	}
	return true
}

// cut splits s at its first '-'.
func cut(s string) (before, after string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
