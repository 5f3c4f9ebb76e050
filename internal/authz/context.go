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
	// ViaService is the registered service that forwarded the caller's own
	// signed request (kms:ViaService, aws:CalledVia).
	ViaService string
	// SourceARN and SourceAccount are what a service acting for itself says
	// it acts for (aws:SourceArn, aws:SourceAccount); SourceOrgID and
	// SourceOrgPath the organization and path of SourceAccount, when it is
	// in one (aws:SourceOrgID, aws:SourceOrgPaths).
	SourceARN, SourceAccount   string
	SourceOrgID, SourceOrgPath string
	// UserAgent and Referer are the request's HTTP User-Agent and Referer
	// headers (aws:UserAgent, aws:referer), when present.
	UserAgent, Referer string
}

// GlobalKeys returns the aws: condition keys every request carries, each
// present only when AWS would present it (IAM User Guide, AWS global condition
// context keys): the caller's, and the request's.
func GlobalKeys(id *Identity, r Request) policy.Keys {
	k := policy.Keys{}
	for n, v := range id.Keys() {
		k[n] = v
	}
	for n, v := range RequestKeys(r) {
		k[n] = v
	}
	for n, v := range TimeKeys(id, r.Time) {
		k[n] = v
	}
	return k
}

// TimeKeys returns the caller's keys that depend on the request's time:
// aws:MultiFactorAuthAge, the seconds since MFA authenticated the session
// (present only then; IAM User Guide, aws:MultiFactorAuthAge). nil when
// there are none.
func TimeKeys(id *Identity, t time.Time) policy.Keys {
	if id.MFA.IsZero() || t.IsZero() {
		return nil
	}
	age := int64(t.Sub(id.MFA) / time.Second)
	if age < 0 {
		age = 0
	}
	return policy.Keys{"aws:multifactorauthage": {strconv.FormatInt(age, 10)}}
}

// Keys returns the condition keys that describe the caller, built once per
// Identity and shared (callers must not change the map): aws:PrincipalArn,
// aws:PrincipalAccount, aws:PrincipalType, aws:userid, aws:username,
// aws:PrincipalTag/*, the session keys, and kms:CallerAccount.
func (id *Identity) Keys() policy.Keys {
	id.keysOnce.Do(func() {
		if id.Type == ServiceType {
			id.keys = policy.Keys{
				"aws:principalservicename":      {id.ARN},
				"aws:principalservicenameslist": {id.ARN},
				"aws:principalisawsservice":     {"true"},
				"aws:principaltype":             {"Service"},
			}
			return
		}
		k := policy.Keys{
			"aws:principalarn":          {principalARN(id)},
			"aws:principalaccount":      {id.Account},
			"aws:principaltype":         {id.Type.String()},
			"aws:userid":                {id.UserID},
			"aws:principalisawsservice": {"false"},
			"aws:viaawsservice":         {"false"},
			"kms:calleraccount":         {id.Account},
		}
		if id.Type == UserType {
			k["aws:username"] = []string{id.Name}
		}
		if len(id.OrgPaths) > 0 {
			k["aws:principalorgpaths"] = id.OrgPaths
		}
		for tk, tv := range id.Tags {
			// Tags that differ only in case (a role's Team and a
			// session's team) are one ambiguous key, not a value
			// chosen by map order (policy.Keys.SetOne).
			k.SetOne("aws:PrincipalTag/"+tk, tv)
		}
		if id.Temporary {
			k["aws:tokenissuetime"] = []string{id.Issued.UTC().Format(time.RFC3339)}
			k["aws:multifactorauthpresent"] = []string{strconv.FormatBool(!id.MFA.IsZero())}
			if id.SourceIdentity != "" {
				k["aws:sourceidentity"] = []string{id.SourceIdentity}
			}
			if id.FederatedProvider != "" {
				k["aws:federatedprovider"] = []string{id.FederatedProvider}
			}
			for n, v := range id.FederationKeys {
				k[n] = v
			}
		}
		id.keys = k
	})
	return id.keys
}

// RequestKeys returns the condition keys that describe the request itself:
// aws:SecureTransport, aws:SourceIp (or, through a VPC endpoint,
// aws:SourceVpce, aws:SourceVpc and aws:VpcSourceIp), aws:RequestedRegion,
// aws:PrincipalOrgID, the keys of a forwarding or acting service
// (kms:ViaService, aws:CalledVia…, aws:SourceArn, aws:SourceAccount,
// aws:SourceOrgID, aws:SourceOrgPaths), aws:UserAgent and aws:referer.
func RequestKeys(r Request) policy.Keys {
	k := make(policy.Keys, 5)
	if r.SecureTransport {
		k["aws:securetransport"] = trueValue
	} else {
		k["aws:securetransport"] = falseValue
	}
	switch {
	case r.SourceVpce != "":
		k["aws:sourcevpce"] = []string{r.SourceVpce}
		k["aws:sourcevpc"] = []string{r.SourceVpc}
		if r.SourceIP != "" {
			k["aws:vpcsourceip"] = []string{r.SourceIP}
		}
	case r.SourceIP != "":
		k["aws:sourceip"] = []string{r.SourceIP}
	}
	if r.Region != "" {
		k["aws:requestedregion"] = []string{r.Region}
	}
	if r.OrgID != "" {
		k["aws:principalorgid"] = []string{r.OrgID}
	}
	if r.ViaService != "" {
		k["kms:viaservice"] = []string{r.ViaService}
		k["aws:calledvia"] = []string{r.ViaService}
		k["aws:calledviafirst"] = []string{r.ViaService}
		k["aws:calledvialast"] = []string{r.ViaService}
		k["aws:viaawsservice"] = trueValue
	}
	if r.SourceARN != "" {
		k["aws:sourcearn"] = []string{r.SourceARN}
	}
	if r.SourceAccount != "" {
		k["aws:sourceaccount"] = []string{r.SourceAccount}
	}
	if r.SourceOrgID != "" {
		k["aws:sourceorgid"] = []string{r.SourceOrgID}
		k["aws:sourceorgpaths"] = []string{r.SourceOrgPath}
	}
	if r.UserAgent != "" {
		k["aws:useragent"] = []string{r.UserAgent}
	}
	if r.Referer != "" {
		k["aws:referer"] = []string{r.Referer}
	}
	return k
}

// Shared one-value lists; policy evaluation never changes key values.
var (
	trueValue  = []string{"true"}
	falseValue = []string{"false"}
)

// principalARN is aws:PrincipalArn: for a role session, the role's ARN, not
// the session's (IAM User Guide, aws:PrincipalArn).
func principalARN(id *Identity) string {
	if id.Type == AssumedRoleType && id.RoleARN != "" {
		return id.RoleARN
	}
	return id.ARN
}
