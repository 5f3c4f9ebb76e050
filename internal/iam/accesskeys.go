package iam

import (
	"context"
	"errors"
	"sort"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// maxAccessKeys is IAM's quota of access keys per user (and for root).
const maxAccessKeys = 2

// accessKeysOf returns the access keys of a user ("" for root), oldest first.
func (d *Directory) accessKeysOf(account, user string) []*accessKeyRecord {
	d.mu.RLock()
	var out []*accessKeyRecord
	for _, k := range d.v.keys {
		if k.Account == account && equalFoldOrEmpty(k.UserName, user) {
			out = append(out, k)
		}
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

func equalFoldOrEmpty(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	return len(a) == len(b) && (a == b || toLower(a) == toLower(b))
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// keyOwner resolves the UserName parameter of the access key operations:
// absent means the caller itself (a user, or root). A named user's existence
// is checked where the operation decides (in its transaction, or the view
// for ListAccessKeys).
func (d *Directory) keyOwner(c Call, name *string) (string, error) {
	if name != nil {
		return *name, nil
	}
	switch c.Identity.Type {
	case authz.RootType:
		return "", nil
	case authz.UserType:
		return c.Identity.Name, nil
	}
	return "", wire.QueryValidation("Must specify userName when calling with non-User credentials")
}

func apiKeyMetadata(k *accessKeyRecord) iamapi.AccessKeyMetadata {
	m := iamapi.AccessKeyMetadata{AccessKeyId: wire.Ptr(k.AccessKeyID), Status: wire.Ptr(k.Status), CreateDate: wire.Ptr(wire.Timestamp(k.Created))}
	if k.UserName != "" {
		m.UserName = wire.Ptr(k.UserName)
	}
	return m
}

// CreateAccessKey creates an access key for a user (or the caller); the secret
// is returned now and never again.
func (d *Directory) CreateAccessKey(ctx context.Context, c Call, in *iamapi.CreateAccessKeyRequest) (*iamapi.CreateAccessKeyResponse, error) {
	user, err := d.keyOwnerAuthorized(c, "iam:CreateAccessKey", in.UserName)
	if err != nil {
		return nil, err
	}
	acct := c.Identity.Account
	id, secret, err := d.newAccessKey("AKIA")
	if err != nil {
		return nil, err
	}
	rec, err := d.accessKeyRec(acct, user, "", id, secret)
	if err != nil {
		return nil, err
	}
	// The owner must exist and have room for a key when the key is
	// written; the owner's record, rewritten with the key, guards its set
	// of keys, so a concurrent DeleteUser or CreateAccessKey conflicts.
	err = d.atomically(ctx, func(t *tx) error {
		rec := *rec
		if user == "" {
			a := t.account(acct)
			if a == nil {
				return noSuchUser(user)()
			}
			t.put(accountKey(acct), a)
		} else {
			u := t.user(acct, user)
			if u == nil {
				return noSuchUser(user)()
			}
			rec.UserName, rec.UserID, user = u.Name, u.ID, u.Name
			t.put(entityKey(acct, userKind, u.Name), u)
		}
		if len(t.keysOf(acct, user)) >= maxAccessKeys {
			return iamapi.NewLimitExceededException("Cannot exceed quota for AccessKeysPerUser: 2")
		}
		if t.accessKey(id) != nil {
			return errors.New("iam: a new access key id is taken")
		}
		t.put(accessKeysPrefix+id, rec)
		return nil
	})
	if err != nil {
		return nil, concurrentModification(err)
	}
	out := &iamapi.AccessKey{AccessKeyId: wire.Ptr(id), Status: wire.Ptr("Active"), SecretAccessKey: wire.Ptr(secret), CreateDate: wire.Ptr(wire.Timestamp(rec.Created))}
	if user != "" {
		out.UserName = wire.Ptr(user)
	}
	return &iamapi.CreateAccessKeyResponse{AccessKey: out}, nil
}

// keyOwnerAuthorized authorizes action on the named user (or the caller)
// before resolving it, so an unauthorized caller cannot probe which users exist.
func (d *Directory) keyOwnerAuthorized(c Call, action string, name *string) (string, error) {
	res := c.Identity.ARN
	if name != nil {
		res = d.userARN(c.Identity.Account, *name)
	}
	if err := d.authorize(c, action, res); err != nil {
		return "", err
	}
	return d.keyOwner(c, name)
}

// ListAccessKeys lists a user's (or the caller's) access keys, without secrets.
func (d *Directory) ListAccessKeys(ctx context.Context, c Call, in *iamapi.ListAccessKeysRequest) (*iamapi.ListAccessKeysResponse, error) {
	user, err := d.keyOwnerAuthorized(c, "iam:ListAccessKeys", in.UserName)
	if err != nil {
		return nil, err
	}
	if user != "" && d.user(c.Identity.Account, user) == nil {
		return nil, noSuchUser(user)()
	}
	got, trunc, marker, err := pageOf(d.accessKeysOf(c.Identity.Account, user), in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListAccessKeysResponse{AccessKeyMetadata: []iamapi.AccessKeyMetadata{}, IsTruncated: trunc, Marker: marker}
	for _, k := range got {
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, apiKeyMetadata(k))
	}
	return out, nil
}

// ownedKey finds an access key of the given owner, which must exist.
func (t *tx) ownedKey(account, user, id string) (*accessKeyRecord, error) {
	if user != "" && t.user(account, user) == nil {
		return nil, noSuchUser(user)()
	}
	k := t.accessKey(id)
	if k == nil || k.Account != account || k.Service != "" || !equalFoldOrEmpty(k.UserName, user) {
		return nil, iamapi.NewNoSuchEntityException("The Access Key with id " + id + " cannot be found.")
	}
	return k, nil
}

// UpdateAccessKey makes an access key Active or Inactive.
func (d *Directory) UpdateAccessKey(ctx context.Context, c Call, in *iamapi.UpdateAccessKeyRequest) (*struct{}, error) {
	user, err := d.keyOwnerAuthorized(c, "iam:UpdateAccessKey", in.UserName)
	if err != nil {
		return nil, err
	}
	err = d.atomically(ctx, func(t *tx) error {
		k, err := t.ownedKey(c.Identity.Account, user, *in.AccessKeyId)
		if err != nil {
			return err
		}
		rec := *k
		rec.Status = *in.Status
		t.put(accessKeysPrefix+rec.AccessKeyID, &rec)
		return nil
	})
	return &struct{}{}, concurrentModification(err)
}

// DeleteAccessKey deletes an access key.
func (d *Directory) DeleteAccessKey(ctx context.Context, c Call, in *iamapi.DeleteAccessKeyRequest) (*struct{}, error) {
	user, err := d.keyOwnerAuthorized(c, "iam:DeleteAccessKey", in.UserName)
	if err != nil {
		return nil, err
	}
	err = d.atomically(ctx, func(t *tx) error {
		k, err := t.ownedKey(c.Identity.Account, user, *in.AccessKeyId)
		if err != nil {
			return err
		}
		t.del(accessKeysPrefix + k.AccessKeyID)
		return nil
	})
	return &struct{}{}, concurrentModification(err)
}

// GetAccessKeyLastUsed reports when a key was last used, to the minute, and
// for which service and Region; "N/A" for a key never used, as AWS answers.
func (d *Directory) GetAccessKeyLastUsed(ctx context.Context, c Call, in *iamapi.GetAccessKeyLastUsedRequest) (*iamapi.GetAccessKeyLastUsedResponse, error) {
	d.mu.RLock()
	k := d.v.keys[*in.AccessKeyId]
	d.mu.RUnlock()
	if k == nil || k.Account != c.Identity.Account {
		return nil, wire.Errorf("AccessDenied", 403, "%s", authz.NoIdentityAllow.Message(c.Identity.ARN, "iam:GetAccessKeyLastUsed", "access key "+*in.AccessKeyId))
	}
	res := c.Identity.ARN
	if k.UserName != "" {
		res = d.userARN(k.Account, k.UserName)
	}
	if err := d.authorize(c, "iam:GetAccessKeyLastUsed", res); err != nil {
		return nil, err
	}
	out := &iamapi.GetAccessKeyLastUsedResponse{AccessKeyLastUsed: &iamapi.AccessKeyLastUsed{ServiceName: wire.Ptr("N/A"), Region: wire.Ptr("N/A")}}
	if u, ok := d.lastUse(ctx, k.AccessKeyID); ok {
		out.AccessKeyLastUsed = &iamapi.AccessKeyLastUsed{LastUsedDate: wire.Ptr(wire.Timestamp(u.At)), ServiceName: wire.Ptr(u.Service), Region: wire.Ptr(u.Region)}
	}
	if k.UserName != "" {
		out.UserName = wire.Ptr(k.UserName)
	}
	return out, nil
}
