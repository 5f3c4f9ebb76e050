package authz

import (
	"strconv"
	"time"

	"github.com/trentkms/trent/internal/policy"
)

// Request is what authorization knows of the request itself, beyond the caller.
type Request struct {
	Time            time.Time
	SourceIP        string // the client's address; aws:SourceIp only outside a VPC endpoint
	SecureTransport bool
	Region          string // aws:RequestedRegion
	OrgID           string // the caller's aws:PrincipalOrgID, if its account is in the organization
	// Through a VPC endpoint: its id and network (aws:SourceVpce,
	// aws:SourceVpc) and its policy, which must allow the request too.
	SourceVpce, SourceVpc string
	Endpoint              *policy.Policy
}

// GlobalKeys returns the aws: condition keys every request carries, each
// present only when AWS would present it (IAM User Guide, AWS global condition
// context keys).
func GlobalKeys(id *Identity, r Request) policy.Keys {
	k := policy.Keys{}
	k.Set("aws:PrincipalArn", principalARN(id))
	k.Set("aws:PrincipalAccount", id.Account)
	k.Set("aws:PrincipalType", id.Type.String())
	k.Set("aws:userid", id.UserID)
	k.Set("aws:PrincipalIsAWSService", "false")
	k.Set("aws:ViaAWSService", "false")
	k.Set("aws:SecureTransport", strconv.FormatBool(r.SecureTransport))
	if id.Type == UserType {
		k.Set("aws:username", id.Name)
	}
	for tk, tv := range id.Tags {
		k.Set("aws:PrincipalTag/"+tk, tv)
	}
	switch {
	case r.SourceVpce != "":
		// Through a VPC endpoint AWS gives the endpoint and network, and the
		// client's private address only as aws:VpcSourceIp.
		k.Set("aws:SourceVpce", r.SourceVpce)
		k.Set("aws:SourceVpc", r.SourceVpc)
		if r.SourceIP != "" {
			k.Set("aws:VpcSourceIp", r.SourceIP)
		}
	case r.SourceIP != "":
		k.Set("aws:SourceIp", r.SourceIP)
	}
	if r.Region != "" {
		k.Set("aws:RequestedRegion", r.Region)
	}
	if r.OrgID != "" {
		k.Set("aws:PrincipalOrgID", r.OrgID)
	}
	if id.Temporary {
		k.Set("aws:TokenIssueTime", id.Issued.UTC().Format(time.RFC3339))
		k.Set("aws:MultiFactorAuthPresent", "false")
		if id.SourceIdentity != "" {
			k.Set("aws:SourceIdentity", id.SourceIdentity)
		}
	}
	return k
}

// principalARN is aws:PrincipalArn: for a role session, the role's ARN, not
// the session's (IAM User Guide, aws:PrincipalArn).
func principalARN(id *Identity) string {
	if id.Type == AssumedRoleType && id.RoleARN != "" {
		return id.RoleARN
	}
	return id.ARN
}
