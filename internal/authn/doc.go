// Package authn is the authentication step of every signed request: from an
// HTTP request, its body and the operation the front routed it to, it
// decides who the caller is, or returns the AWS authentication error that
// refuses the request. internal/server calls it once per request and does
// the rest (routing, decoding, encoding, audit); nothing here knows an
// operation's semantics or writes a response.
//
// Authenticator.Authenticate applies these rules, in this order (order
// matters: nothing about the caller is looked up before the signature
// verifies, and the caller's own signature is checked only after the
// service's):
//
//  1. The SigV4 signature (sigv4.Verifier.Verify): header or presigned;
//     every x-amz-* header signed (X-Amz-Target above all); the payload
//     hash; ±5 minutes, or until a presigned request's expiry; the session
//     token, exactly the one issued with the temporary credentials; the
//     credential scope, a service this server speaks in a Region where it
//     serves it (scope).
//  2. One operation: a verified request that names two operations is
//     refused (ErrTwoOperations), since whichever ran might not be the one
//     the signer meant.
//  3. The signed service is the one the routed protocol needs (KMS and
//     TrentAdmin: kms; Organizations: organizations; Query: the scope
//     chooses iam or sts).
//  4. The access key's last use is noted, and its identity resolved.
//  5. A registered service's request (docs/SERVICES.md, services.go): its
//     X-Trent-* headers count only if its verified signature covers them;
//     with X-Trent-On-Behalf-Of the caller's own presigned signature of the
//     very request must verify, for the same service and Region, and the
//     request is decided as that caller's, via the service; a service
//     cannot act for another service.
//  6. The request's facts for authorization: time, source address, TLS,
//     Region, the caller's organization, user agent and referer, and the VPC
//     endpoint the request came through with its policy (Endpoint).
//
// Signed reports whether a request carries a signature at all, which
// decides whether an operation that may be served unsigned
// (AssumeRoleWithWebIdentity, AssumeRoleWithSAML) skips this step; Unsigned
// gives such a request its facts, and refuses it through a VPC endpoint that
// has a policy, which cannot decide on a request with no principal.
//
// # Errors
//
// Authenticate returns a *sigv4.Error, sigv4.ErrUnknownAccessKey,
// sigv4.ErrExpiredToken (possibly wrapped), ErrTwoOperations, or an
// internal error; the server maps each to its protocol's AWS error. No
// error names a secret or a session token. Unsigned returns a *wire.Error
// (AccessDeniedException) for a request it refuses.
//
// # Concurrency
//
// An *Authenticator is safe for concurrent use.
package authn
