package seal

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/store"
)

// Root key rotation
//
// Rotate makes a new root key version, rewraps every sealed record under it
// and retires the older versions once nothing refers to them:
//
//  1. One transaction, conditional on the keyring and on no rotation being
//     under way, writes the keyring with the new version (wrapped by the
//     seal; the old ones sealed under it; the link for running nodes) and
//     the rotation record, RotationKey. From then on every node seals under
//     the new version (Follow).
//  2. The rewrap walks the store in key order, a page at a time. Each page's
//     records that hold a blob under an older version are opened and sealed
//     again, and written in one transaction with the rotation record's new
//     cursor, conditional on every record and the rotation record being as
//     read: a request that changed a record meanwhile wins, and the page is
//     read again. The cursor and the records move together, so a rotation
//     killed at any point resumes at the first record it had not done.
//  3. Verification passes walk the whole store again and rewrap what a node
//     that learned the new version late sealed under an older one, until a
//     pass finds nothing.
//  4. The older versions are then retired: one transaction, conditional on
//     the keyring and the rotation record, drops them and the link and
//     deletes the rotation record. A version that sealed import tokens
//     (handed to callers, valid for a day, not in the store) is kept until
//     those have expired, unless told otherwise; until then the rotation
//     record stays, and Rotate run again verifies and retires.

// RotationKey holds the state of a root key rotation under way.
const RotationKey = "seal/rotation"

// rotationRecord is the value at RotationKey.
type rotationRecord struct {
	Target  uint32    `json:"target"`  // the version being rewrapped to
	Started time.Time `json:"started"` // when it began
	// Pass is 0 during the rewrap, then the number of the verification pass.
	Pass int `json:"pass"`
	// Cursor is the key of the last record the pass has done.
	Cursor string `json:"cursor"`
	// PassRewrapped counts the records this pass rewrapped; Rewrapped all.
	PassRewrapped int64 `json:"passRewrapped"`
	Rewrapped     int64 `json:"rewrapped"`
}

// Visitor finds the sealed blobs of the records of one package: it calls fn
// with each blob sealed in value and its associated data, and returns value
// with every blob replaced by what fn returned. ok is false for a record
// that holds no sealed blob (then nothing is called); fn's error is
// returned. A visitor must know every record that holds a blob: a blob it
// misses still opens only under the version that sealed it, and retiring
// that version loses it.
type Visitor func(key string, value []byte, fn func(sealed, ad []byte) ([]byte, error)) (out []byte, ok bool, err error)

// canaryVisitor is the seal's own record.
func canaryVisitor(key string, value []byte, fn func(sealed, ad []byte) ([]byte, error)) ([]byte, bool, error) {
	if key != CanaryKey {
		return nil, false, nil
	}
	b, err := fn(value, []byte(canaryAD))
	return b, true, err
}

// RotateOptions tune Rotate.
type RotateOptions struct {
	// Batch is the most records one transaction rewraps; 0: 100.
	Batch int
	// RetireAfter is how long an older version stays in the keyring after it
	// stopped sealing, for the import tokens it sealed; 0: a day, their
	// validity.
	RetireAfter time.Duration
	// RetireNow retires older versions as soon as no record refers to
	// them: import tokens they sealed are then refused.
	RetireNow bool
	// Settle is how long after the new version was made the last
	// verification pass may start, at the earliest: a request that sealed
	// a record under the old version just before the new one was made
	// writes it within that time, and the pass then finds it. 0:
	// DefaultSettle; negative: none (tests).
	Settle time.Duration
	Now    func() time.Time // nil: time.Now
	Rand   io.Reader
	// Progress, if set, is told of each transaction.
	Progress func(RotateProgress)
}

// RotateProgress is where a rotation is.
type RotateProgress struct {
	Target    uint32
	Pass      int    // 0: the rewrap; then the verification pass
	Cursor    string // the last record done
	Rewrapped int64  // records rewrapped by this rotation, all passes
}

// RotateResult is what Rotate did.
type RotateResult struct {
	Target    uint32
	Resumed   bool     // it continued a rotation under way
	Rewrapped int64    // records rewrapped by the whole rotation
	Retired   []uint32 // versions retired now
	// Waiting are older versions that seal no record but may have sealed
	// import tokens still valid; they are retired by Rotate run again at
	// or after RetireAt.
	Waiting  []uint32
	RetireAt time.Time
}

// DefaultSettle is RotateOptions.Settle's default.
const DefaultSettle = 5 * time.Second

// DefaultRetireAfter is RotateOptions.RetireAfter's default: the validity
// of import tokens (GetParametersForImport).
const DefaultRetireAfter = 24 * time.Hour

// ErrRotating is returned when a rotation record changed under a rotation:
// another one is running.
var ErrRotating = errors.New("seal: another root key rotation is running")

// Rotate rotates the root key of st, whose keyring s holds (s is the
// running node's Sealer: it holds the new version as soon as it exists).
// If a rotation is under way, Rotate resumes it and w may be nil; otherwise
// w, the seal of the store, wraps the new version, and must first unwrap the
// newest one (a wrong seal changes nothing). visit are the visitors of every
// package's sealed records.
func Rotate(ctx context.Context, st store.Store, s *Sealer, w Wrapper, visit []Visitor, o RotateOptions) (RotateResult, error) {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.RetireAfter <= 0 {
		o.RetireAfter = DefaultRetireAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	visit = append([]Visitor{canaryVisitor}, visit...)
	rot, rotRev, err := readRotation(ctx, st)
	if err != nil {
		return RotateResult{}, err
	}
	res := RotateResult{Resumed: rotRev != 0}
	if rotRev == 0 {
		if w == nil {
			return RotateResult{}, errors.New("seal: a new root key version needs the seal to wrap it")
		}
		if rot, rotRev, err = newVersion(ctx, st, s, w, o); err != nil {
			return RotateResult{}, err
		}
	} else if !s.Holds(rot.Target) {
		// Another node began it: learn the version from the keyring.
		rec, _, err := readRoot(ctx, st)
		if err == nil {
			err = s.sync(rec)
		}
		if err != nil {
			return RotateResult{}, err
		}
	}
	res.Target = rot.Target
	if s.Newest() != rot.Target {
		return RotateResult{}, fmt.Errorf("seal: the rotation under way is to version %d, and this node's newest is %d", rot.Target, s.Newest())
	}
	// The rewrap and the verification passes.
	for {
		if rot.Pass > 0 && rot.Cursor == "" {
			// Records sealed under an older version by requests that were
			// under way when the new one was made are written by now.
			if err := sleep(ctx, rot.Started.Add(o.Settle).Sub(o.Now())); err != nil {
				return res, err
			}
		}
		if rot, rotRev, err = rewrapPass(ctx, st, s, visit, rot, rotRev, o); err != nil {
			return res, err
		}
		res.Rewrapped = rot.Rewrapped
		if rot.Pass > 0 && rot.PassRewrapped == 0 {
			break // a whole verification pass found nothing under an older version
		}
		if rot.Pass >= 5 {
			return res, fmt.Errorf("seal: after %d passes, records under older root key versions keep appearing: a node seals under an older version (is one cut off from the store's changes?); run trent rootkey rotate again", rot.Pass)
		}
		rot.Pass, rot.Cursor, rot.PassRewrapped = rot.Pass+1, "", 0
		if rotRev, err = putRotation(ctx, st, rot, rotRev, store.Txn{}); err != nil {
			return res, err
		}
	}
	return retire(ctx, st, s, rot, rotRev, o, res)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func readRotation(ctx context.Context, st store.Store) (rotationRecord, int64, error) {
	kv, err := st.Get(ctx, RotationKey)
	if errors.Is(err, store.ErrNotFound) {
		return rotationRecord{}, 0, nil
	}
	if err != nil {
		return rotationRecord{}, 0, fmt.Errorf("seal: read %s: %w", RotationKey, err)
	}
	var rot rotationRecord
	if err := json.Unmarshal(kv.Value, &rot); err != nil || rot.Target < 2 {
		return rotationRecord{}, 0, fmt.Errorf("seal: %s is malformed", RotationKey)
	}
	return rot, kv.ModRev, nil
}

// putRotation writes rot with t, conditional on the rotation record being
// at rev, and returns its new revision.
func putRotation(ctx context.Context, st store.Store, rot rotationRecord, rev int64, t store.Txn) (int64, error) {
	b, _ := json.Marshal(rot)
	t.Compares = append(t.Compares, store.Compare{Key: RotationKey, ModRev: rev})
	t.Puts = append(t.Puts, store.KV{Key: RotationKey, Value: b})
	return st.Txn(ctx, t)
}

// newVersion makes the next root key version: it checks that w opens the
// newest, wraps a new key with w, seals the older ones under it, links it
// from the newest, and writes the keyring with the rotation record.
func newVersion(ctx context.Context, st store.Store, s *Sealer, w Wrapper, o RotateOptions) (rotationRecord, int64, error) {
	rec, modRev, err := readRoot(ctx, st)
	if err != nil {
		return rotationRecord{}, 0, err
	}
	if rec.Version != s.Newest() {
		return rotationRecord{}, 0, fmt.Errorf("seal: this node's newest root key version is %d and the store's %d; retry once it has followed the store", s.Newest(), rec.Version)
	}
	cur, err := unwrapNewest(ctx, rec, w)
	if err != nil {
		return rotationRecord{}, 0, err
	}
	defer clear(cur)
	// The seal must give the key this node seals with: a probe sealed by s
	// opens under what w unwrapped.
	probe, err := s.Seal([]byte(canaryText), []byte(canaryAD))
	if err != nil {
		return rotationRecord{}, 0, err
	}
	check, err := openKeyring(rootRecord{Version: rec.Version}, cur, nil)
	if err != nil {
		return rotationRecord{}, 0, err
	}
	if pt, err := check.Open(probe, []byte(canaryAD)); err != nil || subtle.ConstantTimeCompare(pt, []byte(canaryText)) != 1 {
		return rotationRecord{}, 0, ErrMismatch
	}

	v := rec.Version + 1
	if v > maxVersion {
		return rotationRecord{}, 0, errors.New("seal: the root key has no more versions")
	}
	key := make([]byte, rootKeySize)
	defer clear(key)
	if _, err := io.ReadFull(o.Rand, key); err != nil {
		return rotationRecord{}, 0, fmt.Errorf("seal: generate root key: %w", err)
	}
	ad := wrapAD(w.Kind(), v)
	params, wrapped, err := w.Wrap(ctx, key, ad)
	if err != nil {
		return rotationRecord{}, 0, fmt.Errorf("seal: wrap the new root key version: %w", err)
	}
	// As Migrate: a seal that wraps but does not unwrap must not lock the
	// store.
	back, err := w.Unwrap(ctx, params, wrapped, ad)
	if err != nil {
		return rotationRecord{}, 0, fmt.Errorf("seal: the %s seal does not unwrap the new root key version it wrapped: %w", w.Kind(), err)
	}
	same := subtle.ConstantTimeCompare(back, key) == 1
	clear(back)
	if !same {
		return rotationRecord{}, 0, fmt.Errorf("seal: the %s seal unwraps another key than it wrapped", w.Kind())
	}
	next, err := openKeyring(rootRecord{Version: v}, key, o.Rand)
	if err != nil {
		return rotationRecord{}, 0, err
	}
	now := o.Now().UTC()
	out := rootRecord{Format: rootFormat2, Seal: w.Kind().String(), Params: params, Wrapped: wrapped, Created: now, Version: v}
	// The older versions, each sealed under the new one: what was newest,
	// and what was older already (opened through s).
	older := func(ov uint32, k []byte, created, superseded time.Time) error {
		b, err := next.Seal(k, olderAD(ov))
		if err == nil {
			out.Older = append(out.Older, olderVersion{Version: ov, Sealed: b, Created: created, Superseded: superseded})
		}
		return err
	}
	for _, ov := range rec.Older {
		k, err := s.Open(ov.Sealed, olderAD(ov.Version))
		if err != nil {
			return rotationRecord{}, 0, fmt.Errorf("%w: root key version %d does not open", ErrMismatch, ov.Version)
		}
		err = older(ov.Version, k, ov.Created, ov.Superseded)
		clear(k)
		if err != nil {
			return rotationRecord{}, 0, err
		}
	}
	if err := older(rec.Version, cur, rec.Created, now); err != nil {
		return rotationRecord{}, 0, err
	}
	if out.Link, err = s.Seal(key, linkAD(v)); err != nil {
		return rotationRecord{}, 0, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return rotationRecord{}, 0, err
	}
	rot := rotationRecord{Target: v, Started: now}
	rotRev, err := putRotation(ctx, st, rot, 0, store.Txn{
		Compares: []store.Compare{{Key: RootKey, ModRev: modRev}},
		Puts:     []store.KV{{Key: RootKey, Value: b}},
	})
	if errors.Is(err, store.ErrConflict) {
		return rotationRecord{}, 0, fmt.Errorf("%w, or the seal was migrated meanwhile; nothing was written: run it again", ErrRotating)
	}
	if err != nil {
		return rotationRecord{}, 0, err
	}
	// This node seals under the new version from now on; the others once
	// they follow the keyring.
	if err := s.add(v, key); err != nil {
		return rotationRecord{}, 0, err
	}
	return rot, rotRev, nil
}

// rewrapPass continues a pass from rot.Cursor to the end of the store.
func rewrapPass(ctx context.Context, st store.Store, s *Sealer, visit []Visitor, rot rotationRecord, rotRev int64, o RotateOptions) (rotationRecord, int64, error) {
	unsaved := 0 // records passed since the cursor was last written
	for conflicts := 0; ; {
		page, err := store.Page(ctx, st, "", rot.Cursor, o.Batch)
		if err != nil {
			return rot, rotRev, err
		}
		if len(page) == 0 {
			if unsaved > 0 {
				rotRev, err = putRotation(ctx, st, rot, rotRev, store.Txn{})
				if errors.Is(err, store.ErrConflict) {
					err = ErrRotating
				}
			}
			return rot, rotRev, err
		}
		var t store.Txn
		next := rot
		for _, kv := range page {
			next.Cursor = kv.Key
			if strings.HasPrefix(kv.Key, "seal/") && kv.Key != CanaryKey {
				continue // the keyring and the rotation record themselves
			}
			out, changed, err := rewrapRecord(s, visit, rot.Target, kv)
			if err != nil {
				return rot, rotRev, err
			}
			if changed {
				t.Compares = append(t.Compares, store.Compare{Key: kv.Key, ModRev: kv.ModRev})
				t.Puts = append(t.Puts, store.KV{Key: kv.Key, Value: out})
			}
		}
		clearValues(page)
		n := int64(len(t.Puts))
		next.PassRewrapped += n
		next.Rewrapped += n
		unsaved += len(page)
		if n == 0 && unsaved < 10*o.Batch {
			// Nothing to write: the cursor is saved with the next batch,
			// or every ten pages, to bound what a resumption walks again.
			rot = next
			continue
		}
		rev, err := putRotation(ctx, st, next, rotRev, t)
		if errors.Is(err, store.ErrConflict) {
			if _, cur, rerr := readRotation(ctx, st); rerr != nil || cur != rotRev {
				return rot, rotRev, ErrRotating
			}
			// A request wrote one of the page's records: read it again.
			if conflicts++; conflicts > 100 {
				return rot, rotRev, fmt.Errorf("seal: the records after %q keep changing during the rotation; run it again", rot.Cursor)
			}
			time.Sleep(time.Duration(conflicts) * 10 * time.Millisecond)
			continue
		}
		if err != nil {
			return rot, rotRev, err
		}
		conflicts, unsaved = 0, 0
		rot, rotRev = next, rev
		if o.Progress != nil {
			o.Progress(RotateProgress{Target: rot.Target, Pass: rot.Pass, Cursor: rot.Cursor, Rewrapped: rot.Rewrapped})
		}
	}
}

// rewrapRecord seals every blob of kv that is not under version target
// under it. changed is false if there was none.
func rewrapRecord(s *Sealer, visit []Visitor, target uint32, kv store.KV) (out []byte, changed bool, err error) {
	fn := func(sealed, ad []byte) ([]byte, error) {
		if v, _ := SealedVersion(sealed); v == target || len(sealed) == 0 {
			return sealed, nil // done, or an optional field with nothing sealed
		}
		pt, err := s.Open(sealed, ad)
		if err != nil {
			return nil, fmt.Errorf("seal: %s: a sealed value does not open under this keyring: %w", kv.Key, err)
		}
		defer clear(pt)
		changed = true
		r := s.ring.Load()
		return r.seal(target, pt, ad, s.rand)
	}
	for _, v := range visit {
		out, ok, err := v(kv.Key, kv.Value, fn)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return out, changed, nil
		}
	}
	return nil, false, nil
}

// clearValues clears the values of records read: they hold sealed blobs
// only, but the page's copies are not needed any more.
func clearValues(kvs []store.KV) {
	for i := range kvs {
		kvs[i].Value = nil
	}
}

// retire drops the older versions once verified, or those whose import
// tokens have expired.
func retire(ctx context.Context, st store.Store, s *Sealer, rot rotationRecord, rotRev int64, o RotateOptions, res RotateResult) (RotateResult, error) {
	rec, modRev, err := readRoot(ctx, st)
	if err != nil {
		return res, err
	}
	if rec.Version != rot.Target {
		return res, fmt.Errorf("seal: the keyring's newest version is %d, not the rotation's %d", rec.Version, rot.Target)
	}
	now := o.Now()
	out := rec
	out.Older = nil
	for _, ov := range rec.Older {
		if at := ov.Superseded.Add(o.RetireAfter); !o.RetireNow && now.Before(at) {
			out.Older = append(out.Older, ov)
			res.Waiting = append(res.Waiting, ov.Version)
			if at.After(res.RetireAt) {
				res.RetireAt = at
			}
			continue
		}
		res.Retired = append(res.Retired, ov.Version)
	}
	var t store.Txn
	if len(out.Older) == 0 {
		// Nothing but the newest is left: no node needs the link, and no
		// retired key should open the newest.
		out.Link = nil
		t.Deletes = []string{RotationKey}
	} else {
		// Some wait for their import tokens: the rotation stays, and the
		// next run verifies the whole store again before retiring them.
		rot.Pass, rot.Cursor, rot.PassRewrapped = rot.Pass+1, "", 0
		b, _ := json.Marshal(rot)
		t.Puts = append(t.Puts, store.KV{Key: RotationKey, Value: b})
	}
	t.Compares = append(t.Compares, store.Compare{Key: RootKey, ModRev: modRev}, store.Compare{Key: RotationKey, ModRev: rotRev})
	if len(res.Retired) > 0 {
		b, err := json.Marshal(out)
		if err != nil {
			return res, err
		}
		t.Puts = append(t.Puts, store.KV{Key: RootKey, Value: b})
	}
	if _, err := st.Txn(ctx, t); errors.Is(err, store.ErrConflict) {
		return res, fmt.Errorf("%w, or the seal was migrated meanwhile; nothing was retired: run it again", ErrRotating)
	} else if err != nil {
		return res, err
	}
	return res, s.sync(out)
}

// Count reports how many records each root key version seals, by walking
// the store a page at a time. A record with blobs under two versions counts
// for both.
func Count(ctx context.Context, st store.Store, visit []Visitor) (map[uint32]int64, error) {
	visit = append([]Visitor{canaryVisitor}, visit...)
	counts := map[uint32]int64{}
	after := ""
	for {
		page, err := store.Page(ctx, st, "", after, 500)
		if err != nil || len(page) == 0 {
			return counts, err
		}
		for _, kv := range page {
			after = kv.Key
			seen := map[uint32]bool{}
			for _, v := range visit {
				_, ok, err := v(kv.Key, kv.Value, func(sealed, _ []byte) ([]byte, error) {
					if v, ok := SealedVersion(sealed); ok {
						seen[v] = true
					} else if len(sealed) > 0 {
						seen[0] = true // not a sealed blob: counted as version 0
					}
					return sealed, nil
				})
				if err != nil {
					return nil, fmt.Errorf("seal: %s: %w", kv.Key, err)
				}
				if ok {
					break
				}
			}
			for v := range seen {
				counts[v]++
			}
		}
		clearValues(page)
	}
}

// Rotation describes a rotation under way; ok is false if there is none.
func Rotation(ctx context.Context, st store.Store) (p RotateProgress, started time.Time, ok bool, err error) {
	rot, rev, err := readRotation(ctx, st)
	if err != nil || rev == 0 {
		return RotateProgress{}, time.Time{}, false, err
	}
	return RotateProgress{Target: rot.Target, Pass: rot.Pass, Cursor: rot.Cursor, Rewrapped: rot.Rewrapped}, rot.Started, true, nil
}
