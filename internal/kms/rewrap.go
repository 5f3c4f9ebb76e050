package kms

import (
	"encoding/json"
	"fmt"

	"github.com/trentkms/trent/internal/customkeystore"
	"github.com/trentkms/trent/internal/keys"
)

// VisitSealed is the seal.Visitor of the KMS records that hold blobs sealed
// under the root key: key material (not that of custom key stores, which
// their tokens hold), a custom key store's password and an external key
// store proxy's secret, and the grant token key. trent rootkey rotate uses
// it to rewrap them and count them by root key version. Each blob is opened
// with the associated data its record is sealed with, and the record is
// written back with its own type, so every field stays as it was.
func VisitSealed(key string, value []byte, fn func(sealed, ad []byte) ([]byte, error)) ([]byte, bool, error) {
	if key == tokenKeyPath {
		b, err := fn(value, []byte(tokenKeyAAD))
		return b, true, err
	}
	p, ok := parsePath(key)
	if !ok {
		return nil, false, nil
	}
	switch p.kind {
	case "material":
		var rec materialRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return nil, false, fmt.Errorf("kms: undecodable material record: %w", err)
		}
		if rec.Sealed == nil {
			return nil, false, nil // in a custom key store's token
		}
		var err error
		if rec.Sealed, err = fn(rec.Sealed, (*Service).materialAAD(nil, p.account, p.region, p.id, p.sub)); err != nil {
			return nil, true, err
		}
		return marshal(rec), true, nil
	case "keystores":
		return customkeystore.VisitSealed(value, fn)
	}
	return nil, false, nil
}

// retireMaterial drops the open material of an entry that a write replaced:
// a root key rotation rewraps material records under load, and a request
// that took the material just before must still be able to use it, so its
// bytes are cleared once nothing holds it (keys.Retire) instead of at once.
// The next use opens the new record.
func (v *view) retireMaterial(e *matEntry) {
	if m := v.cache.drop(e); m != nil {
		keys.Retire(m)
	}
}
