package customkeystore

import (
	"encoding/json"
	"fmt"
	"time"
)

// Store types (CustomKeyStoreType) and connection states (ConnectionState).
const (
	TypeCloudHSM = "AWS_CLOUDHSM"
	TypeExternal = "EXTERNAL_KEY_STORE"

	Connected    = "CONNECTED"
	Disconnected = "DISCONNECTED"
	Failed       = "FAILED"
)

// Record is a custom key store as stored, under Path.
type Record struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Account     string    `json:"account"`
	Region      string    `json:"region"`
	Type        string    `json:"type"`
	ClusterID   string    `json:"clusterId"`
	TrustAnchor string    `json:"trustAnchor"`
	Created     time.Time `json:"created"`
	// Password is the key store password sealed with the root key, with
	// PasswordAAD as associated data.
	Password []byte `json:"password"`
	// State is CONNECTED, DISCONNECTED or FAILED: what the last Connect or
	// Disconnect asked for and got. ErrorCode says why a connection FAILED.
	State     string `json:"state"`
	ErrorCode string `json:"errorCode,omitempty"`

	// External key stores (xks.go): the proxy's XksProxyUriEndpoint,
	// XksProxyUriPath, XksProxyConnectivity and credential, whose secret is
	// sealed with the root key, with XKSSecretAAD as associated data.
	XksEndpoint     string `json:"xksEndpoint,omitempty"`
	XksPath         string `json:"xksPath,omitempty"`
	XksConnectivity string `json:"xksConnectivity,omitempty"`
	XksAccessKeyID  string `json:"xksAccessKeyId,omitempty"`
	XksSecret       []byte `json:"xksSecret,omitempty"`
}

// Path is where a store's record is, among its account's KMS records.
func Path(account, region, id string) string {
	return "acct/" + account + "/kms/" + region + "/keystores/" + id
}

// PasswordAAD is the associated data a store's password is sealed with.
func PasswordAAD(account, region, id string) []byte {
	return []byte("custom key store password|" + account + "|" + region + "|" + id)
}

// XKSSecretAAD is the associated data an external store's proxy secret is
// sealed with.
func XKSSecretAAD(account, region, id string) []byte {
	return []byte("external key store secret|" + account + "|" + region + "|" + id)
}

func marshal(r *Record) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		// A Record always marshals.
		panic(fmt.Sprintf("customkeystore: marshal: %v", err))
	}
	return b
}

// VisitSealed rewraps the blobs a store record holds sealed under the root
// key (the password and the proxy secret) with fn, for root key rotation
// (kms.VisitSealed): ok is false when the record holds none. The record is
// written back with its own type, so every field stays as it was.
func VisitSealed(value []byte, fn func(sealed, ad []byte) ([]byte, error)) (out []byte, ok bool, err error) {
	var rec Record
	if err := json.Unmarshal(value, &rec); err != nil {
		return nil, false, fmt.Errorf("customkeystore: undecodable record: %w", err)
	}
	if rec.Password == nil && rec.XksSecret == nil {
		return nil, false, nil
	}
	if rec.Password != nil {
		if rec.Password, err = fn(rec.Password, PasswordAAD(rec.Account, rec.Region, rec.ID)); err != nil {
			return nil, true, err
		}
	}
	if rec.XksSecret != nil {
		if rec.XksSecret, err = fn(rec.XksSecret, XKSSecretAAD(rec.Account, rec.Region, rec.ID)); err != nil {
			return nil, true, err
		}
	}
	return marshal(&rec), true, nil
}
