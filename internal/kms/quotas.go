package kms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Resource quotas (KMS Developer Guide, resource-limits.md): the defaults
// are AWS's; Options changes them. Grants per key, tags per key, the key
// policy size and on-demand rotations have their own checks.
const (
	defaultMaxKeys            = 100000 // KMS keys per account and Region, in any state
	defaultMaxAliasesPerKey   = 50     // aliases per KMS key
	defaultMaxCustomKeyStores = 10     // custom key stores per account and Region
)

// quotaPath is the record that orders the creations a quota counts in an
// account and Region: each creation rewrites it in its own transaction,
// conditional on the revision it counted at, so two creations that both
// saw room for one more cannot both commit. It holds nothing; the count is
// the view's.
func quotaPath(account, region, what string) string {
	return regionPrefix(account, region) + "quota/" + what
}

// commitCounted commits txn, which creates one more of what in an account
// and Region, unless count (read from the view) already reaches max; then
// it returns exceeded(count). The count is taken with the view current to
// the quota record's revision, and the commit is conditional on that
// revision, so the quota holds across requests and nodes; a concurrent
// creation makes it count again. txn is not changed.
func (s *Service) commitCounted(ctx context.Context, q quota, txn store.Txn) error {
	for attempt := 0; ; attempt++ {
		t := store.Txn{Compares: slices.Clone(txn.Compares), Puts: slices.Clone(txn.Puts), Deletes: txn.Deletes}
		if err := s.counted(ctx, q, &t); err != nil {
			return err
		}
		err := s.commit(ctx, t)
		if !errors.Is(err, store.ErrConflict) || attempt >= 8 {
			return err
		}
	}
}

// quota is one counted resource of an account and Region.
type quota struct {
	account, region, what string
	max                   int
	count                 func() int        // from the view
	exceeded              func(n int) error // the error at count n
}

// counted checks q with the view current to its quota record's revision
// and makes txn conditional on that revision and rewrite the record, for a
// caller that retries on store.ErrConflict.
func (s *Service) counted(ctx context.Context, q quota, txn *store.Txn) error {
	p := quotaPath(q.account, q.region, q.what)
	var rev int64
	kv, err := s.st.Get(ctx, p)
	switch {
	case err == nil:
		rev = kv.ModRev
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if err := s.follower.Wait(ctx, rev); err != nil {
		return err
	}
	if n := q.count(); n >= q.max {
		return q.exceeded(n)
	}
	txn.Compares = append(txn.Compares, store.Compare{Key: p, ModRev: rev})
	txn.Puts = append(txn.Puts, store.KV{Key: p, Value: []byte("{}")})
	return nil
}

// keysQuota is the quota of keys in an account and Region.
func (s *Service) keysQuota(account, region string) quota {
	return quota{account: account, region: region, what: "keys", max: s.maxKeys,
		count: func() int { return s.view.keyCount(account, region) },
		exceeded: func(n int) error {
			// AWS's text (LimitExceededException of CreateKey).
			return kmsapi.NewLimitExceededException(fmt.Sprintf("Key quota for this account in this region is %d but the current usage is %d.", s.maxKeys, n))
		}}
}

// keyStoresQuota is the quota of custom key stores in an account and
// Region.
func (s *Service) keyStoresQuota(account, region string) quota {
	return quota{account: account, region: region, what: "keystores", max: s.maxKeyStores,
		count: func() int { return len(s.view.keyStoresOf(account, region)) },
		exceeded: func(n int) error {
			// Worded as the keys quota; AWS's own text is not recorded.
			return kmsapi.NewLimitExceededException(fmt.Sprintf("Custom key store quota for this account in this region is %d but the current usage is %d.", s.maxKeyStores, n))
		}}
}

// aliasQuota checks that key r can take one more alias. Callers run it in
// an update of r, whose rewrite of the key record orders alias creations
// for the same key (update is conditional on the key's revision).
func (s *Service) aliasQuota(r *keyRecord) error {
	if n := len(s.view.aliasesFor(&key{rec: *r})); n >= s.maxAliases {
		// AWS's text (LimitExceededException of CreateAlias).
		return kmsapi.NewLimitExceededException("Aliases per key quota for this account in this region is " + strconv.Itoa(s.maxAliases) + ", current usage is " + strconv.Itoa(n) + ".")
	}
	return nil
}
