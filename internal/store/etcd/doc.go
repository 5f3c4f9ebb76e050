// Package etcd is the cluster store engine: a store.Store on an etcd v3
// cluster, so that several stateless Trent nodes serve one Region from one
// set of records. It owns the mapping of the store contract onto etcd and
// nothing else; no etcd type leaves the package.
//
// # Mapping
//
//   - Keys: every store key k is the etcd key Options.Prefix+k (default
//     "/trent/"), so one etcd cluster can be shared; Range and Watch of a
//     store prefix p are etcd prefix reads and watches of Prefix+p.
//   - Revisions: KV.CreateRev and KV.ModRev are etcd's create_revision and
//     mod_revision, and every revision Trent sees is etcd's cluster-wide
//     revision. Revisions therefore increase but are not consecutive when
//     something else writes to the cluster; nothing in Trent may assume
//     rev+1.
//   - Range returns the header revision of its read. Large ranges are read
//     in pages, every page at the first page's revision: one snapshot.
//   - Scan and ScanSkip (store.Scanner, store.SkipScanner) read the same
//     pages but hand each record to the caller and let the page go, so a
//     node's start holds one page (1,000 records) instead of the range;
//     after a refused key ScanSkip requests the next page from where the
//     caller's skip says, so a run of refused records (the KMS keys a view
//     loads lazily) is fetched at most as far as the page that reached it.
//   - Txn is one etcd transaction: each store.Compare is
//     mod_revision(key) = ModRev (an absent key has mod_revision 0, so 0
//     means "absent"), the puts and deletes are its operations, and a failed
//     compare is store.ErrConflict with nothing written. etcd refuses a
//     transaction that names a key twice, so Txn folds the change first as
//     store/bolt applies it: deletes, then puts, a later put of a key
//     replacing an earlier one and a put replacing a delete of the same key.
//     One difference remains: bolt gives a key deleted and put again in one
//     Txn a new CreateRev and reports the delete too; etcd keeps the
//     CreateRev and reports only the put. A Txn with nothing to change
//     (including deletes of missing keys) returns the current revision.
//   - Watch(prefix, fromRev) is an etcd watch from fromRev+1; each etcd
//     revision becomes one store.WatchResponse, so the events of one Txn
//     arrive together and in order.
//
// # Durability
//
// etcd acknowledges a transaction once a quorum of members has written it
// to its fsynced log, so a Txn that returned nil survives the loss of any
// minority of members.
//
// # Concurrency
//
// A Store is safe for concurrent use by any number of goroutines, and any
// number of Stores (Trent nodes) may share one etcd cluster and prefix: the
// revision compares of each Txn are checked by etcd, so a read-modify-write
// from a stale view fails with store.ErrConflict instead of overwriting.
// Every Watch runs one goroutine, which ends when its context ends or the
// watch fails.
//
// # Errors
//
// Get returns store.ErrNotFound for a missing key; Txn store.ErrConflict
// when a compare fails. A watch (or a paged Range or scan) from a revision
// etcd has compacted gets store.ErrCompacted; store.Follower then loads
// again from nothing (a load, up to three times). A
// watch ended by a member that lost its leader is resumed from its last
// revision; other etcd errors are sent once, then the channel closes.
// Context deadlines and cancellation are honoured by every call, and a Txn
// that fails with anything but store.ErrConflict may or may not have been
// applied. After Close every method returns store.ErrClosed.
//
// # Cluster caveats
//
//   - The root key is in etcd, wrapped by the seal (internal/seal): every
//     node is given the same seal configuration and unseals it at start,
//     and nothing is copied between nodes. With the file seal the wrapping
//     key is a file, so every node needs the same one; clusters use the
//     passphrase, pkcs11 or kms seal instead.
//   - Any number of nodes may start at once on an empty prefix: the first
//     transaction to make the root key and the first account wins, the
//     others unseal its root key and find its account. Nodes given an
//     account id and root access key must all be given the same ones.
//   - Each node serves requests from its in-memory view, kept current by a
//     watch. A node sees another node's write once its watch delivers it,
//     usually within milliseconds, not at once: like AWS KMS across its
//     hosts, a key just created elsewhere may be NotFound for a moment. A
//     node's own writes are visible to its next request.
//   - Background sweeps (deletion, rotation, expiry) run on every node. They
//     are safe because every write compares revisions: one node wins, the
//     others get store.ErrConflict and see the change through their watch.
//   - Trent never compacts etcd. Run etcd with auto-compaction (for example
//     --auto-compaction-mode=periodic --auto-compaction-retention=1h) and
//     defragment it now and then; a node whose watch falls behind the
//     compaction reloads its view.
//   - etcd limits one transaction to --max-txn-ops operations (128 by
//     default) and --max-request-bytes (1.5 MiB); raise them if a Txn is
//     refused for its size.
//   - Currency: Revision is a linearizable read of etcd's revision, and
//     RequestProgress makes each watch send a progress notification (a
//     response with no events) once it has delivered everything up to its
//     member's revision. Together they confirm that a view is current
//     (internal/health's fence); a node whose view cannot be confirmed
//     within its bound refuses requests until it can. This needs etcd
//     3.5.8 or later (3.4.25 in the 3.4 series): before, etcd could send a
//     progress notification for a watch that still had events to send.
//   - The audit log is per node (each event names its node); GetKeyLastUsage
//     reads the usage records every node flushes to the store (internal/usage).
package etcd
