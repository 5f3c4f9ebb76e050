package kms

// Custom key stores of type AWS_CLOUDHSM, over the PKCS#11 tokens the
// operator configured as clusters (package keystore). Key material of keys in
// such a store is generated in the token and never leaves it; the view loads
// it as keys.Symmetric material whose AES-GCM is a call into the token, so
// the cryptographic operations are the same code as for other keys.
//
// Connection state is per store (the record) and per node (the open token):
// the node that handles ConnectCustomKeyStore or DisconnectCustomKeyStore
// logs in or out at once; other nodes, and this one after a restart, follow
// the record when Run starts and at every Tick.

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/keystore"
	"github.com/trentkms/trent/internal/keystore/xks"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// RoleMaker creates KMS's service-linked roles for a caller, unless they
// exist; the caller needs iam:CreateServiceLinkedRole for that:
// AWSServiceRoleForKeyManagementServiceCustomKeyStores when creating a key
// store, AWSServiceRoleForKeyManagementServiceMultiRegionKeys when creating
// a multi-Region primary key.
type RoleMaker interface {
	EnsureCustomKeyStoreRole(ctx context.Context, id *authz.Identity, r authz.Request) error
	EnsureMultiRegionKeyRole(ctx context.Context, id *authz.Identity, r authz.Request) error
}

const (
	storeTypeCloudHSM = "AWS_CLOUDHSM"
	storeTypeExternal = "EXTERNAL_KEY_STORE"

	connConnected    = "CONNECTED"
	connDisconnected = "DISCONNECTED"
	connFailed       = "FAILED"
)

// keyStoreRecord is a custom key store as stored.
type keyStoreRecord struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Account     string    `json:"account"`
	Region      string    `json:"region"`
	Type        string    `json:"type"`
	ClusterID   string    `json:"clusterId"`
	TrustAnchor string    `json:"trustAnchor"`
	Created     time.Time `json:"created"`
	// Password is the key store password sealed with the root key, with
	// storePasswordAAD as associated data.
	Password []byte `json:"password"`
	// State is CONNECTED, DISCONNECTED or FAILED: what the last Connect or
	// Disconnect asked for and got. ErrorCode says why a connection FAILED.
	State     string `json:"state"`
	ErrorCode string `json:"errorCode,omitempty"`

	// External key stores (xks.go): the proxy's XksProxyUriEndpoint,
	// XksProxyUriPath, XksProxyConnectivity and credential, whose secret is
	// sealed with the root key, with xksSecretAAD as associated data.
	XksEndpoint     string `json:"xksEndpoint,omitempty"`
	XksPath         string `json:"xksPath,omitempty"`
	XksConnectivity string `json:"xksConnectivity,omitempty"`
	XksAccessKeyID  string `json:"xksAccessKeyId,omitempty"`
	XksSecret       []byte `json:"xksSecret,omitempty"`
}

func keyStorePath(account, region, id string) string {
	return regionPrefix(account, region) + "keystores/" + id
}

func storePasswordAAD(account, region, id string) []byte {
	return []byte("custom key store password|" + account + "|" + region + "|" + id)
}

// cksConn is this node's connection to one custom key store's token. The
// view makes one per store id the first time a store or a key names it and
// keeps it for the life of the process, so keys loaded before their store
// and keys replaced by a write all see the same connection.
type cksConn struct {
	mu  sync.Mutex // serialises connecting and disconnecting
	tok atomic.Pointer[keystore.Token]
	// xks is set instead of tok for a connected external key store.
	xks atomic.Pointer[xks.Client]
}

// token returns the open token, or nil when this node is not connected.
func (c *cksConn) token() keystore.Token {
	if p := c.tok.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *cksConn) connected() bool { return c.tok.Load() != nil || c.xks.Load() != nil }

// close logs out, if connected. The caller holds c.mu.
func (c *cksConn) close() error {
	c.xks.Store(nil)
	p := c.tok.Swap(nil)
	if p == nil {
		return nil
	}
	return (*p).Close()
}

// errUnavailable is returned by the material of a key whose store this node
// is not connected to; requests see the key Unavailable before they get here.
var errUnavailable = errors.New("kms: custom key store is not connected")

// hsmAEAD is AES-GCM by a key in a custom key store's token.
type hsmAEAD struct {
	conn  *cksConn
	label string
}

func (h hsmAEAD) Seal(nonce, plaintext, ad []byte) ([]byte, error) {
	t := h.conn.token()
	if t == nil {
		return nil, errUnavailable
	}
	return t.Seal(h.label, nonce, plaintext, ad)
}

func (h hsmAEAD) Open(nonce, ciphertext, ad []byte) ([]byte, error) {
	t := h.conn.token()
	if t == nil {
		return nil, errUnavailable
	}
	return t.Open(h.label, nonce, ciphertext, ad)
}

// hsmLabel names a key's material in the token: the KMS key and material it
// belongs to, so an HSM administrator can tell which key is which.
func hsmLabel(keyID, materialID string) string { return "kms/" + keyID + "/" + materialID }

// connLocked returns the connection of a store, making it on first use. The
// caller holds v.mu for writing.
func (v *view) connLocked(region, id string) *cksConn {
	idx := keyIndex(region, id)
	c := v.conns[idx]
	if c == nil {
		c = &cksConn{}
		v.conns[idx] = c
	}
	return c
}

// conn returns the connection of a store.
func (v *view) conn(region, id string) *cksConn {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.connLocked(region, id)
}

func (v *view) putKeyStore(p path, kv store.KV) {
	var rec keyStoreRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		v.s.log.Error("kms: undecodable custom key store record", "key", kv.Key, "err", err)
		return
	}
	v.stores[keyIndex(p.region, p.id)] = &rec
	v.connLocked(p.region, p.id)
}

func (v *view) deleteKeyStore(p path) {
	delete(v.stores, keyIndex(p.region, p.id))
}

// keyStore returns a store of an account and Region, or nil.
func (v *view) keyStore(account, region, id string) *keyStoreRecord {
	v.mu.RLock()
	defer v.mu.RUnlock()
	r := v.stores[keyIndex(region, id)]
	if r == nil || r.Account != account {
		return nil
	}
	return r
}

// keyStoresOf returns the stores of an account and Region, by id; every
// store if account is empty.
func (v *view) keyStoresOf(account, region string) []*keyStoreRecord {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []*keyStoreRecord
	for _, r := range v.stores {
		if account == "" || (r.Account == account && r.Region == region) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// unavailable reports whether a key is in a custom key store this node is
// not connected to: its state shows as Unavailable (key-state.md), except
// while it is pending deletion (footnote 13).
func (k *key) unavailable() bool {
	return k.cks != nil && k.rec.State != PendingDeletion && !k.cks.connected()
}

// state is the key state requests see.
func (k *key) state() State {
	if k.unavailable() {
		return Unavailable
	}
	return k.rec.State
}

// customKeyStoreNotFound is CustomKeyStoreNotFoundException for an id or name.
func customKeyStoreNotFound(what string) error {
	return kmsapi.NewCustomKeyStoreNotFoundException("Custom key store " + what + " does not exist in this account and Region.")
}

func keyStoreNotDisconnected(r *keyStoreRecord) error {
	return kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is " + r.State + "; this operation requires it to be DISCONNECTED.")
}

func (s *Service) newKeyStoreID() (string, error) {
	var b [9]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", err
	}
	// cks- and 17 hex digits, as AWS's ids (cks-1234567890abcdef0).
	return "cks-" + hex.EncodeToString(b[:])[:17], nil
}

// checkTrustAnchor accepts a PEM certificate, as AWS requires the cluster's
// trust anchor to be (it cannot be checked against a PKCS#11 token).
func checkTrustAnchor(p string) error {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "CERTIFICATE" {
		return kmsapi.NewIncorrectTrustAnchorException("The trust anchor certificate is not a PEM-encoded X.509 certificate.")
	}
	if _, err := x509.ParseCertificate(b.Bytes); err != nil {
		return kmsapi.NewIncorrectTrustAnchorException("The trust anchor certificate is not a PEM-encoded X.509 certificate.")
	}
	return nil
}

// clusterInUse reports whether a store other than except uses a cluster. It
// looks at every account: a token has one login per process.
func (s *Service) clusterInUse(clusterID, except string) bool {
	for _, r := range s.view.keyStoresOf("", "") {
		if r.ClusterID == clusterID && r.ID != except {
			return true
		}
	}
	return false
}

func (s *Service) nameInUse(account, region, name, except string) bool {
	for _, r := range s.view.keyStoresOf(account, region) {
		if r.Name == name && r.ID != except {
			return true
		}
	}
	return false
}

func (s *Service) hasCluster(id string) bool { return s.clusters != nil && s.clusters.Has(id) }

func clusterNotFound(id string) error {
	return kmsapi.NewCloudHsmClusterNotFoundException("Cluster " + id + " is not configured on this server (trent serve --hsm).")
}

// CreateCustomKeyStore creates an AWS CloudHSM key store over a configured
// token. It does not log in: AWS checks the password when the store connects.
func (s *Service) CreateCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.CreateCustomKeyStoreRequest) (*kmsapi.CreateCustomKeyStoreResponse, error) {
	if err := s.authorizeAccount(c, "kms:CreateCustomKeyStore", "*"); err != nil {
		return nil, err
	}
	if in.XksProxyUriEndpoint != nil || in.XksProxyUriPath != nil || in.XksProxyVpcEndpointServiceName != nil ||
		in.XksProxyVpcEndpointServiceOwner != nil || in.XksProxyAuthenticationCredential != nil || in.XksProxyConnectivity != nil {
		if wire.String(in.CustomKeyStoreType) != storeTypeExternal {
			return nil, wire.Validation("The XksProxy parameters are valid only for a custom key store of type EXTERNAL_KEY_STORE.")
		}
	}
	typ := wire.String(in.CustomKeyStoreType)
	if typ == "" {
		typ = storeTypeCloudHSM
	}
	if typ == storeTypeExternal {
		return s.createXKSStore(ctx, c, in)
	}
	if typ != storeTypeCloudHSM {
		return nil, kmsapi.NewUnsupportedOperationException("Custom key stores of type " + typ + " are not supported by this server yet.")
	}
	switch {
	case in.CloudHsmClusterId == nil:
		return nil, wire.Validation("CloudHsmClusterId is required for a custom key store of type AWS_CLOUDHSM.")
	case in.TrustAnchorCertificate == nil:
		return nil, wire.Validation("TrustAnchorCertificate is required for a custom key store of type AWS_CLOUDHSM.")
	case in.KeyStorePassword == nil:
		return nil, wire.Validation("KeyStorePassword is required for a custom key store of type AWS_CLOUDHSM.")
	}
	cluster, name := *in.CloudHsmClusterId, *in.CustomKeyStoreName
	if !s.hasCluster(cluster) {
		return nil, clusterNotFound(cluster)
	}
	if err := checkTrustAnchor(*in.TrustAnchorCertificate); err != nil {
		return nil, err
	}
	if s.nameInUse(c.Account, c.Region, name, "") {
		return nil, kmsapi.NewCustomKeyStoreNameInUseException("Custom key store name " + name + " is already in use in this account and Region.")
	}
	if s.clusterInUse(cluster, "") {
		return nil, kmsapi.NewCloudHsmClusterInUseException("Cluster " + cluster + " is already associated with a custom key store.")
	}
	// Creating a store creates the service-linked role it needs, as the
	// caller (KMS Developer Guide: keystore-cloudhsm, service-linked role).
	if s.roles != nil {
		if err := s.roles.EnsureCustomKeyStoreRole(ctx, c.Identity, c.Request); err != nil {
			return nil, err
		}
	}
	id, err := s.newKeyStoreID()
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal([]byte(*in.KeyStorePassword), storePasswordAAD(c.Account, c.Region, id))
	if err != nil {
		return nil, err
	}
	rec := keyStoreRecord{ID: id, Name: name, Account: c.Account, Region: c.Region, Type: typ, ClusterID: cluster,
		TrustAnchor: *in.TrustAnchorCertificate, Created: s.now().UTC(), Password: sealed, State: connDisconnected}
	p := keyStorePath(c.Account, c.Region, id)
	if err := s.commitCounted(ctx, s.keyStoresQuota(c.Account, c.Region), store.Txn{Compares: []store.Compare{{Key: p}}, Puts: []store.KV{{Key: p, Value: marshal(rec)}}}); err != nil {
		return nil, err
	}
	return &kmsapi.CreateCustomKeyStoreResponse{CustomKeyStoreId: wire.Ptr(id)}, nil
}

// keyStoreFor authorizes an account-level custom key store action and finds
// the store.
func (s *Service) keyStoreFor(c Caller, action, id string) (*keyStoreRecord, error) {
	if err := s.authorizeAccount(c, action, "*"); err != nil {
		return nil, err
	}
	r := s.view.keyStore(c.Account, c.Region, id)
	if r == nil {
		return nil, customKeyStoreNotFound(id)
	}
	return r, nil
}

// updateKeyStore writes a changed copy of a store's record, conditional on
// the record not having changed since it was read.
func (s *Service) updateKeyStore(ctx context.Context, r *keyStoreRecord, fn func(*keyStoreRecord)) error {
	p := keyStorePath(r.Account, r.Region, r.ID)
	kv, err := s.st.Get(ctx, p)
	if errors.Is(err, store.ErrNotFound) {
		return customKeyStoreNotFound(r.ID)
	}
	if err != nil {
		return err
	}
	var cur keyStoreRecord
	if err := json.Unmarshal(kv.Value, &cur); err != nil {
		return fmt.Errorf("custom key store %s: %w", r.ID, err)
	}
	fn(&cur)
	return s.commit(ctx, store.Txn{Compares: []store.Compare{{Key: p, ModRev: kv.ModRev}}, Puts: []store.KV{{Key: p, Value: marshal(cur)}}})
}

// connectionErrorCode is the ConnectionErrorCode of a failed login.
func connectionErrorCode(err error) string {
	switch {
	case errors.Is(err, keystore.ErrInvalidCredentials):
		return "INVALID_CREDENTIALS"
	case errors.Is(err, keystore.ErrClusterNotFound):
		return "CLUSTER_NOT_FOUND"
	case errors.Is(err, keystore.ErrLockedOut):
		return "USER_LOCKED_OUT"
	case errors.Is(err, keystore.ErrUserNotFound):
		return "USER_NOT_FOUND"
	case errors.Is(err, keystore.ErrLoggedIn):
		return "USER_LOGGED_IN"
	}
	return "INTERNAL_ERROR"
}

// login opens a store's token with its password on this node. The caller
// holds conn.mu.
func (s *Service) login(ctx context.Context, r *keyStoreRecord, conn *cksConn) error {
	if r.Type == storeTypeExternal {
		return s.xksLogin(ctx, r, conn)
	}
	if s.clusters == nil || !s.clusters.Has(r.ClusterID) {
		return keystore.ErrClusterNotFound
	}
	pw, err := s.sealer.Open(r.Password, storePasswordAAD(r.Account, r.Region, r.ID))
	if err != nil {
		return fmt.Errorf("custom key store %s: password: %w", r.ID, err)
	}
	defer clear(pw)
	tok, err := s.clusters.Open(ctx, r.ClusterID, string(pw))
	if err != nil {
		return err
	}
	conn.tok.Store(&tok)
	return nil
}

// ConnectCustomKeyStore logs in to the store's token. A login the token
// refuses is no error of the request: the store's ConnectionState becomes
// FAILED with a ConnectionErrorCode, as in AWS.
func (s *Service) ConnectCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.ConnectCustomKeyStoreRequest) (*kmsapi.ConnectCustomKeyStoreResponse, error) {
	r, err := s.keyStoreFor(c, "kms:ConnectCustomKeyStore", *in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	if r.State == connFailed {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is FAILED; disconnect it before connecting it again.")
	}
	conn := s.view.conn(r.Region, r.ID)
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if conn.connected() {
		return &kmsapi.ConnectCustomKeyStoreResponse{}, nil
	}
	state, code := connConnected, ""
	if err := s.login(ctx, r, conn); err != nil {
		state, code = connFailed, connectionErrorCode(err)
		if r.Type == storeTypeExternal {
			code = xksConnectionErrorCode(err)
		}
		s.log.Warn("kms: custom key store failed to connect", "store", r.ID, "cluster", r.ClusterID, "code", code, "err", err)
	}
	err = s.updateKeyStore(ctx, r, func(r *keyStoreRecord) { r.State, r.ErrorCode = state, code })
	if err != nil {
		conn.close()
		return nil, err
	}
	return &kmsapi.ConnectCustomKeyStoreResponse{}, nil
}

// DisconnectCustomKeyStore logs out of the store's token; its keys become
// Unavailable.
func (s *Service) DisconnectCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.DisconnectCustomKeyStoreRequest) (*kmsapi.DisconnectCustomKeyStoreResponse, error) {
	r, err := s.keyStoreFor(c, "kms:DisconnectCustomKeyStore", *in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	if r.State == connDisconnected {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is already DISCONNECTED.")
	}
	conn := s.view.conn(r.Region, r.ID)
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if err := conn.close(); err != nil {
		s.log.Warn("kms: custom key store logout", "store", r.ID, "err", err)
	}
	if err := s.updateKeyStore(ctx, r, func(r *keyStoreRecord) { r.State, r.ErrorCode = connDisconnected, "" }); err != nil {
		return nil, err
	}
	return &kmsapi.DisconnectCustomKeyStoreResponse{}, nil
}

// DescribeCustomKeyStores lists the stores of the account and Region, or the
// one an id or a name names.
func (s *Service) DescribeCustomKeyStores(ctx context.Context, c Caller, in *kmsapi.DescribeCustomKeyStoresRequest) (*kmsapi.DescribeCustomKeyStoresResponse, error) {
	if err := s.authorizeAccount(c, "kms:DescribeCustomKeyStores", "*"); err != nil {
		return nil, err
	}
	var list []*keyStoreRecord
	for _, r := range s.view.keyStoresOf(c.Account, c.Region) {
		if (in.CustomKeyStoreId == nil || r.ID == *in.CustomKeyStoreId) && (in.CustomKeyStoreName == nil || r.Name == *in.CustomKeyStoreName) {
			list = append(list, r)
		}
	}
	if len(list) == 0 && (in.CustomKeyStoreId != nil || in.CustomKeyStoreName != nil) {
		return nil, customKeyStoreNotFound(wire.String(in.CustomKeyStoreId) + wire.String(in.CustomKeyStoreName))
	}
	got, next, err := page(list, func(r *keyStoreRecord) string { return r.ID }, in.Marker, in.Limit, 1000)
	if err != nil {
		return nil, err
	}
	out := &kmsapi.DescribeCustomKeyStoresResponse{Truncated: wire.Ptr(next != nil), NextMarker: next}
	for _, r := range got {
		e := kmsapi.CustomKeyStoresListEntry{
			CustomKeyStoreId: wire.Ptr(r.ID), CustomKeyStoreName: wire.Ptr(r.Name), CustomKeyStoreType: wire.Ptr(r.Type),
			CloudHsmClusterId: wire.Ptr(r.ClusterID), TrustAnchorCertificate: wire.Ptr(r.TrustAnchor),
			ConnectionState: wire.Ptr(r.State), CreationDate: ts(r.Created),
		}
		if r.State == connFailed {
			e.ConnectionErrorCode = wire.Ptr(r.ErrorCode)
		}
		if r.Type == storeTypeExternal {
			e.CloudHsmClusterId, e.TrustAnchorCertificate = nil, nil
			e.XksProxyConfiguration = xksProxyConfiguration(r)
		}
		out.CustomKeyStores = append(out.CustomKeyStores, e)
	}
	return out, nil
}

// UpdateCustomKeyStore renames a store (in any state) or, while it is
// disconnected, changes its password or cluster.
func (s *Service) UpdateCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.UpdateCustomKeyStoreRequest) (*kmsapi.UpdateCustomKeyStoreResponse, error) {
	r, err := s.keyStoreFor(c, "kms:UpdateCustomKeyStore", *in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	if r.Type == storeTypeExternal {
		return s.updateXKSStore(ctx, c, r, in)
	}
	if in.XksProxyUriEndpoint != nil || in.XksProxyUriPath != nil || in.XksProxyVpcEndpointServiceName != nil ||
		in.XksProxyVpcEndpointServiceOwner != nil || in.XksProxyAuthenticationCredential != nil || in.XksProxyConnectivity != nil {
		return nil, wire.Validation("The XksProxy parameters are valid only for a custom key store of type EXTERNAL_KEY_STORE.")
	}
	if (in.KeyStorePassword != nil || in.CloudHsmClusterId != nil) && r.State != connDisconnected {
		return nil, keyStoreNotDisconnected(r)
	}
	if in.CloudHsmClusterId != nil && *in.CloudHsmClusterId != r.ClusterID {
		if !s.hasCluster(*in.CloudHsmClusterId) {
			return nil, clusterNotFound(*in.CloudHsmClusterId)
		}
		if s.clusterInUse(*in.CloudHsmClusterId, r.ID) {
			// The model gives UpdateCustomKeyStore no CloudHsmClusterInUse:
			// another store's cluster is not one related to this store's.
			return nil, kmsapi.NewCloudHsmClusterNotRelatedException("Cluster " + *in.CloudHsmClusterId + " is associated with another custom key store.")
		}
	}
	if in.NewCustomKeyStoreName != nil && s.nameInUse(c.Account, c.Region, *in.NewCustomKeyStoreName, r.ID) {
		return nil, kmsapi.NewCustomKeyStoreNameInUseException("Custom key store name " + *in.NewCustomKeyStoreName + " is already in use in this account and Region.")
	}
	var sealed []byte
	if in.KeyStorePassword != nil {
		if sealed, err = s.sealer.Seal([]byte(*in.KeyStorePassword), storePasswordAAD(r.Account, r.Region, r.ID)); err != nil {
			return nil, err
		}
	}
	err = s.updateKeyStore(ctx, r, func(r *keyStoreRecord) {
		if in.NewCustomKeyStoreName != nil {
			r.Name = *in.NewCustomKeyStoreName
		}
		if sealed != nil {
			r.Password = sealed
		}
		if in.CloudHsmClusterId != nil {
			r.ClusterID = *in.CloudHsmClusterId
		}
	})
	if err != nil {
		return nil, err
	}
	return &kmsapi.UpdateCustomKeyStoreResponse{}, nil
}

// DeleteCustomKeyStore deletes a disconnected store that holds no keys.
func (s *Service) DeleteCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.DeleteCustomKeyStoreRequest) (*kmsapi.DeleteCustomKeyStoreResponse, error) {
	r, err := s.keyStoreFor(c, "kms:DeleteCustomKeyStore", *in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	if r.State != connDisconnected {
		return nil, keyStoreNotDisconnected(r)
	}
	for _, k := range s.view.keysOf(r.Account, r.Region) {
		if k.rec.CustomKeyStoreID == r.ID {
			return nil, kmsapi.NewCustomKeyStoreHasCMKsException("Custom key store " + r.ID + " contains KMS keys; delete them (ScheduleKeyDeletion) before you delete the store.")
		}
	}
	p := keyStorePath(r.Account, r.Region, r.ID)
	if err := s.commit(ctx, store.Txn{Deletes: []string{p}}); err != nil {
		return nil, err
	}
	return &kmsapi.DeleteCustomKeyStoreResponse{}, nil
}

// CustomKeyStoreUsage returns the ids of an account's custom key stores by
// Region, for iam to refuse deleting their service-linked role.
func (s *Service) CustomKeyStoreUsage(account string) map[string][]string {
	out := map[string][]string{}
	for _, r := range s.view.keyStoresOf("", "") {
		if r.Account == account {
			out[r.Region] = append(out[r.Region], r.ID)
		}
	}
	return out
}

// reconnect makes this node's connections follow the store records: log in
// to stores recorded CONNECTED (after a restart, or connected on another
// node) and out of the others. Run calls it at start and Tick at each sweep.
func (s *Service) reconnect(ctx context.Context) error {
	var errs []error
	for _, r := range s.view.keyStoresOf("", "") {
		conn := s.view.conn(r.Region, r.ID)
		conn.mu.Lock()
		switch {
		case r.State == connConnected && !conn.connected():
			if err := s.login(ctx, r, conn); err != nil {
				errs = append(errs, fmt.Errorf("custom key store %s: connect: %w", r.ID, err))
			}
		case r.State != connConnected && conn.connected():
			errs = append(errs, conn.close())
		}
		conn.mu.Unlock()
	}
	return errors.Join(errs...)
}

// keyStoreRandom draws random bytes from a connected store's token.
func (s *Service) keyStoreRandom(ctx context.Context, c Caller, id string, n int) ([]byte, error) {
	r := s.view.keyStore(c.Account, c.Region, id)
	if r == nil {
		return nil, customKeyStoreNotFound(id)
	}
	if r.Type == storeTypeExternal {
		// The model: "External key store IDs are not valid for this parameter."
		return nil, kmsapi.NewUnsupportedOperationException("GenerateRandom does not take the id of an external key store (" + r.ID + ").")
	}
	t := s.view.conn(r.Region, r.ID).token()
	if t == nil {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is not connected.")
	}
	return t.Random(ctx, n)
}

// storeOfNewKey checks CreateKey's Origin and CustomKeyStoreId: a key in a
// custom key store is a symmetric encryption key (KMS Developer Guide,
// create-cmk-keystore) whose store is connected.
func (s *Service) storeOfNewKey(c Caller, origin Origin, storeID *string, spec keys.Spec, usage keys.Usage) (*keyStoreRecord, error) {
	if origin == originXKS {
		return nil, nil // xksStoreOfNewKey
	}
	if origin != originCloudHSM {
		if storeID != nil {
			return nil, wire.Validation("CustomKeyStoreId requires Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE.")
		}
		return nil, nil
	}
	if storeID == nil {
		return nil, wire.Validation("Origin AWS_CLOUDHSM requires a CustomKeyStoreId.")
	}
	if spec != keys.SpecSymmetricDefault || usage != keys.UsageEncryptDecrypt {
		return nil, kmsapi.NewUnsupportedOperationException("KMS keys in an AWS CloudHSM key store must be symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT).")
	}
	r := s.view.keyStore(c.Account, c.Region, *storeID)
	if r == nil {
		return nil, customKeyStoreNotFound(*storeID)
	}
	if r.Type != storeTypeCloudHSM {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is not an AWS CloudHSM key store; Origin AWS_CLOUDHSM requires one.")
	}
	if !s.view.conn(r.Region, r.ID).connected() {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is not connected.")
	}
	return r, nil
}

// newHSMMaterial generates a key's material in its store's token and returns
// its description and the record that names it.
func (s *Service) newHSMMaterial(ctx context.Context, r *keyStoreRecord, keyID string) (material, store.KV, error) {
	id, err := keys.NewMaterialID(s.rand)
	if err != nil {
		return material{}, store.KV{}, err
	}
	t := s.view.conn(r.Region, r.ID).token()
	if t == nil {
		return material{}, store.KV{}, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is not connected.")
	}
	m := material{ID: id.String(), Created: stampOf(s.now())}
	if err := t.GenerateKey(ctx, hsmLabel(keyID, m.ID)); err != nil {
		return material{}, store.KV{}, err
	}
	rec := materialRecord{Spec: keys.SpecSymmetricDefault.String(), KeyStore: r.ID}
	return m, store.KV{Key: materialPath(r.Account, r.Region, keyID, m.ID), Value: marshal(rec)}, nil
}

// openHSMMaterial is the material of a key in a custom key store: a handle
// on its key in the token. The caller holds s.view.mu for writing.
func (s *Service) openHSMMaterial(region, keyID string, id keys.MaterialID, rec materialRecord) (keys.Material, error) {
	conn := s.view.connLocked(region, rec.KeyStore)
	return keys.NewExternalSymmetric(keyID, id, hsmAEAD{conn: conn, label: hsmLabel(keyID, id.String())})
}
