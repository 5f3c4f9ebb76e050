package customkeystore

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"

	"github.com/trentkms/trent/internal/keystore"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// The six operations on custom key stores. Each is called after the host
// authorized its action (kms:CreateCustomKeyStore, …) for the caller's
// account; a store of another account is not found.

func xksParams(endpoint, path, vpcName, vpcOwner *string, cred *kmsapi.XksProxyAuthenticationCredentialType, connectivity *string) bool {
	return endpoint != nil || path != nil || vpcName != nil || vpcOwner != nil || cred != nil || connectivity != nil
}

// Create creates a store: an AWS CloudHSM key store over a configured
// token, or an external key store (xks.go). A CloudHSM store is not logged
// in to: AWS checks the password when the store connects. ensureRole, if
// set, makes the service-linked role the store needs, as the caller.
func (s *Stores) Create(ctx context.Context, c Caller, in *kmsapi.CreateCustomKeyStoreRequest, ensureRole func(context.Context) error) (*kmsapi.CreateCustomKeyStoreResponse, error) {
	typ := wire.String(in.CustomKeyStoreType)
	if xksParams(in.XksProxyUriEndpoint, in.XksProxyUriPath, in.XksProxyVpcEndpointServiceName, in.XksProxyVpcEndpointServiceOwner, in.XksProxyAuthenticationCredential, in.XksProxyConnectivity) && typ != TypeExternal {
		return nil, wire.Validation("The XksProxy parameters are valid only for a custom key store of type EXTERNAL_KEY_STORE.")
	}
	if typ == "" {
		typ = TypeCloudHSM
	}
	if typ == TypeExternal {
		return s.createXKS(ctx, c, in)
	}
	if typ != TypeCloudHSM {
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
	if s.nameTaken(c.Account, c.Region, name, "") {
		return nil, nameInUse(name)
	}
	if s.clusterInUse(cluster, "") {
		return nil, kmsapi.NewCloudHsmClusterInUseException("Cluster " + cluster + " is already associated with a custom key store.")
	}
	// Creating a store creates the service-linked role it needs, as the
	// caller (KMS Developer Guide: keystore-cloudhsm, service-linked role).
	if ensureRole != nil {
		if err := ensureRole(ctx); err != nil {
			return nil, err
		}
	}
	id, err := s.newStoreID()
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal([]byte(*in.KeyStorePassword), PasswordAAD(c.Account, c.Region, id))
	if err != nil {
		return nil, err
	}
	rec := &Record{ID: id, Name: name, Account: c.Account, Region: c.Region, Type: typ, ClusterID: cluster,
		TrustAnchor: *in.TrustAnchorCertificate, Created: s.now().UTC(), Password: sealed, State: Disconnected}
	if err := s.create(ctx, rec); err != nil {
		return nil, err
	}
	return &kmsapi.CreateCustomKeyStoreResponse{CustomKeyStoreId: wire.Ptr(id)}, nil
}

// find returns a store of the caller's account and Region.
func (s *Stores) find(c Caller, id string) (*Record, error) {
	r := s.Get(c.Account, c.Region, id)
	if r == nil {
		return nil, notFound(id)
	}
	return r, nil
}

// Connect logs in to the store's token or checks its proxy. A login the
// token or proxy refuses is no error of the request: the store's
// ConnectionState becomes FAILED with a ConnectionErrorCode, as in AWS.
func (s *Stores) Connect(ctx context.Context, c Caller, id string) (*kmsapi.ConnectCustomKeyStoreResponse, error) {
	r, err := s.find(c, id)
	if err != nil {
		return nil, err
	}
	if r.State == Failed {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is FAILED; disconnect it before connecting it again.")
	}
	conn := s.Conn(r.Region, r.ID)
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if conn.Connected() {
		return &kmsapi.ConnectCustomKeyStoreResponse{}, nil
	}
	state, code := Connected, ""
	if err := s.login(ctx, r, conn); err != nil {
		state, code = Failed, connectionErrorCode(err)
		if r.Type == TypeExternal {
			code = xksConnectionErrorCode(err)
		}
		s.log.Warn("kms: custom key store failed to connect", "store", r.ID, "cluster", r.ClusterID, "code", code, "err", err)
	}
	err = s.update(ctx, r, func(r *Record) { r.State, r.ErrorCode = state, code })
	if err != nil {
		conn.close()
		return nil, err
	}
	return &kmsapi.ConnectCustomKeyStoreResponse{}, nil
}

// Disconnect logs out of the store's token; its keys become Unavailable.
func (s *Stores) Disconnect(ctx context.Context, c Caller, id string) (*kmsapi.DisconnectCustomKeyStoreResponse, error) {
	r, err := s.find(c, id)
	if err != nil {
		return nil, err
	}
	if r.State == Disconnected {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is already DISCONNECTED.")
	}
	conn := s.Conn(r.Region, r.ID)
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if err := conn.close(); err != nil {
		s.log.Warn("kms: custom key store logout", "store", r.ID, "err", err)
	}
	if err := s.update(ctx, r, func(r *Record) { r.State, r.ErrorCode = Disconnected, "" }); err != nil {
		return nil, err
	}
	return &kmsapi.DisconnectCustomKeyStoreResponse{}, nil
}

// Describe returns the stores of the caller's account and Region, by id, or
// the one an id or a name names; the host pages them and makes each an
// entry with Entry.
func (s *Stores) Describe(c Caller, id, name *string) ([]*Record, error) {
	var list []*Record
	for _, r := range s.list(c.Account, c.Region) {
		if (id == nil || r.ID == *id) && (name == nil || r.Name == *name) {
			list = append(list, r)
		}
	}
	if len(list) == 0 && (id != nil || name != nil) {
		return nil, notFound(wire.String(id) + wire.String(name))
	}
	return list, nil
}

// Entry is a store as DescribeCustomKeyStores shows it: never its secrets.
func Entry(r *Record) kmsapi.CustomKeyStoresListEntry {
	created := wire.Timestamp(r.Created)
	e := kmsapi.CustomKeyStoresListEntry{
		CustomKeyStoreId: wire.Ptr(r.ID), CustomKeyStoreName: wire.Ptr(r.Name), CustomKeyStoreType: wire.Ptr(r.Type),
		CloudHsmClusterId: wire.Ptr(r.ClusterID), TrustAnchorCertificate: wire.Ptr(r.TrustAnchor),
		ConnectionState: wire.Ptr(r.State), CreationDate: &created,
	}
	if r.State == Failed {
		e.ConnectionErrorCode = wire.Ptr(r.ErrorCode)
	}
	if r.Type == TypeExternal {
		e.CloudHsmClusterId, e.TrustAnchorCertificate = nil, nil
		e.XksProxyConfiguration = xksProxyConfiguration(r)
	}
	return e
}

// Update renames a store (in any state) or, while it is disconnected,
// changes its password or cluster, or an external store's proxy settings.
func (s *Stores) Update(ctx context.Context, c Caller, in *kmsapi.UpdateCustomKeyStoreRequest) (*kmsapi.UpdateCustomKeyStoreResponse, error) {
	r, err := s.find(c, *in.CustomKeyStoreId)
	if err != nil {
		return nil, err
	}
	if r.Type == TypeExternal {
		return s.updateXKS(ctx, c, r, in)
	}
	if xksParams(in.XksProxyUriEndpoint, in.XksProxyUriPath, in.XksProxyVpcEndpointServiceName, in.XksProxyVpcEndpointServiceOwner, in.XksProxyAuthenticationCredential, in.XksProxyConnectivity) {
		return nil, wire.Validation("The XksProxy parameters are valid only for a custom key store of type EXTERNAL_KEY_STORE.")
	}
	if (in.KeyStorePassword != nil || in.CloudHsmClusterId != nil) && r.State != Disconnected {
		return nil, notDisconnected(r)
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
	if in.NewCustomKeyStoreName != nil && s.nameTaken(c.Account, c.Region, *in.NewCustomKeyStoreName, r.ID) {
		return nil, nameInUse(*in.NewCustomKeyStoreName)
	}
	var sealed []byte
	if in.KeyStorePassword != nil {
		if sealed, err = s.sealer.Seal([]byte(*in.KeyStorePassword), PasswordAAD(r.Account, r.Region, r.ID)); err != nil {
			return nil, err
		}
	}
	err = s.update(ctx, r, func(r *Record) {
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

// Delete deletes a disconnected store that holds no keys.
func (s *Stores) Delete(ctx context.Context, c Caller, id string) (*kmsapi.DeleteCustomKeyStoreResponse, error) {
	r, err := s.find(c, id)
	if err != nil {
		return nil, err
	}
	if r.State != Disconnected {
		return nil, notDisconnected(r)
	}
	if s.host.KeyIn(r.Account, r.Region, r.ID, "") != "" {
		return nil, kmsapi.NewCustomKeyStoreHasCMKsException("Custom key store " + r.ID + " contains KMS keys; delete them (ScheduleKeyDeletion) before you delete the store.")
	}
	if err := s.host.Commit(ctx, store.Txn{Deletes: []string{Path(r.Account, r.Region, r.ID)}}); err != nil {
		return nil, err
	}
	return &kmsapi.DeleteCustomKeyStoreResponse{}, nil
}

// Random draws random bytes from a connected CloudHSM store's token
// (GenerateRandom with a CustomKeyStoreId, C_GenerateRandom as AWS does).
func (s *Stores) Random(ctx context.Context, c Caller, id string, n int) ([]byte, error) {
	r, err := s.find(c, id)
	if err != nil {
		return nil, err
	}
	if r.Type == TypeExternal {
		// The model: "External key store IDs are not valid for this parameter."
		return nil, kmsapi.NewUnsupportedOperationException("GenerateRandom does not take the id of an external key store (" + r.ID + ").")
	}
	t := s.Conn(r.Region, r.ID).Token()
	if t == nil {
		return nil, notConnected(r)
	}
	return t.Random(ctx, n)
}

// ForNewKey checks CreateKey of Origin AWS_CLOUDHSM in store id: a
// symmetric encryption key (symmetricEncrypt; KMS Developer Guide,
// create-cmk-keystore) in a connected CloudHSM store.
func (s *Stores) ForNewKey(c Caller, id *string, symmetricEncrypt bool) (*Record, error) {
	if id == nil {
		return nil, wire.Validation("Origin AWS_CLOUDHSM requires a CustomKeyStoreId.")
	}
	if !symmetricEncrypt {
		return nil, symmetricOnly("an AWS CloudHSM key store")
	}
	return s.storeOfNewKey(c, *id, TypeCloudHSM, "an AWS CloudHSM key store")
}

// symmetricOnly is CreateKey's error for a key in a store of kind that is
// not a symmetric encryption key.
func symmetricOnly(kind string) error {
	return kmsapi.NewUnsupportedOperationException("KMS keys in " + kind + " must be symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT).")
}

// storeOfNewKey finds the store of a new key whose origin is typ (the
// origins of keys in custom key stores are their stores' types): of that
// type, and connected.
func (s *Stores) storeOfNewKey(c Caller, id, typ, kind string) (*Record, error) {
	r := s.Get(c.Account, c.Region, id)
	if r == nil {
		return nil, notFound(id)
	}
	if r.Type != typ {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is not " + kind + "; Origin " + typ + " requires one.")
	}
	if !s.Conn(r.Region, r.ID).Connected() {
		return nil, notConnected(r)
	}
	return r, nil
}

// GenerateKey makes a key's material in a CloudHSM store's token, under
// label (Label).
func (s *Stores) GenerateKey(ctx context.Context, r *Record, label string) error {
	t := s.Conn(r.Region, r.ID).Token()
	if t == nil {
		return notConnected(r)
	}
	return t.GenerateKey(ctx, label)
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
func (s *Stores) clusterInUse(clusterID, except string) bool {
	for _, r := range s.list("", "") {
		if r.ClusterID == clusterID && r.ID != except {
			return true
		}
	}
	return false
}

func (s *Stores) hasCluster(id string) bool { return s.clusters != nil && s.clusters.Has(id) }

func clusterNotFound(id string) error {
	return kmsapi.NewCloudHsmClusterNotFoundException("Cluster " + id + " is not configured on this server (trent serve --hsm).")
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
