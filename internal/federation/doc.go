// Package federation verifies what external identity providers present to
// STS: OpenID Connect ID tokens (AssumeRoleWithWebIdentity), SAML 2.0
// assertions (AssumeRoleWithSAML), and the one-time codes of virtual MFA
// devices (TOTP, RFC 6238). It knows nothing of roles, policies or sessions:
// it says whether a token, an assertion or a code is genuine and what it
// claims; package iam decides what that is worth.
//
// # OpenID Connect
//
// An OIDC verifier checks a JWT's signature against the issuer's keys and
// its iss, aud (or azp), exp, nbf and iat claims. The keys are either
// configured on the provider (for sites that cannot reach their issuer:
// the JWKS document itself) or discovered: the issuer's
// /.well-known/openid-configuration names the jwks_uri, both fetched over
// HTTPS only. The server certificate of each fetch must chain to the
// system's roots (SSL_CERT_FILE and SSL_CERT_DIR add to them) or, as IAM
// does, to a certificate of the presented chain whose SHA-1 thumbprint the
// provider lists. Discovered keys are cached per issuer and refreshed after
// a while, or sooner when a token names a key id the cache lacks, at most
// once per MinRefetch so that tokens with made-up key ids cannot make Trent
// hammer the issuer.
//
// Only asymmetric signatures are accepted (RS*, PS*, ES*): "none" and the
// HMAC algorithms, whose key would be public, are refused before any key is
// looked at.
//
// # Errors
//
// Every refusal is a *Error whose Kind says how STS answers it
// (InvalidIdentityToken, ExpiredTokenException, IDPRejectedClaim,
// IDPCommunicationError); its message never quotes the token.
//
// # Concurrency
//
// An *OIDC is safe for concurrent use; fetches for one issuer are made one
// at a time.
package federation
