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
//
// This node's concurrent creations under one quota are combined: one of
// them counts once for all that are waiting and commits them in one
// transaction that rewrites the quota record once. Each conditional on the
// record's revision on its own, they would conflict with one another and
// commit one per round (retries running out at concurrency 16); together
// they commit as fast as the store's group commit allows.
func (s *Service) commitCounted(ctx context.Context, q quota, txn store.Txn) error {
	c := &creation{txn: txn, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	id := quotaPath(q.account, q.region, q.what)
	s.quotaMu.Lock()
	if s.quotaQueues == nil {
		s.quotaQueues = map[string]*creationQueue{}
	}
	cq := s.quotaQueues[id]
	if cq == nil {
		cq = &creationQueue{}
		s.quotaQueues[id] = cq
	}
	cq.pending = append(cq.pending, c)
	if !cq.leading {
		cq.leading = true
		c.lead <- struct{}{}
	}
	s.quotaMu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-c.lead:
	}
	s.quotaMu.Lock()
	batch := cq.pending
	cq.pending = nil
	s.quotaMu.Unlock()
	// The batch is everyone's: the leader's request ending must not fail it.
	s.commitCreations(context.WithoutCancel(ctx), q, batch)
	s.quotaMu.Lock()
	if len(cq.pending) > 0 {
		cq.pending[0].lead <- struct{}{}
	} else {
		cq.leading = false
		delete(s.quotaQueues, id)
	}
	s.quotaMu.Unlock()
	<-c.done
	return c.err
}

// creation is one commitCounted call waiting for its batch.
type creation struct {
	txn  store.Txn
	err  error
	done chan struct{} // closed when err is set
	lead chan struct{} // receives when this call is to commit the queue
}

// creationQueue is the creations waiting under one quota on this node.
type creationQueue struct {
	pending []*creation
	leading bool
}

// commitCreations counts once for a batch, admits as many as the quota
// has room for, in order, and commits them in one transaction; the rest
// get the quota's error. A conflict makes it count again; if the batch
// keeps conflicting (a compare of one of its creations fails), each is
// committed alone.
func (s *Service) commitCreations(ctx context.Context, q quota, batch []*creation) {
	all := batch // batch narrows to the admitted on a retry; all are answered
	defer func() {
		for _, c := range all {
			close(c.done)
		}
	}()
	for attempt := 0; ; attempt++ {
		var t store.Txn
		n, err := s.countedN(ctx, q, len(batch), &t)
		if err != nil {
			for _, c := range batch {
				c.err = err
			}
			return
		}
		admitted := batch[:n]
		for _, c := range batch[n:] {
			c.err = q.exceeded(q.count() + n) // the usage once the admitted are in
		}
		if len(admitted) == 0 {
			return
		}
		for _, c := range admitted {
			t.Compares = append(t.Compares, c.txn.Compares...)
			t.Puts = append(t.Puts, c.txn.Puts...)
			t.Deletes = append(t.Deletes, c.txn.Deletes...)
		}
		err = s.commit(ctx, t)
		if err == nil || !errors.Is(err, store.ErrConflict) || (attempt >= 8 && len(admitted) == 1) {
			for _, c := range admitted {
				c.err = err
			}
			return
		}
		if attempt >= 8 {
			for _, c := range admitted {
				c.err = s.commitCountedAlone(ctx, q, c.txn)
			}
			return
		}
		batch = admitted
	}
}

// commitCountedAlone is commitCounted for one creation, without batching.
func (s *Service) commitCountedAlone(ctx context.Context, q quota, txn store.Txn) error {
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
	n, err := s.countedN(ctx, q, 1, txn)
	if err == nil && n == 0 {
		err = q.exceeded(q.count())
	}
	return err
}

// countedN is counted for up to want creations: it returns how many fit
// (0 when none does, txn then unchanged).
func (s *Service) countedN(ctx context.Context, q quota, want int, txn *store.Txn) (int, error) {
	p := quotaPath(q.account, q.region, q.what)
	var rev int64
	kv, err := s.st.Get(ctx, p)
	switch {
	case err == nil:
		rev = kv.ModRev
	case !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	if err := s.follower.Wait(ctx, rev); err != nil {
		return 0, err
	}
	room := q.max - q.count()
	if room <= 0 {
		return 0, nil
	}
	txn.Compares = append(txn.Compares, store.Compare{Key: p, ModRev: rev})
	txn.Puts = append(txn.Puts, store.KV{Key: p, Value: []byte("{}")})
	return min(want, room), nil
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
		count: func() int { return s.stores.Count(account, region) },
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
