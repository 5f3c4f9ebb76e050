package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// SchemaKey holds the schema version of a store's records: what a Trent
// binary must understand to read them. A binary refuses a store whose
// version is newer than SchemaVersion, rather than misread it; a newer
// binary upgrades older records and then raises the version.
const SchemaKey = "meta/schema"

// SchemaVersion is the schema this binary reads and writes.
//
//	1: the records of Trent with a sealed root key (seal/root).
//	2: a KMS key record may name its key policy document, stored once per
//	   distinct text (acct/<a>/kms/<r>/keypolicies/<sha256>), instead of
//	   holding it; an older Trent would read such a key as having no policy.
//	   Version 1 records read unchanged, so raising 1 to 2 rewrites nothing.
//	3: every KMS key record has a compact index record beside it, written in
//	   the same transaction (acct/<a>/kms/<r>/keyindex/<key-id>), which is all
//	   a node loads of a key at start; an older Trent would write keys
//	   without one, which this one would never see. Raising 2 to 3 writes the
//	   index records of the keys that have none (the upgrade CheckSchema is
//	   given).
const SchemaVersion = 3

type schemaRecord struct {
	Version int `json:"version"`
}

// ErrNewerSchema is returned by CheckSchema for a store written by a newer
// Trent.
var ErrNewerSchema = errors.New("store: the store was written by a newer Trent")

// CheckSchema refuses a store whose schema is newer than this binary's, and
// records this binary's version in a store that has none (a new store, or
// one from before versions were recorded) or an older one, after upgrade
// (if not nil) has brought the older version's records to this one's:
// from then on an older binary, which would misread what this one writes,
// refuses the store. upgrade must be safe to run again (a node that stops
// before recording the version runs it again at its next start) and
// against a new, empty store.
func CheckSchema(ctx context.Context, st Store, upgrade func(ctx context.Context, from int) error) error {
	for {
		v, err := ReadSchema(ctx, st)
		if err != nil {
			return err
		}
		if v == SchemaVersion {
			return nil
		}
		if upgrade != nil {
			if err := upgrade(ctx, v); err != nil {
				return fmt.Errorf("store: upgrade the records of schema version %d: %w", v, err)
			}
		}
		var rev int64
		if v > 0 {
			kv, err := st.Get(ctx, SchemaKey)
			if err != nil {
				return fmt.Errorf("store: read the schema version: %w", err)
			}
			rev = kv.ModRev
		}
		b, _ := json.Marshal(schemaRecord{Version: SchemaVersion})
		_, err = st.Txn(ctx, Txn{Compares: []Compare{{Key: SchemaKey, ModRev: rev}}, Puts: []KV{{Key: SchemaKey, Value: b}}})
		if errors.Is(err, ErrConflict) {
			continue // another node wrote it: check it
		}
		if err != nil {
			return fmt.Errorf("store: record the schema version: %w", err)
		}
		return nil
	}
}

// ReadSchema returns the schema version of a store's records, 0 if none is
// recorded, and an error wrapping ErrNewerSchema if it is newer than this
// binary's. It writes nothing.
func ReadSchema(ctx context.Context, st Store) (int, error) {
	kv, err := st.Get(ctx, SchemaKey)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read the schema version: %w", err)
	}
	var rec schemaRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil || rec.Version < 1 {
		return 0, fmt.Errorf("store: %s is malformed", SchemaKey)
	}
	if rec.Version > SchemaVersion {
		return 0, fmt.Errorf("%w: its schema is version %d, and this Trent understands up to %d: run a newer Trent", ErrNewerSchema, rec.Version, SchemaVersion)
	}
	return rec.Version, nil
}
