// Package authz makes the AWS authorization decision for one request: it
// combines identity-based policies, permissions boundaries, session policies
// and (for KMS) key policies, grants and endpoint policies the way AWS's policy
// evaluation logic does, and words the AccessDenied message as AWS does. It is
// pure: callers hand it the caller's Identity and the request context; it does
// no I/O and reads no clock.
package authz
