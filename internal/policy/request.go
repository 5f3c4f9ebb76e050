package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// PrincipalType says what kind of caller a Request comes from. The zero value
// is invalid.
type PrincipalType uint8

const (
	// AWSPrincipal is an IAM identity: the account root user, an IAM user, an
	// assumed-role session or a federated-user session. Principal.ARN is its
	// ARN.
	AWSPrincipal PrincipalType = iota + 1
	// ServicePrincipal is an AWS service acting for itself;
	// Principal.ARN is the service principal name, e.g. "kms.amazonaws.com".
	ServicePrincipal
	// FederatedPrincipal is a web identity or SAML caller of a trust policy;
	// Principal.ARN is the provider, e.g. "accounts.google.com" or the
	// saml-provider ARN.
	FederatedPrincipal
	// CanonicalUserPrincipal is an S3 canonical user id.
	CanonicalUserPrincipal
	// AnonymousPrincipal is an unauthenticated caller; only "*" covers it.
	AnonymousPrincipal
)

func (t PrincipalType) String() string {
	switch t {
	case AWSPrincipal:
		return "AWS"
	case ServicePrincipal:
		return "Service"
	case FederatedPrincipal:
		return "Federated"
	case CanonicalUserPrincipal:
		return "CanonicalUser"
	case AnonymousPrincipal:
		return "Anonymous"
	}
	return fmt.Sprintf("PrincipalType(%d)", uint8(t))
}

// ParsePrincipalType parses the wire names String returns.
func ParsePrincipalType(s string) (PrincipalType, error) {
	for t := AWSPrincipal; t <= AnonymousPrincipal; t++ {
		if strings.EqualFold(s, t.String()) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("policy: unknown principal type %q", s)
}

// Principal is the authenticated caller.
type Principal struct {
	Type PrincipalType
	// ARN identifies the caller: for AWSPrincipal an ARN such as
	// arn:aws:iam::111122223333:user/Alice,
	// arn:aws:sts::111122223333:assumed-role/Admin/session or
	// arn:aws:iam::111122223333:root; for other types the identifier
	// described on the type.
	ARN string
	// Account is the caller's 12-digit account id (AWSPrincipal only).
	Account string
	// ID is the unique id of the IAM entity behind the caller (AWSPrincipal
	// only): the user's (AIDA…) for an IAM user, the role's (AROA…) for a
	// role and its sessions, empty otherwise. Principals bound to unique ids
	// (Options.Bound) and unique ids written in a policy match only callers
	// with that id.
	ID string
}

// Request is everything a policy can look at. It is a plain value: the caller
// fills it in, the package never reads the clock or any other ambient state.
// A Request must not be modified while an evaluation uses it.
type Request struct {
	Principal Principal
	Action    string // "kms:Encrypt"; matched without regard to case
	Resource  string // the resource ARN; matched case-sensitively
	// Time is the request time. When Keys has no aws:CurrentTime or
	// aws:EpochTime, Date and Numeric conditions on those keys use Time; the
	// zero Time means the keys are absent.
	Time time.Time
	// Keys holds the request context keys. Names must be lower case (use
	// Keys.Set or NewKeys); see Keys.
	Keys Keys
	// More are further layers of keys, consulted in order when Keys lacks a
	// name: callers keep the keys that belong to the principal or to the
	// resource in layers built once and shared, so that a request builds only
	// its own few keys.
	More []Keys
	// List holds keys as a list, consulted before Keys: what a request
	// builds anew each time (its encryption context, its algorithm) costs
	// less as a list than as a map, and is looked up by a scan of a few
	// names. A name must not appear in both List and Keys.
	List KeyList
}

// Values returns the values of a lower-case key name: from List, else from
// Keys, else from the first layer of More that has it. For a key that SetOne made ambiguous
// they are its alternatives.
func (r *Request) Values(name string) []string {
	v, _ := r.lookup(name)
	return v
}

// lookup is Values that also says, for an ambiguous single-valued key
// (SetOne), where it is: its place in its layer's list of ambiguous keys
// and its layer (0 for Keys, i+1 for More[i], len(More)+1 for List, where
// the place is the key's index in the list), as one number; -1 for any
// other key. Evaluation identifies the key by this number rather than its
// name so that nothing it records points into the Request.
func (r *Request) lookup(name string) ([]string, int) {
	layers := len(r.More) + 2
	for i := range r.List {
		if k := &r.List[i]; k.Name == name {
			if k.ambiguous {
				return k.Values, i*layers + layers - 1
			}
			return k.Values, -1
		}
	}
	if v, ok := r.Keys[name]; ok {
		return v, r.Keys.ambiguity(name, v, 0, layers)
	}
	for i, l := range r.More {
		if v, ok := l[name]; ok {
			return v, l.ambiguity(name, v, i+1, layers)
		}
	}
	return nil, -1
}

// KeyList is a layer of condition keys kept as a list (Request.List). Names
// are lower case and appear once; build it with Add and SetOne, which keep
// Keys's rules: SetOne makes names that differ only in case one ambiguous
// key.
type KeyList []ListedKey

// ListedKey is one key of a KeyList.
type ListedKey struct {
	Name   string
	Values []string
	// ambiguous: SetOne was given two values for the name; Values are the
	// alternatives, sorted.
	ambiguous bool
}

// Add appends a value to a key, as Keys.Add does; name must be lower case.
func (l KeyList) Add(name, value string) KeyList {
	for i := range l {
		if k := &l[i]; k.Name == name {
			// A fresh slice: the old one may share its array.
			k.Values = append(slices.Clip(k.Values), value)
			return l
		}
	}
	return append(l, ListedKey{Name: name, Values: []string{value}})
}

// SetOne sets a single-valued key whose name the request supplies, as
// Keys.SetOne does; name must be lower case. vals is a backing store for
// the values of new keys: SetOne appends value to it and returns it, so
// that a caller building many keys allocates their values once.
func (l KeyList) SetOne(vals []string, name, value string) (KeyList, []string) {
	for i := range l {
		k := &l[i]
		if k.Name != name {
			continue
		}
		if slices.Contains(k.Values, value) {
			return l, vals
		}
		// A fresh slice: the old one may share its array.
		v := append(slices.Clip(k.Values), value)
		slices.Sort(v)
		k.Values, k.ambiguous = v, true
		return l, vals
	}
	vals = append(vals, value)
	return append(l, ListedKey{Name: name, Values: vals[len(vals)-1 : len(vals) : len(vals)]}), vals
}

// Keys maps lower-case condition key names to their values. A key with
// several values is multivalued (reference_policies_single-vs-multi-valued-condition-keys.md).
// A key with no entry, or with an empty list, is absent.
//
// Names are lower case because AWS matches key names without regard to case
// (reference_policies_elements_condition.md) and lower-casing once when the
// request is built keeps evaluation free of allocations. Values keep their
// case. For BinaryEquals the value holds the raw bytes, not base64.
type Keys map[string][]string

// NewKeys builds Keys from name/value pairs, lower-casing the names. A name
// repeated adds values to the key.
func NewKeys(pairs ...string) Keys {
	if len(pairs)%2 != 0 {
		panic("policy.NewKeys: odd number of arguments")
	}
	k := make(Keys, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k.Add(pairs[i], pairs[i+1])
	}
	return k
}

// Set replaces the values of a key; name is lower-cased.
func (k Keys) Set(name string, values ...string) {
	k[strings.ToLower(name)] = values
}

// Add appends values to a key; name is lower-cased.
func (k Keys) Add(name string, values ...string) {
	n := strings.ToLower(name)
	k[n] = append(k[n], values...)
}

// SetOne sets a single-valued key whose name the request supplies with its
// case intact: an encryption context key (kms:EncryptionContext:<key>), a tag
// key (aws:RequestTag/<key>, aws:ResourceTag/<key>, aws:PrincipalTag/<key>).
// Policies match key names without regard to case, so names that differ only
// in case ({"tenant":"B","TENANT":"A"}) are one key with two candidate values
// (reference_policies_elements_condition.md: "the key name matches both tags,
// but only one value matches"). SetOne keeps every distinct value, sorted,
// and marks the key ambiguous; evaluation then decides under each choice of
// value and fails closed: a Deny statement applies if it applies under any
// choice, an Allow statement only if it applies under every choice (see
// evalCtx.choose). Set, in contrast, would let the last value win, which for
// values taken from a Go map is a coin toss.
func (k Keys) SetOne(name, value string) {
	n := strings.ToLower(name)
	old, ok := k[n]
	if !ok {
		k[n] = []string{value}
		return
	}
	if slices.Contains(old, value) {
		return
	}
	// A fresh slice: the old one may be shared with another Keys.
	vals := append(slices.Clip(old), value)
	slices.Sort(vals)
	k[n] = vals
	// A key SetOne gave one value becomes ambiguous now; only a key of
	// several values is looked up in the list, so that a request naming
	// thousands of keys in two cases costs no scan of the list per key.
	if len(old) == 1 || !k.ambiguous(n) {
		k[ambiguousEntry] = append(k[ambiguousEntry], n)
	}
}

// ambiguousEntry is the entry of a Keys that lists its ambiguous keys (SetOne).
// No condition key can have this name: those begin with a service prefix.
const ambiguousEntry = "\x00ambiguous"

func (k Keys) ambiguous(name string) bool {
	return slices.Contains(k[ambiguousEntry], name)
}

// ambiguity returns the place of an ambiguous key in layer number layer of
// layers (see Request.lookup), or -1.
func (k Keys) ambiguity(name string, vals []string, layer, layers int) int {
	if len(vals) < 2 {
		return -1
	}
	if i := slices.Index(k[ambiguousEntry], name); i >= 0 {
		return i*layers + layer
	}
	return -1
}

// Get returns the values of a key, matching the name without regard to case.
func (k Keys) Get(name string) []string {
	if v, ok := k[name]; ok {
		return v
	}
	return k[strings.ToLower(name)]
}
