package authz

import (
	"strings"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/policy"
)

// PrincipalType is the kind of identity behind a request; String gives the
// value of aws:PrincipalType.
type PrincipalType uint8

const (
	RootType PrincipalType = iota + 1
	UserType
	AssumedRoleType
	// ServiceType is a registered service acting for itself; its ARN is the
	// service principal name (e.g. backup.example.internal).
	ServiceType
	// FederatedUserType is a federated user session of GetFederationToken
	// (arn:aws:sts::ACCOUNT:federated-user/NAME).
	FederatedUserType
)

func (t PrincipalType) String() string {
	switch t {
	case RootType:
		return "Account"
	case UserType:
		return "User"
	case AssumedRoleType:
		return "AssumedRole"
	case ServiceType:
		return "Service"
	case FederatedUserType:
		return "FederatedUser"
	}
	return "Unknown"
}

// Principal is who signed a request.
type Principal struct {
	Account     string
	ARN         string
	Type        PrincipalType
	UserID      string // aws:userid: the account id for root, AIDA… for a user, AROA…:session for a role session
	Name        string // aws:username for users; the role name for sessions
	AccessKeyID string
}

// Identity is everything authorization needs to know about a caller. It is
// immutable once built.
type Identity struct {
	Principal
	// Tags are aws:PrincipalTag values: the user's or role's tags, overridden
	// by session tags.
	Tags map[string]string
	// Policies are the identity-based policies: inline and attached, and for
	// users those of their groups. Root needs none: it may do everything in
	// its own account.
	Policies []*policy.Policy
	// Boundary is the permissions boundary, or nil.
	Boundary *policy.Policy
	// SCPs are the service control policies that apply to the caller's
	// account, one Guardrail per level of the organization (root, OUs,
	// account): each level must allow a request and none may deny it.
	// Empty outside an organization, while SCPs are not enabled, for the
	// management account and for service-linked roles, which SCPs never
	// limit (Organizations User Guide, SCP effects on permissions).
	SCPs []Guardrail
	// ServiceLinked marks a session of a service-linked role, which
	// neither SCPs nor RCPs limit.
	ServiceLinked bool
	// OrgPaths are the caller's account's paths in its organization
	// (aws:PrincipalOrgPaths: o-…/r-…/ou-…/, its parent last); nil outside
	// one.
	OrgPaths []string
	// SessionPolicies narrow a session: when HasSessionPolicy is set, an
	// identity-based allow counts only if one of these allows too.
	SessionPolicies  []*policy.Policy
	HasSessionPolicy bool
	// For temporary credentials.
	Temporary bool
	// IssuedBy is the STS operation that issued temporary credentials
	// ("AssumeRole", "GetSessionToken"): what the credentials may call
	// depends on it (iam.CheckCredentialScope). Empty for long-term keys.
	IssuedBy          string
	RoleARN           string
	Issued, Expires   time.Time
	SourceIdentity    string
	TransitiveTagKeys []string
	// FederatedProvider is the identity provider that authenticated a
	// federated role session (aws:FederatedProvider), and FederationKeys
	// the provider's condition keys the session carries into every request
	// (IAM User Guide, reference_policies_iam-condition-keys: cross-service
	// web identity and SAML keys). Lower-case names.
	FederatedProvider string
	FederationKeys    map[string][]string
	// MFA is when an MFA code authenticated the session; zero: never
	// (aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge).
	MFA time.Time

	keysOnce sync.Once
	keys     policy.Keys
}

// PolicyPrincipal is the caller as policy evaluation matches it against
// Principal elements: an AWS principal, or a service principal. An IAM user
// carries its unique id and a role session its role's, which is what saved
// policies bind user and role ARNs to (policy.Options.Bound).
func (id *Identity) PolicyPrincipal() policy.Principal {
	if id.Type == ServiceType {
		return policy.Principal{Type: policy.ServicePrincipal, ARN: id.ARN}
	}
	return policy.Principal{Type: policy.AWSPrincipal, ARN: id.ARN, Account: id.Account, ID: id.EntityID()}
}

// EntityID is the unique id of the IAM entity behind the caller: the user's
// (AIDA…) for an IAM user and its GetSessionToken sessions, the role's
// (AROA…) for a role session, whose UserID is "AROA…:session-name"; empty
// for the root user and services, which no policy binds.
func (id *Identity) EntityID() string {
	switch id.Type {
	case UserType:
		return id.UserID
	case AssumedRoleType:
		role, _, _ := strings.Cut(id.UserID, ":")
		return role
	}
	return ""
}
