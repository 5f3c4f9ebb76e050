package kms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
	"unique"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/store"
)

// State is a key's lifecycle state.
type State uint8

const (
	Enabled State = iota + 1
	Disabled
	PendingDeletion
	PendingImport
	// Unavailable is never stored: a key in a disconnected custom key store
	// shows it instead of Enabled or Disabled.
	Unavailable
)

var stateNames = [...]string{Enabled: "Enabled", Disabled: "Disabled", PendingDeletion: "PendingDeletion", PendingImport: "PendingImport", Unavailable: "Unavailable"}

func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n != "" && n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("kms: unknown key state %q", b)
}

// Origin is where a key's material comes from (KeyMetadata Origin).
type Origin uint8

const (
	originAWSKMS Origin = iota + 1
	originExternal
	originCloudHSM
	originXKS
)

var originNames = [...]string{originAWSKMS: "AWS_KMS", originExternal: "EXTERNAL", originCloudHSM: "AWS_CLOUDHSM", originXKS: "EXTERNAL_KEY_STORE"}

func (o Origin) String() string {
	if int(o) < len(originNames) && originNames[o] != "" {
		return originNames[o]
	}
	return fmt.Sprintf("Origin(%d)", o)
}

// parseOrigin parses an Origin wire name.
func parseOrigin(s string) (Origin, bool) {
	for i, n := range originNames {
		if n != "" && n == s {
			return Origin(i), true
		}
	}
	return 0, false
}

func (o Origin) MarshalText() ([]byte, error) {
	if int(o) < len(originNames) && originNames[o] != "" {
		return []byte(originNames[o]), nil
	}
	return nil, fmt.Errorf("kms: invalid origin %d", o)
}

func (o *Origin) UnmarshalText(b []byte) error {
	v, ok := parseOrigin(string(b))
	if !ok {
		return fmt.Errorf("kms: unknown origin %q", b)
	}
	*o = v
	return nil
}

// keyRecord is a key as stored (everything but its material).
type keyRecord struct {
	ID          string `json:"id"`
	Account     string `json:"account"`
	Region      string `json:"region"`
	Created     stamp  `json:"created"`
	Description string `json:"description"`
	State       State  `json:"state"`
	// Usage, Spec and Origin are enums in memory and their wire names in
	// the record; a record with an unknown one does not decode.
	Usage  keys.Usage `json:"usage"`
	Spec   keys.Spec  `json:"spec"`
	Origin Origin     `json:"origin"`
	// Policy is the key policy document. The store holds it once per
	// distinct document, in a record of its own (keypolicies/<ref>), and
	// the key record names it by PolicyRef; records written before that
	// carry the document here, and still read unchanged. In the view,
	// Policy is always the document and PolicyRef its reference, if any.
	Policy    string `json:"policy,omitempty"`
	PolicyRef string `json:"policyRef,omitempty"`
	Tags      []tag  `json:"tags,omitempty"`

	DeletionDate  stamp `json:"deletionDate,omitzero"`
	PendingWindow int32 `json:"pendingWindow,omitempty"`

	RotationEnabled bool  `json:"rotationEnabled,omitempty"`
	RotationPeriod  int32 `json:"rotationPeriod,omitempty"` // days
	NextRotation    stamp `json:"nextRotation,omitzero"`
	OnDemandStart   stamp `json:"onDemandStart,omitzero"` // when the running on-demand rotation began

	// CurrentMaterial encrypts; every material in Materials decrypts.
	CurrentMaterial string     `json:"currentMaterial"`
	Materials       []material `json:"materials"`

	// ExpirationModel and ValidTo are read only from records written before
	// each imported material had its own (material): they were the current
	// material's, and upgrade moves them there.
	ExpirationModel string `json:"expirationModel,omitempty"`
	ValidTo         stamp  `json:"validTo,omitzero"`

	// CustomKeyStoreID is the custom key store (Origin AWS_CLOUDHSM) whose
	// token holds the key's material.
	CustomKeyStoreID string `json:"customKeyStoreId,omitempty"`
	// XksKeyID is the external key (Origin EXTERNAL_KEY_STORE) that does
	// the key's cryptography; such a key has no material (xks.go).
	XksKeyID string `json:"xksKeyId,omitempty"`

	// PrimaryRegion makes the key a member of a multi-Region key
	// (multiregion.go): every member has the same id and material and names
	// the Region of the family's primary here. Empty for single-Region keys.
	PrimaryRegion string `json:"primaryRegion,omitempty"`

	// PolicyBindings binds each user and role ARN the policy names, as
	// written, to the unique id of the entity it named when the policy was
	// saved ("" for none); see bindKeyPolicy.
	PolicyBindings map[string]string `json:"policyBindings,omitempty"`
	// policyHandle keeps the interned Policy's canonical copy alive while
	// the record is in the view (internRecord).
	policyHandle unique.Handle[string]
}

// stamp is a time held per key: Unix nanoseconds, 8 bytes without a
// pointer where a time.Time takes 24 with its location's; 0 is the zero
// time. A record holds the RFC 3339 text time.Time writes, so stored data
// reads and writes as before; a time a stamp cannot hold (outside
// 1678–2261) does not decode. Every time a key holds is now, a date within
// a year of now, or one read back from a record.
type stamp int64

// stampOf is t as a stamp.
func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return 0
	}
	return stamp(t.UnixNano())
}

// Time is s as a time in UTC.
func (s stamp) Time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s)).UTC()
}

func (s stamp) IsZero() bool { return s == 0 }

func (s stamp) MarshalJSON() ([]byte, error) { return s.Time().MarshalJSON() }

func (s *stamp) UnmarshalJSON(b []byte) error {
	var t time.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	if y := t.Year(); !t.IsZero() && (y < 1678 || y > 2261) {
		return fmt.Errorf("kms: time %s out of range", t.Format(time.RFC3339))
	}
	*s = stampOf(t)
	return nil
}

// multiRegion reports whether r is a member of a multi-Region key.
func (r *keyRecord) multiRegion() bool { return r.PrimaryRegion != "" }

// replica reports whether r is a multi-Region replica key.
func (r *keyRecord) replica() bool { return r.PrimaryRegion != "" && r.PrimaryRegion != r.Region }

// material is the public description of one version of key material; the
// sealed bytes are a record of their own.
type material struct {
	ID           string `json:"id"`
	Created      stamp  `json:"created"`
	RotationType string `json:"rotationType,omitempty"` // AUTOMATIC or ON_DEMAND; empty for the first
	// PendingRotation marks imported material (ImportType NEW_KEY_MATERIAL)
	// that RotateKeyOnDemand has yet to make current.
	PendingRotation bool `json:"pendingRotation,omitempty"`
	// Description is the KeyMaterialDescription of an import.
	Description string `json:"description,omitempty"`
	// ExpirationModel and ValidTo are what the last import of this
	// (imported) material set; both are cleared when it is deleted or
	// expires, so an ExpirationModel means the material is imported.
	ExpirationModel string `json:"expirationModel,omitempty"`
	ValidTo         stamp  `json:"validTo,omitzero"`
	// Rotated is when a rotation made the material current; zero for the
	// first material, material pending rotation, and material whose
	// rotation date is its creation (records before Rotated existed).
	Rotated stamp `json:"rotated,omitzero"`
}

// upgrade brings a record written by an older Trent to the current form:
// the key-level expiry of imported material becomes the current
// material's.
func (r *keyRecord) upgrade() {
	if r.ExpirationModel == "" {
		return
	}
	for i := range r.Materials {
		if m := &r.Materials[i]; m.ID == r.CurrentMaterial && m.ExpirationModel == "" {
			m.ExpirationModel, m.ValidTo = r.ExpirationModel, r.ValidTo
		}
	}
	r.ExpirationModel, r.ValidTo = "", 0
}

// importExpiry is the KeyMetadata view of a key's imported material: the
// ExpirationModel ("" with no material imported) and the earliest ValidTo
// of the imported material permanently associated with the key, which
// material pending rotation is not yet (KeyMetadata, ValidTo).
func (r *keyRecord) importExpiry() (string, time.Time) {
	model, validTo := "", time.Time{}
	for _, m := range r.Materials {
		if m.PendingRotation {
			continue
		}
		switch m.ExpirationModel {
		case expires:
			model = expires
			if v := m.ValidTo.Time(); validTo.IsZero() || v.Before(validTo) {
				validTo = v
			}
		case doesNotExpire:
			if model == "" {
				model = doesNotExpire
			}
		}
	}
	return model, validTo
}

// expired returns the imported materials of r whose ValidTo has come.
func (r *keyRecord) expired(now time.Time) []string {
	var out []string
	for _, m := range r.Materials {
		if m.ExpirationModel == expires && !m.ValidTo.IsZero() && !now.Before(m.ValidTo.Time()) {
			out = append(out, m.ID)
		}
	}
	return out
}

// rotationDate is when a rotation made m current, if one did.
func (m material) rotationDate() time.Time {
	switch {
	case m.RotationType == "" || m.PendingRotation:
		return time.Time{}
	case !m.Rotated.IsZero():
		return m.Rotated.Time()
	}
	return m.Created.Time()
}

type tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

type aliasRecord struct {
	Name        string    `json:"name"`
	TargetKeyID string    `json:"targetKeyId"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

type materialRecord struct {
	Sealed []byte `json:"sealed"`
	// Spec says how to load the material; records written before there were
	// other specs have none and are SYMMETRIC_DEFAULT.
	Spec string `json:"spec,omitempty"`
	// KeyStore, instead of Sealed, names the custom key store whose token
	// holds the material, under the label customkeystore.Label(key id, material id).
	KeyStore string `json:"keyStore,omitempty"`
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own record types reach here; they always marshal.
		panic(fmt.Sprintf("kms: marshal %T: %v", v, err))
	}
	return b
}

func regionPrefix(account, region string) string { return "acct/" + account + "/kms/" + region + "/" }

func keyPath(account, region, id string) string {
	return regionPrefix(account, region) + "keys/" + id
}

func materialPath(account, region, id, materialID string) string {
	return regionPrefix(account, region) + "material/" + id + "/" + materialID
}

// policyDocPath is where a key policy document is stored, under its
// reference: "keypolicies" sorts before "keys", so a scan of the store
// meets the documents of a Region before the keys that name them.
func policyDocPath(account, region, ref string) string {
	return regionPrefix(account, region) + "keypolicies/" + ref
}

// policyRef is the reference of a key policy document: the hex SHA-256 of
// its text, so that equal documents are stored once and a document record
// proves its own content.
func policyRef(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

// storedKey is what writing rec puts: its policy document, under its
// reference, the key record naming it and the key's index record
// (index.go). Every write of a key record puts its document again, in the
// same transaction, so a key record is never committed without the
// document it names, even when the sweep of unused documents deletes one
// concurrently (sweepPolicyDocs); and its index record, so that the index
// a node loads at start says of every key what the key record says.
func storedKey(rec keyRecord) []store.KV {
	kp := keyPath(rec.Account, rec.Region, rec.ID)
	if rec.Policy == "" {
		return []store.KV{
			{Key: keyIndexPath(rec.Account, rec.Region, rec.ID), Value: indexOf(&rec).marshal()},
			{Key: kp, Value: marshal(rec)},
		}
	}
	doc := rec.Policy
	rec.PolicyRef = policyRef(doc)
	ix := indexOf(&rec)
	rec.Policy = ""
	return []store.KV{
		{Key: keyIndexPath(rec.Account, rec.Region, rec.ID), Value: ix.marshal()},
		{Key: policyDocPath(rec.Account, rec.Region, rec.PolicyRef), Value: []byte(doc)},
		{Key: kp, Value: marshal(rec)},
	}
}

// deletedKey is what deleting a key's record deletes with it: the record
// and its index record.
func deletedKey(account, region, id string) []string {
	return []string{keyIndexPath(account, region, id), keyPath(account, region, id)}
}

func aliasPath(account, region, name string) string {
	return regionPrefix(account, region) + "aliases/" + name
}

// readKeyRecord decodes a key record read from the store at account and
// region, with its policy document: from the record itself (older records)
// or from the document record it names, which must match its reference.
func (s *Service) readKeyRecord(ctx context.Context, account, region string, value []byte) (keyRecord, error) {
	var rec keyRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return keyRecord{}, fmt.Errorf("kms: undecodable key record: %w", err)
	}
	if rec.PolicyRef == "" {
		return rec, nil
	}
	kv, err := s.st.Get(ctx, policyDocPath(account, region, rec.PolicyRef))
	if err != nil {
		return keyRecord{}, fmt.Errorf("kms: key policy document %s of key %s: %w", rec.PolicyRef, rec.ID, err)
	}
	if policyRef(string(kv.Value)) != rec.PolicyRef {
		return keyRecord{}, fmt.Errorf("kms: key policy document %s does not match its reference", rec.PolicyRef)
	}
	rec.Policy = string(kv.Value)
	return rec, nil
}
