package kms

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// The view's in-memory index of every key, built from the stored index
// records (index.go): what the quota counts, the sweeps, the references of
// policy documents, ListKeys and the custom key store checks need, in a
// few tens of bytes a key, with no pointer for the collector to follow.
// The keys themselves are loaded on use into a bounded cache (keycache.go).

// ixKey is a key's place in the index: its Region's number and the 16
// bytes of its id, a UUID or (mrk set) a multi-Region key's 32 hex digits.
type ixKey struct {
	region uint32
	mrk    bool
	id     [16]byte
}

// ixEntry is what the index holds of a key.
type ixEntry struct {
	// rev is the key's unit revision as this view applied it: the newest
	// revision of its key record and material records (keycache.go).
	rev int64
	// due is indexRecord.Due.
	due int64
	// account, doc and store are numbers in the index's names: the
	// key's account, its policy document's reference and its custom key
	// store (0: none).
	account, doc, store uint32
	unbound             bool
}

// keyIdx is every key of the view by Region and id.
type keyIdx struct {
	entries map[ixKey]ixEntry
	// other holds the keys whose ids are not in the canonical lower-case
	// form that ixKey holds (ids are checked on input, not on storage).
	other map[keyRef]ixEntry
	names strNames
}

func newKeyIndex() keyIdx {
	return keyIdx{entries: map[ixKey]ixEntry{}, other: map[keyRef]ixEntry{}, names: strNames{byName: map[string]uint32{"": 0}, list: []string{""}}}
}

// names numbers the strings the index holds many times (Regions, accounts,
// document references, key store ids); 0 is "". Numbers are never
// reused: there are few distinct names.
type strNames struct {
	byName map[string]uint32
	list   []string
}

func (n *strNames) number(s string) uint32 {
	if i, ok := n.byName[s]; ok {
		return i
	}
	s = strings.Clone(s)
	i := uint32(len(n.list))
	n.byName[s] = i
	n.list = append(n.list, s)
	return i
}

// lookup is s's number, if it has one.
func (n *strNames) lookup(s string) (uint32, bool) {
	i, ok := n.byName[s]
	return i, ok
}

func (n *strNames) name(i uint32) string { return n.list[i] }

// parseKeyID is the ixKey form of id in a Region numbered region.
func parseKeyID(region uint32, id string) (ixKey, bool) {
	k := ixKey{region: region}
	var h string
	if rest, ok := strings.CutPrefix(id, "mrk-"); ok {
		k.mrk, h = true, rest
	} else {
		if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			return ixKey{}, false
		}
		h = id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:]
	}
	if len(h) != 32 || strings.ToLower(h) != h {
		return ixKey{}, false
	}
	if _, err := hex.Decode(k.id[:], []byte(h)); err != nil {
		return ixKey{}, false
	}
	return k, true
}

// idString is the key id k holds.
func (k ixKey) idString() string {
	h := hex.EncodeToString(k.id[:])
	if k.mrk {
		return "mrk-" + h
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (x *keyIdx) get(region, id string) (ixEntry, bool) {
	r, ok := x.names.lookup(region)
	if !ok {
		return ixEntry{}, false
	}
	if k, ok := parseKeyID(r, id); ok {
		e, ok := x.entries[k]
		return e, ok
	}
	e, ok := x.other[keyRef{region, id}]
	return e, ok
}

func (x *keyIdx) set(region, id string, e ixEntry) {
	r := x.names.number(region)
	if k, ok := parseKeyID(r, id); ok {
		x.entries[k] = e
		return
	}
	x.other[keyRef{x.names.name(r), strings.Clone(id)}] = e
}

// upsert sets the entry of a key to what fn makes of the entry it had, if
// any: one parse of the id, for loads that put every key.
func (x *keyIdx) upsert(region, id string, fn func(old ixEntry, had bool) ixEntry) {
	r := x.names.number(region)
	if k, ok := parseKeyID(r, id); ok {
		old, had := x.entries[k]
		x.entries[k] = fn(old, had)
		return
	}
	ref := keyRef{x.names.name(r), id}
	old, had := x.other[ref]
	if !had {
		ref.id = strings.Clone(id)
	}
	x.other[ref] = fn(old, had)
}

func (x *keyIdx) del(region, id string) {
	r, ok := x.names.lookup(region)
	if !ok {
		return
	}
	if k, ok := parseKeyID(r, id); ok {
		delete(x.entries, k)
		return
	}
	delete(x.other, keyRef{region, id})
}

func (x *keyIdx) len() int { return len(x.entries) + len(x.other) }

// each calls fn with every key of the index that match accepts, building
// the ids of those only.
func (x *keyIdx) each(match func(e ixEntry) bool, fn func(region, id string, e ixEntry)) {
	for k, e := range x.entries {
		if match(e) {
			fn(x.names.name(k.region), k.idString(), e)
		}
	}
	for k, e := range x.other {
		if match(e) {
			fn(k.region, k.id, e)
		}
	}
}

// eachIn is each for the keys of one account and Region, without building
// the ids of the others.
func (x *keyIdx) eachIn(account, region string, fn func(id string, e ixEntry)) {
	r, ok := x.names.lookup(region)
	a, ok2 := x.names.lookup(account)
	if !ok || !ok2 {
		return
	}
	for k, e := range x.entries {
		if k.region == r && e.account == a {
			fn(k.idString(), e)
		}
	}
	for k, e := range x.other {
		if k.region == region && e.account == a {
			fn(k.id, e)
		}
	}
}

// decodeIndexRecord decodes a stored index record: the form marshal
// writes by hand (a start decodes one per key, and encoding/json was a
// third of it), anything else with encoding/json.
func decodeIndexRecord(b []byte) (indexRecord, error) {
	if ix, ok := decodeIndexFast(b); ok {
		return ix, nil
	}
	var ix indexRecord
	err := json.Unmarshal(b, &ix)
	return ix, err
}

// decodeIndexFast decodes an index record of the members marshal writes,
// in its order or another, with plain decimal numbers and strings without
// escapes; ok is false for anything else.
func decodeIndexFast(b []byte) (ix indexRecord, ok bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return ix, false
	}
	b = b[1 : len(b)-1]
	for first := true; len(b) > 0; first = false {
		if !first {
			if b[0] != ',' {
				return ix, false
			}
			b = b[1:]
		}
		switch {
		case bytes.HasPrefix(b, []byte(`"due":`)):
			b = b[len(`"due":`):]
			i, n := 0, int64(0)
			for ; i < len(b) && i < 18 && '0' <= b[i] && b[i] <= '9'; i++ {
				n = n*10 + int64(b[i]-'0')
			}
			if i == 0 || (i < len(b) && b[i] != ',') {
				return ix, false
			}
			ix.Due, b = n, b[i:]
		case bytes.HasPrefix(b, []byte(`"doc":"`)):
			if ix.Doc, b, ok = plainString(b[len(`"doc":"`):]); !ok {
				return ix, false
			}
		case bytes.HasPrefix(b, []byte(`"cks":"`)):
			if ix.Store, b, ok = plainString(b[len(`"cks":"`):]); !ok {
				return ix, false
			}
		case bytes.HasPrefix(b, []byte(`"unbound":true`)):
			ix.Unbound, b = true, b[len(`"unbound":true`):]
		default:
			return ix, false
		}
	}
	return ix, true
}

// plainString reads a JSON string's body up to its closing quote, if it
// has no escape or control or non-ASCII byte.
func plainString(b []byte) (string, []byte, bool) {
	i := bytes.IndexByte(b, '"')
	if i < 0 {
		return "", nil, false
	}
	for _, c := range b[:i] {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return "", nil, false
		}
	}
	return string(b[:i]), b[i+1:], true
}
