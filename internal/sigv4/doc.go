// Package sigv4 verifies AWS Signature Version 4 on incoming requests, the
// way AWS services other than S3 do: the Authorization header form and the
// presigned query-string form, AWS4-HMAC-SHA256 only.
//
// A Verifier is built once with a SecretLookup (the identity store) and
// Options (clock, allowed skew, accepted credential scopes):
//
//	v := sigv4.NewVerifier(store, sigv4.Options{
//		Scope: func(region, service string) error {
//			if service != "kms" {
//				return sigv4.ServiceScopeError("kms")
//			}
//			if region != "eu-west-1" {
//				return sigv4.RegionScopeError()
//			}
//			return nil
//		},
//	})
//	res, err := v.Verify(ctx, r, body)
//
// Verify checks the credential scope, the time stamp (±5 minutes by
// default; until X-Amz-Expires for a presigned URL), the session token of
// temporary credentials, the payload hash and the signature, and returns who
// signed. It does not decide what the caller may do, nor resolve the access
// key to a principal beyond asking the SecretLookup for its secret.
//
// The canonical request follows the SigV4 specification and the AWS signing
// test suite: the path as sent on the wire, with dot segments removed and
// slashes collapsed, URI-encoded; the query re-encoded and sorted; the
// signed headers' values trimmed, inner white space collapsed, repeated
// headers joined with ','. "host" must be signed, and so must every x-amz-*
// header the request carries (in a presigned request, one equal to the
// signed query parameter the SDK presigners hoist it into also counts): an
// unsigned X-Amz-Target would let anyone holding a signed request change its
// operation. The Authorization header must have exactly the Credential,
// SignedHeaders and Signature components. Result.Signs says which other
// headers the verified signature covers; nothing else should be trusted to.
//
// Signing keys are cached per access key id, date, region and service
// (bounded); an entry is used only with the secret it was derived from, so
// a rotated secret takes effect at once.
//
// # Concurrency
//
// A Verifier is safe for concurrent use; the SecretLookup must be too.
//
// # Errors
//
// Every failure a client can cause is an *Error whose Kind is the AWS
// exception name (Kind.String) and whose Message is the text AWS sends, word
// for word; Kind.HTTPStatus gives the status code. Errors carry no secret
// access key and no session token. An error from the SecretLookup other than
// ErrUnknownAccessKey or ErrExpiredToken comes back wrapped and is not the
// client's fault.
package sigv4
