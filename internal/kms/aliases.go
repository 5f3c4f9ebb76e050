package kms

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// checkAliasName applies AWS's rules on an alias name beyond the model's
// pattern (^[a-zA-Z0-9:/_-]+$, which the request's validation applied):
// the alias/ prefix, the reserved alias/aws/, and no colon after the prefix
// (KMS Developer Guide, alias-manage.md: "only alphanumeric characters,
// forward slashes (/), underscores (_), and dashes (-)"); AWS words the
// colon as below (moto's tests, recorded against AWS).
func checkAliasName(name string) error {
	if !strings.HasPrefix(name, "alias/") {
		return wire.Validation(`Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`)
	}
	// alias/aws/ names AWS managed keys, which only AWS creates.
	if strings.HasPrefix(name, "alias/aws/") {
		return wire.Errorf("NotAuthorizedException", 400, "")
	}
	if strings.Contains(name[len("alias/"):], ":") {
		return wire.Validation(name + " contains invalid characters for an alias")
	}
	return nil
}

// CreateAlias gives a key a friendly name in this account and Region.
func (s *Service) CreateAlias(ctx context.Context, c Caller, in *kmsapi.CreateAliasRequest) (Empty, error) {
	name := *in.AliasName
	if err := checkAliasName(name); err != nil {
		return nil, err
	}
	// Alias operations need the permission on the alias (IAM) and on the key
	// (key policy) (KMS Developer Guide: controlling access to aliases).
	if err := s.authorizeAccount(c, "kms:CreateAlias", arn.AliasARN(c.Region, c.Account, name)); err != nil {
		return nil, err
	}
	k, err := s.keyForOp(c, "CreateAlias", *in.TargetKeyId, keyOnly, access{op: "CreateAlias"})
	if err != nil {
		return nil, err
	}
	if s.view.alias(c.Account, c.Region, name) != nil {
		return nil, alreadyExists(c, name)
	}
	p := aliasPath(c.Account, c.Region, name)
	// An update of the key: its record is rewritten with the alias, so
	// alias creations for one key are ordered and its quota holds.
	err = s.update(ctx, k, func(r *keyRecord, txn *store.Txn) error {
		if err := checkKey(k.fresh(r), "CreateAlias"); err != nil {
			return err
		}
		if s.view.alias(c.Account, c.Region, name) != nil {
			return alreadyExists(c, name)
		}
		if err := s.aliasQuota(r); err != nil {
			return err
		}
		now := s.now().UTC()
		// The name must still be free.
		txn.Compares = append(txn.Compares, store.Compare{Key: p})
		txn.Puts = append(txn.Puts, store.KV{Key: p, Value: marshal(aliasRecord{Name: name, TargetKeyID: r.ID, Created: now, Updated: now})})
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		if s.view.alias(c.Account, c.Region, name) != nil {
			return nil, alreadyExists(c, name)
		}
		return nil, kmsapi.NewKMSInternalException("The key changed while the alias was created; retry.")
	}
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// aliasType is the type of key UpdateAlias keeps an alias to: "the current
// and new KMS key must be the same type (both symmetric or both asymmetric
// or both HMAC), and they must have the same key usage" (UpdateAlias API
// reference), so RSA_2048 may give way to RSA_3072 or, signing, to an ECC
// key.
func aliasType(spec keys.Spec) string {
	switch spec.Family() {
	case keys.FamilySymmetric:
		return "symmetric"
	case keys.FamilyHMAC:
		return "HMAC"
	}
	return "asymmetric"
}

func alreadyExists(c Caller, name string) error {
	return kmsapi.NewAlreadyExistsException("An alias with the name " + arn.AliasARN(c.Region, c.Account, name) + " already exists")
}

// UpdateAlias points an existing alias at another key.
func (s *Service) UpdateAlias(ctx context.Context, c Caller, in *kmsapi.UpdateAliasRequest) (Empty, error) {
	name := *in.AliasName
	if err := checkAliasName(name); err != nil {
		return nil, err
	}
	a := s.view.alias(c.Account, c.Region, name)
	if a == nil {
		return nil, notFoundAlias(arn.AliasARN(c.Region, c.Account, name))
	}
	if err := s.authorizeAccount(c, "kms:UpdateAlias", arn.AliasARN(c.Region, c.Account, name)); err != nil {
		return nil, err
	}
	old, err := s.view.key(c.Region, a.TargetKeyID)
	if err != nil {
		return nil, err
	}
	if old != nil {
		if _, err := s.authorize(c, old, access{op: "UpdateAlias"}); err != nil {
			return nil, err
		}
	}
	k, err := s.keyForOp(c, "UpdateAlias", *in.TargetKeyId, keyOnly, access{op: "UpdateAlias"})
	if err != nil {
		return nil, err
	}
	if old != nil && (old.rec.Usage != k.rec.Usage || aliasType(old.rec.Spec) != aliasType(k.rec.Spec)) {
		return nil, wire.Validation("Alias " + arn.AliasARN(c.Region, c.Account, name) + " cannot be changed from a key of type " + old.rec.Spec.String() + " (" + old.rec.Usage.String() + ") to a key of type " + k.rec.Spec.String() + " (" + k.rec.Usage.String() + ").")
	}
	p := aliasPath(c.Account, c.Region, name)
	// An update of the new target, as CreateAlias: the alias counts
	// against its quota.
	err = s.update(ctx, k, func(r *keyRecord, txn *store.Txn) error {
		if err := checkKey(k.fresh(r), "UpdateAlias"); err != nil {
			return err
		}
		cur, err := s.st.Get(ctx, p)
		if errors.Is(err, store.ErrNotFound) {
			return notFoundAlias(arn.AliasARN(c.Region, c.Account, name))
		}
		if err != nil {
			return err
		}
		var rec aliasRecord
		if err := json.Unmarshal(cur.Value, &rec); err != nil {
			return err
		}
		if rec.TargetKeyID != r.ID {
			if err := s.aliasQuota(r); err != nil {
				return err
			}
		}
		rec.TargetKeyID, rec.Updated = r.ID, s.now().UTC()
		txn.Compares = append(txn.Compares, store.Compare{Key: p, ModRev: cur.ModRev})
		txn.Puts = append(txn.Puts, store.KV{Key: p, Value: marshal(rec)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// DeleteAlias removes an alias; its key is unaffected.
func (s *Service) DeleteAlias(ctx context.Context, c Caller, in *kmsapi.DeleteAliasRequest) (Empty, error) {
	name := *in.AliasName
	if err := checkAliasName(name); err != nil {
		return nil, err
	}
	if err := s.authorizeAccount(c, "kms:DeleteAlias", arn.AliasARN(c.Region, c.Account, name)); err != nil {
		return nil, err
	}
	p := aliasPath(c.Account, c.Region, name)
	cur, err := s.st.Get(ctx, p)
	if err == store.ErrNotFound {
		return nil, notFoundAlias(arn.AliasARN(c.Region, c.Account, name))
	}
	if err != nil {
		return nil, err
	}
	if a := s.view.alias(c.Account, c.Region, name); a != nil {
		k, err := s.view.key(c.Region, a.TargetKeyID)
		if err != nil {
			return nil, err
		}
		if k != nil {
			if _, err := s.authorize(c, k, access{op: "DeleteAlias"}); err != nil {
				return nil, err
			}
		}
	}
	if err := s.commit(ctx, store.Txn{Compares: []store.Compare{{Key: p, ModRev: cur.ModRev}}, Deletes: []string{p}}); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// ListAliases lists the aliases of the account and Region, or of one key.
func (s *Service) ListAliases(ctx context.Context, c Caller, in *kmsapi.ListAliasesRequest) (*kmsapi.ListAliasesResponse, error) {
	if err := s.authorizeAccount(c, "kms:ListAliases", "*"); err != nil {
		return nil, err
	}
	var only string
	if in.KeyId != nil {
		k, err := s.resolve(c, *in.KeyId, keyOnly) // ListAliases is authorized by IAM alone
		if err != nil {
			return nil, err
		}
		only = k.rec.ID
	}
	var as []*aliasRecord
	for _, a := range s.view.aliasesOf(c.Account, c.Region) {
		if only == "" || a.TargetKeyID == only {
			as = append(as, a)
		}
	}
	sort.Slice(as, func(i, j int) bool { return as[i].Name < as[j].Name })
	got, next, err := page(as, func(a *aliasRecord) string { return a.Name }, in.Marker, in.Limit, 50)
	if err != nil {
		return nil, err
	}
	out := &kmsapi.ListAliasesResponse{Truncated: wire.Ptr(next != nil), NextMarker: next}
	for _, a := range got {
		out.Aliases = append(out.Aliases, kmsapi.AliasListEntry{
			AliasName: wire.Ptr(a.Name), AliasArn: wire.Ptr(arn.AliasARN(c.Region, c.Account, a.Name)),
			TargetKeyId: wire.Ptr(a.TargetKeyID), CreationDate: ts(a.Created), LastUpdatedDate: ts(a.Updated),
		})
	}
	return out, nil
}
