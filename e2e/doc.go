// Package e2e holds Trent's end-to-end tests: each starts a real `trent serve`
// on a loopback port and drives it with the real aws-sdk-go-v2 clients, the
// AWS CLI and the AWS Encryption SDK.
package e2e
