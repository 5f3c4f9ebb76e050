package iam

import (
	"strings"
	"time"
)

// Store layout. Names of users, groups, roles and policies are unique in an
// account without regard to case, as in AWS, so their paths use the lower-case
// name and the record keeps the name as given.
const (
	accountsPrefix   = "acct/"
	accessKeysPrefix = "iam/accesskeys/"
	sessionsPrefix   = "sts/sessions/"
	orgKey           = "org/organization"
)

func accountKey(id string) string { return accountsPrefix + id + "/account" }

func entityKey(account string, kind entityKind, name string) string {
	return accountsPrefix + account + "/iam/" + kind.dir() + "/" + strings.ToLower(name)
}

type entityKind uint8

const (
	userKind entityKind = iota + 1
	groupKind
	roleKind
	policyKind
)

func (k entityKind) dir() string {
	switch k {
	case userKind:
		return "users"
	case groupKind:
		return "groups"
	case roleKind:
		return "roles"
	case policyKind:
		return "policies"
	}
	panic("iam: unknown entity kind")
}

// Account is one AWS account.
type Account struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Email   string    `json:"email,omitempty"`
	Created time.Time `json:"created"`
	// Joined says how it entered the organization: CREATED (by CreateAccount)
	// or empty for the first account, which founds it.
	Joined string `json:"joined,omitempty"`
}

// Organization is the one AWS Organization of a Trent deployment.
type Organization struct {
	ID                string    `json:"id"` // o-xxxxxxxxxx
	ManagementAccount string    `json:"managementAccount"`
	FeatureSet        string    `json:"featureSet"`
	Created           time.Time `json:"created"`
	// Requests are the CreateAccount requests made, newest last.
	Requests []CreateAccountStatus `json:"requests,omitempty"`
	// Root is the organization's root (orgrecords.go); nil in records
	// stored before roots were (rootOf).
	Root *OrgRoot `json:"root,omitempty"`
}

// CreateAccountStatus is the record of one CreateAccount request.
type CreateAccountStatus struct {
	ID          string    `json:"id"` // car-…
	AccountName string    `json:"accountName"`
	AccountID   string    `json:"accountId"`
	State       string    `json:"state"`
	Requested   time.Time `json:"requested"`
	Completed   time.Time `json:"completed"`
}

// Tag is an IAM tag.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// User is an IAM user.
type User struct {
	Name     string            `json:"name"`
	Path     string            `json:"path"`
	ID       string            `json:"id"` // AIDA…
	Created  time.Time         `json:"created"`
	Tags     []Tag             `json:"tags,omitempty"`
	Inline   map[string]string `json:"inline,omitempty"`   // policy name → document
	Attached []string          `json:"attached,omitempty"` // managed policy ARNs
	Boundary string            `json:"boundary,omitempty"` // managed policy ARN
	Groups   []string          `json:"groups,omitempty"`   // group names
}

// Group is an IAM group.
type Group struct {
	Name     string            `json:"name"`
	Path     string            `json:"path"`
	ID       string            `json:"id"` // AGPA…
	Created  time.Time         `json:"created"`
	Inline   map[string]string `json:"inline,omitempty"`
	Attached []string          `json:"attached,omitempty"`
}

// Role is an IAM role.
type Role struct {
	Name               string            `json:"name"`
	Path               string            `json:"path"`
	ID                 string            `json:"id"` // AROA…
	Created            time.Time         `json:"created"`
	TrustPolicy        string            `json:"trust"`
	Description        string            `json:"description,omitempty"`
	MaxSessionDuration int32             `json:"maxSession"` // seconds
	Tags               []Tag             `json:"tags,omitempty"`
	Inline             map[string]string `json:"inline,omitempty"`
	Attached           []string          `json:"attached,omitempty"`
	Boundary           string            `json:"boundary,omitempty"`
	// ServiceName is set on a service-linked role: the service that owns it.
	ServiceName string `json:"serviceName,omitempty"`
	// TrustBindings binds each user and role ARN the trust policy names, as
	// written, to the unique id of the entity it named when the policy was
	// saved ("" for none: an account this deployment does not hold); see
	// bind.go.
	TrustBindings map[string]string `json:"trustBindings,omitempty"`
}

// ManagedPolicy is a customer managed policy.
type ManagedPolicy struct {
	Name           string          `json:"name"`
	Path           string          `json:"path"`
	ID             string          `json:"id"` // ANPA…
	Description    string          `json:"description,omitempty"`
	Created        time.Time       `json:"created"`
	Updated        time.Time       `json:"updated"`
	DefaultVersion string          `json:"defaultVersion"`
	Versions       []PolicyVersion `json:"versions"`
	Tags           []Tag           `json:"tags,omitempty"`
	NextVersion    int             `json:"nextVersion"` // version numbers are never reused
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	ID       string    `json:"id"` // v1, v2, …
	Document string    `json:"document"`
	Created  time.Time `json:"created"`
}

// Default returns the default version's document.
func (p *ManagedPolicy) Default() string {
	for _, v := range p.Versions {
		if v.ID == p.DefaultVersion {
			return v.Document
		}
	}
	return ""
}

type accessKeyRecord struct {
	AccessKeyID string `json:"accessKeyId"`
	Account     string `json:"account"`
	UserName    string `json:"userName,omitempty"` // empty: the account's root
	// UserID is the unique id (AIDA…) of the user the key was made for: a
	// later user of the same name is another entity, whose key it is not.
	UserID string `json:"userId,omitempty"`
	// Service, when set, makes this the key of a registered service
	// principal; it belongs to no account.
	Service string    `json:"service,omitempty"`
	Status  string    `json:"status"`
	Created time.Time `json:"created"`
	Secret  []byte    `json:"secret"` // sealed
}

// belongsTo says whether a user's access key is one of u's. Keys stored
// before they recorded their user's unique id are u's unless older than u:
// then they were made for an earlier user of that name.
func (k *accessKeyRecord) belongsTo(u *User) bool {
	if k.UserID != "" {
		return k.UserID == u.ID
	}
	return !k.Created.Before(u.Created)
}

// sessionRecord is a set of temporary credentials issued by STS.
type sessionRecord struct {
	AccessKeyID string    `json:"accessKeyId"` // ASIA…
	Account     string    `json:"account"`
	Secret      []byte    `json:"secret"` // sealed
	Token       []byte    `json:"token"`  // sealed
	Issued      time.Time `json:"issued"`
	Expiration  time.Time `json:"expiration"`
	// For AssumeRole: the role and session name, and the role's unique id:
	// the session is of that role only, not of a role created later under
	// the same name.
	RoleName    string `json:"roleName,omitempty"`
	RoleID      string `json:"roleId,omitempty"`
	SessionName string `json:"sessionName,omitempty"`
	// For GetSessionToken: the user and its unique id (empty with RoleName
	// empty: root).
	UserName string `json:"userName,omitempty"`
	UserID   string `json:"userId,omitempty"`
	// Session policies narrow the session: an inline document and managed ARNs.
	Policy            string   `json:"policy,omitempty"`
	PolicyARNs        []string `json:"policyArns,omitempty"`
	Tags              []Tag    `json:"tags,omitempty"`
	TransitiveTagKeys []string `json:"transitiveTagKeys,omitempty"`
	SourceIdentity    string   `json:"sourceIdentity,omitempty"`
	// SourceAccount and SourceARN are the caller that assumed the role.
	SourceARN string `json:"sourceArn,omitempty"`
	// IssuedBy is the STS operation that issued the credentials, which
	// decides what they may call (CheckCredentialScope).
	IssuedBy string `json:"issuedBy,omitempty"`
	// For a federated identity's role session (AssumeRoleWithWebIdentity,
	// AssumeRoleWithSAML): the provider (aws:FederatedProvider) and the
	// provider's condition keys that every request of the session carries
	// (<provider>:sub, saml:sub, …; federation.go).
	FederatedProvider string              `json:"federatedProvider,omitempty"`
	FederationKeys    map[string][]string `json:"federationKeys,omitempty"`
	// MFA is when an MFA code was checked for the session (zero: none):
	// aws:MultiFactorAuthPresent and aws:MultiFactorAuthAge.
	MFA time.Time `json:"mfa,omitzero"`
	// For GetFederationToken: the federated user's name; the session's
	// permissions are its user's (UserName) and its session policies'.
	FederatedUser string `json:"federatedUser,omitempty"`
}

// STS operations that issue temporary credentials.
const (
	issuedByAssumeRole      = "AssumeRole"
	issuedByGetSessionToken = "GetSessionToken"
)

// issuer is the STS operation that issued the session. Sessions stored
// before IssuedBy was recorded are told apart by their role: only
// AssumeRole names one.
func (s *sessionRecord) issuer() string {
	switch {
	case s.IssuedBy != "":
		return s.IssuedBy
	case s.RoleName != "":
		return issuedByAssumeRole
	}
	return issuedByGetSessionToken
}
