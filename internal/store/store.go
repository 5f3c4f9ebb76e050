package store

import (
	"bytes"
	"context"
	"errors"
)

var (
	// ErrNotFound is returned by Get when no record has the key.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned by Txn when a compare did not hold; nothing was written.
	ErrConflict = errors.New("store: revision conflict")
	// ErrCompacted is sent on a watch whose starting revision is no longer retained.
	ErrCompacted = errors.New("store: revision compacted")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("store: closed")
)

// KV is one record. Value is owned by the caller once returned.
type KV struct {
	Key       string
	Value     []byte
	CreateRev int64 // revision of the write that created the record
	ModRev    int64 // revision of the write that last changed it
}

// Compare is a condition on one key that a Txn checks before writing.
// ModRev 0 means the key must not exist; otherwise its ModRev must equal it.
type Compare struct {
	Key    string
	ModRev int64
}

// Txn is one atomic change: every Compare must hold, then every Put and Delete
// is applied, all under a single new revision.
type Txn struct {
	Compares []Compare
	Puts     []KV // only Key and Value are used
	Deletes  []string
}

// EventType says whether a watched record was written or removed.
type EventType uint8

const (
	Put EventType = iota + 1
	Delete
)

// Event is one change seen by a watcher. For Delete, Value is nil.
type Event struct {
	Type EventType
	KV   KV
}

// WatchResponse carries the events of one revision, in order, or an error after
// which the channel is closed. A response with neither events nor an error is
// a progress notification (only from a Progress store, when asked): every
// change under the watched prefix at revisions up to Revision has been sent.
type WatchResponse struct {
	Revision int64
	Events   []Event
	Err      error
}

// Store is the transactional key-value store every Trent record lives in.
type Store interface {
	// Get returns the record at key, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// Range returns every record whose key starts with prefix, in key order, and
	// the store revision the snapshot was taken at.
	Range(ctx context.Context, prefix string) ([]KV, int64, error)
	// Txn applies t atomically and durably and returns the new revision.
	// It returns ErrConflict, having written nothing, if a compare fails.
	// A Txn with no puts or deletes returns the current revision.
	Txn(ctx context.Context, t Txn) (int64, error)
	// Watch sends every change to keys under prefix made at revisions > fromRev,
	// in revision order, until ctx ends (then the channel is closed).
	Watch(ctx context.Context, prefix string, fromRev int64) <-chan WatchResponse
	// Close releases the store. Pending watches end.
	Close() error
}

// Scanner is implemented by stores that can hand over a range one record at
// a time instead of all at once: Follower.Load prefers it, so that loading a
// large store never holds a copy of every record.
type Scanner interface {
	// Scan calls fn with every record whose key starts with prefix and that
	// keep accepts (nil keeps all), in key order, from one snapshot, and
	// returns the revision of that snapshot. kv.Value is valid only during
	// the call: fn copies what it keeps. An error from fn stops the scan and
	// is returned.
	Scan(ctx context.Context, prefix string, keep func(key []byte) bool, fn func(kv KV) error) (int64, error)
}

// SkipScanner is a Scanner that can pass over a run of refused records
// without reading them: after keep refuses key k, the scan goes on at
// skip(k) when that is after k (every key in between must be one keep
// refuses), else at the next record.
type SkipScanner interface {
	ScanSkip(ctx context.Context, prefix string, keep func(key []byte) bool, skip func(key []byte) []byte, fn func(kv KV) error) (int64, error)
}

// PageReleaser is implemented by stores that read their file through a
// memory map (store/bolt): ReleasePages drops the process's mappings of the
// pages read so far, which stay in the kernel's page cache, so that a scan
// of a few records spread over many pages does not stay in the process's
// resident memory. Follower.Load calls it after a scan.
type PageReleaser interface {
	ReleasePages()
}

// SkipTarget is where a SkipScanner's skip says the scan goes on after k,
// or nil to take the next record: a key not after k is ignored, so that a
// scan always moves on.
func SkipTarget(skip func([]byte) []byte, k []byte) []byte {
	if skip == nil {
		return nil
	}
	if next := skip(k); bytes.Compare(next, k) > 0 {
		return next
	}
	return nil
}

// Progress is implemented by stores that other processes write too
// (store/etcd). A node's view of such a store is only as current as its
// watches, and a watch that has gone silent looks the same as one with
// nothing to say; Progress lets a node confirm that its watches are current.
// store/bolt does not implement it: only this process writes its file, so a
// view of it is never behind anything this process acknowledged.
type Progress interface {
	// Revision returns the store's current revision, read linearizably: it
	// is at least the revision of every write acknowledged before the call.
	Revision(ctx context.Context) (int64, error)
	// RequestProgress asks every watch of the store to send a progress
	// notification (a WatchResponse with no events) once it has sent every
	// change up to the revision the store is at. A watch that is catching
	// up sends none; ask again.
	RequestProgress(ctx context.Context) error
}
