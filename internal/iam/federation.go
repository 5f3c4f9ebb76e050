package iam

import (
	"strings"
	"time"
)

// Federation records: identity providers that STS trusts and the MFA
// devices it checks codes of. They live under the account like the other
// IAM entities:
//
//	acct/<account>/iam/oidc-providers/<host/path>  an OIDC provider (the URL as given, without https://)
//	acct/<account>/iam/saml-providers/<lower name> a SAML provider
//	acct/<account>/iam/mfa/<lower name>             a virtual MFA device (its seed sealed)
const (
	oidcDir = "oidc-providers"
	samlDir = "saml-providers"
	mfaDir  = "mfa"
)

// fedView holds the federation records of the view, by account/<name>.
type fedView struct {
	oidc map[string]*OIDCProvider
	saml map[string]*SAMLProvider
	mfa  map[string]*MFADevice
}

func (v *view) federation() *fedView {
	if v.fed == nil {
		v.fed = &fedView{oidc: map[string]*OIDCProvider{}, saml: map[string]*SAMLProvider{}, mfa: map[string]*MFADevice{}}
	}
	return v.fed
}

// applyFederation puts or deletes a federation record; other kinds of
// records under acct/<account>/iam/ are not the view's.
func (v *view) applyFederation(dir, idx string, value []byte) error {
	switch dir {
	case oidcDir:
		return put(v.federation().oidc, idx, value)
	case samlDir:
		return put(v.federation().saml, idx, value)
	case mfaDir:
		return put(v.federation().mfa, idx, value)
	}
	return nil
}

func fedKey(account, dir, name string) string {
	return accountsPrefix + account + "/iam/" + dir + "/" + name
}

// OIDCProvider is an IAM OpenID Connect identity provider.
type OIDCProvider struct {
	URL         string    `json:"url"` // https://host[/path], the issuer
	ClientIDs   []string  `json:"clientIds,omitempty"`
	Thumbprints []string  `json:"thumbprints,omitempty"`
	Created     time.Time `json:"created"`
	Tags        []Tag     `json:"tags,omitempty"`
	// Keys is the issuer's JWKS as the operator configured it, for sites
	// that cannot reach the issuer; empty: the keys are discovered.
	Keys string `json:"keys,omitempty"`
}

// SAMLProvider is an IAM SAML identity provider.
type SAMLProvider struct {
	Name     string    `json:"name"`
	Metadata string    `json:"metadata"` // the IdP's SAML metadata document
	Created  time.Time `json:"created"`
	Valid    time.Time `json:"validUntil"`
	Tags     []Tag     `json:"tags,omitempty"`
	// UUID is the provider's SAMLProviderUUID.
	UUID string `json:"uuid"`
}

// MFADevice is a virtual MFA device.
type MFADevice struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Seed    []byte    `json:"seed"` // sealed
	Tags    []Tag     `json:"tags,omitempty"`
	// The user it is enabled for (unique id too), and when.
	UserName string    `json:"userName,omitempty"`
	UserID   string    `json:"userId,omitempty"`
	Enabled  time.Time `json:"enabled,omitzero"`
	// LastStep is the TOTP time step of the last code accepted: a code is
	// accepted once, and none of an earlier step after it.
	LastStep int64 `json:"lastStep,omitempty"`
	// Drift is how many steps the device's clock is off, as the codes of
	// EnableMFADevice or ResyncMFADevice showed.
	Drift int64 `json:"drift,omitempty"`
}

// oidcHostPath is a provider URL without its scheme: how ARNs and
// condition keys name the provider.
func oidcHostPath(url string) string { return strings.TrimPrefix(url, "https://") }

// OIDCProviderARN is the ARN of the provider with a URL.
func OIDCProviderARN(account, url string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + oidcHostPath(url)
}

// SAMLProviderARN is the ARN of a SAML provider.
func SAMLProviderARN(account, name string) string {
	return "arn:aws:iam::" + account + ":saml-provider/" + name
}

// MFADeviceARN is the serial number of a virtual MFA device.
func MFADeviceARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":mfa" + path + name
}
