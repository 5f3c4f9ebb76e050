package iam

import (
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
)

// CheckCredentialScope refuses the IAM and STS operations that temporary
// credentials may not call at all, whatever policies say, by the STS
// operation that issued them (IAM User Guide, id_credentials_temp_request,
// "Comparing the AWS STS API operations"; STS API reference,
// GetSessionToken):
//   - no temporary credentials may call GetSessionToken or
//     GetFederationToken;
//   - GetFederationToken credentials may call no IAM operation and no STS
//     operation but GetCallerIdentity;
//   - GetSessionToken credentials may call no IAM operation unless MFA
//     information was included in the GetSessionToken request, and no STS
//     operation but AssumeRole and GetCallerIdentity.
//
// Credentials of an issuer this code does not know get the narrowest rules.
// The server calls it once for every IAM and STS request, before the
// operation runs.
func CheckCredentialScope(id *authz.Identity, service, op string) error {
	if !id.Temporary {
		return nil
	}
	// full is true for the credentials this limits: all but role sessions
	// (federated ones included), i.e. GetSessionToken's or unknown.
	full := id.IssuedBy != issuedByAssumeRole && id.IssuedBy != issuedByWebIdentity && id.IssuedBy != issuedBySAML
	switch service {
	case "sts":
		switch {
		case op == "GetSessionToken" || op == "GetFederationToken":
		case op == "GetCallerIdentity", !full:
			return nil
		case op == "AssumeRole" && id.IssuedBy != issuedByFederationToken:
			// A federated user may call no STS operation but
			// GetCallerIdentity (STS API reference, GetFederationToken).
			return nil
		}
		// STS's answer, e.g. "Cannot call GetSessionToken with session
		// credentials" (recorded in aws/aws-sdk-net#1704 and, for
		// GetFederationToken, hashicorp/vault#4108).
		return wire.Errorf("AccessDenied", 403, "Cannot call %s with session credentials", op)
	case "iam":
		// GetSessionToken credentials with MFA may call IAM (STS API
		// reference, GetSessionToken).
		if full && !(id.IssuedBy == issuedByGetSessionToken && !id.MFA.IsZero()) {
			// IAM answers as for an unknown token (aws/aws-cli#8918: IAM's
			// error document; 99designs/aws-vault#1056; cloudyr/aws.iam#15).
			return wire.Errorf("InvalidClientTokenId", 403, "The security token included in the request is invalid")
		}
	}
	return nil
}
