// Package store is Trent's transactional key-value interface: every record Trent
// keeps (accounts, identities, keys, aliases, sealed key material) lives behind it.
//
// Keys are readable paths such as "acct/111122223333/kms/us-east-1/keys/<key-id>".
// Every successful write advances one store-wide revision; each record remembers
// the revision that created it and the one that last modified it, so a writer can
// make a change conditional on what it read (optimistic concurrency), and a reader
// can follow every change after a revision with Watch.
//
// Two engines implement it: store/bolt (embedded, one node, the default) and an
// etcd engine for a cluster of stateless nodes. Neither leaks its types upward.
//
// # Concurrency
//
// A Store is safe for concurrent use. A Txn either commits every put and delete it
// holds or none; it is durable (fsynced) when Txn returns nil.
//
// # Errors
//
// Get returns ErrNotFound for a missing key. Txn returns ErrConflict when one of
// its compares fails, and changes nothing; the caller may read again and retry.
// Watch delivers ErrCompacted when the revision asked for is no longer retained;
// the watcher must Range again and watch from the new revision. A scan whose
// snapshot is compacted before it ends returns ErrCompacted too (store/etcd):
// Follower.Load then loads again from nothing, up to three times.
package store
