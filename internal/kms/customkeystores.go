package kms

// Custom key stores are package customkeystore's: their records, this
// node's connections to their tokens and proxies, and the six operations.
// What stays here is the door to them: each operation is authorized
// (authorizeAccount) before the store is looked at, and the store's writes
// are this service's commits, counted against the account's quota of custom
// key stores. Keys in a store reach their token or proxy through their
// backend (backend.go, xks.go).

import (
	"context"
	"github.com/trentkms/trent/internal/arn"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/customkeystore"
	"github.com/trentkms/trent/internal/keys"
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

// storesHost is what package customkeystore needs of the service.
type storesHost struct{ s *Service }

func (h storesHost) Commit(ctx context.Context, txn store.Txn) error { return h.s.commit(ctx, txn) }

func (h storesHost) CommitNew(ctx context.Context, account, region string, txn store.Txn) error {
	return h.s.commitCounted(ctx, h.s.keyStoresQuota(account, region), txn)
}

func (h storesHost) KeyIn(account, region, id, xksKeyID string) string {
	for _, kid := range h.s.view.keysInStore(account, region, id) {
		if xksKeyID == "" {
			return arn.KeyARN(region, account, kid)
		}
		k, err := h.s.view.key(region, kid)
		if err != nil {
			// Failing closed: a key that cannot be read may be the one.
			h.s.log.Error("kms: read a key of a custom key store", "key", kid, "err", err)
			return arn.KeyARN(region, account, kid)
		}
		if k != nil && k.rec.XksKeyID == xksKeyID {
			return k.arn
		}
	}
	return ""
}

func storeCaller(c Caller) customkeystore.Caller {
	return customkeystore.Caller{Account: c.Account, Region: c.Region, ARN: c.ARN, RequestID: c.RequestID}
}

// unavailable reports whether a key is in a custom key store this node is
// not connected to: its state shows as Unavailable (key-state.md), except
// while it is pending deletion (footnote 13).
func (k *key) unavailable() bool {
	return k.cks != nil && k.rec.State != PendingDeletion && !k.cks.Connected()
}

// state is the key state requests see.
func (k *key) state() State {
	if k.unavailable() {
		return Unavailable
	}
	return k.rec.State
}

// CreateCustomKeyStore creates an AWS CloudHSM key store over a configured
// token, or an external key store over an XKS proxy.
func (s *Service) CreateCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.CreateCustomKeyStoreRequest) (*kmsapi.CreateCustomKeyStoreResponse, error) {
	if err := s.authorizeAccount(c, "kms:CreateCustomKeyStore", "*"); err != nil {
		return nil, err
	}
	var ensureRole func(context.Context) error
	if s.roles != nil {
		ensureRole = func(ctx context.Context) error { return s.roles.EnsureCustomKeyStoreRole(ctx, c.Identity, c.Request) }
	}
	return s.stores.Create(ctx, storeCaller(c), in, ensureRole)
}

// ConnectCustomKeyStore logs in to the store's token or checks its proxy.
func (s *Service) ConnectCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.ConnectCustomKeyStoreRequest) (*kmsapi.ConnectCustomKeyStoreResponse, error) {
	if err := s.authorizeAccount(c, "kms:ConnectCustomKeyStore", "*"); err != nil {
		return nil, err
	}
	return s.stores.Connect(ctx, storeCaller(c), *in.CustomKeyStoreId)
}

// DisconnectCustomKeyStore logs out of the store; its keys become
// Unavailable.
func (s *Service) DisconnectCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.DisconnectCustomKeyStoreRequest) (*kmsapi.DisconnectCustomKeyStoreResponse, error) {
	if err := s.authorizeAccount(c, "kms:DisconnectCustomKeyStore", "*"); err != nil {
		return nil, err
	}
	return s.stores.Disconnect(ctx, storeCaller(c), *in.CustomKeyStoreId)
}

// DescribeCustomKeyStores lists the stores of the account and Region, or the
// one an id or a name names.
func (s *Service) DescribeCustomKeyStores(ctx context.Context, c Caller, in *kmsapi.DescribeCustomKeyStoresRequest) (*kmsapi.DescribeCustomKeyStoresResponse, error) {
	if err := s.authorizeAccount(c, "kms:DescribeCustomKeyStores", "*"); err != nil {
		return nil, err
	}
	list, err := s.stores.Describe(storeCaller(c), in.CustomKeyStoreId, in.CustomKeyStoreName)
	if err != nil {
		return nil, err
	}
	got, next, err := page(list, func(r *customkeystore.Record) string { return r.ID }, in.Marker, in.Limit, 1000)
	if err != nil {
		return nil, err
	}
	out := &kmsapi.DescribeCustomKeyStoresResponse{Truncated: wire.Ptr(next != nil), NextMarker: next}
	for _, r := range got {
		out.CustomKeyStores = append(out.CustomKeyStores, customkeystore.Entry(r))
	}
	return out, nil
}

// UpdateCustomKeyStore renames a store or, while it is disconnected,
// changes its password, cluster or proxy settings.
func (s *Service) UpdateCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.UpdateCustomKeyStoreRequest) (*kmsapi.UpdateCustomKeyStoreResponse, error) {
	if err := s.authorizeAccount(c, "kms:UpdateCustomKeyStore", "*"); err != nil {
		return nil, err
	}
	return s.stores.Update(ctx, storeCaller(c), in)
}

// DeleteCustomKeyStore deletes a disconnected store that holds no keys.
func (s *Service) DeleteCustomKeyStore(ctx context.Context, c Caller, in *kmsapi.DeleteCustomKeyStoreRequest) (*kmsapi.DeleteCustomKeyStoreResponse, error) {
	if err := s.authorizeAccount(c, "kms:DeleteCustomKeyStore", "*"); err != nil {
		return nil, err
	}
	return s.stores.Delete(ctx, storeCaller(c), *in.CustomKeyStoreId)
}

// CustomKeyStoreUsage returns the ids of an account's custom key stores by
// Region, for iam to refuse deleting their service-linked role.
func (s *Service) CustomKeyStoreUsage(account string) map[string][]string {
	return s.stores.Usage(account)
}

// newHSMMaterial generates a key's material in its store's token and returns
// its description and the record that names it.
func (s *Service) newHSMMaterial(ctx context.Context, r *customkeystore.Record, keyID string) (material, store.KV, error) {
	id, err := keys.NewMaterialID(s.rand)
	if err != nil {
		return material{}, store.KV{}, err
	}
	m := material{ID: id.String(), Created: stampOf(s.now())}
	if err := s.stores.GenerateKey(ctx, r, customkeystore.Label(keyID, m.ID)); err != nil {
		return material{}, store.KV{}, err
	}
	rec := materialRecord{Spec: keys.SpecSymmetricDefault.String(), KeyStore: r.ID}
	return m, store.KV{Key: materialPath(r.Account, r.Region, keyID, m.ID), Value: marshal(rec)}, nil
}

// openHSMMaterial is the material of a key in a custom key store: a handle
// on its key in the token.
func (s *Service) openHSMMaterial(region, keyID string, id keys.MaterialID, rec materialRecord) (keys.Material, error) {
	conn := s.stores.Conn(region, rec.KeyStore)
	return keys.NewExternalSymmetric(keyID, id, conn.AEAD(customkeystore.Label(keyID, id.String())))
}
