package kms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Imported key material (Origin EXTERNAL; importing-keys*.md).
//
// An import token is stateless: it is the wrapping private key, its spec and
// algorithm, the key it is for and its expiry, sealed under the root key with
// the key's ARN as associated data. Only this server can open it, and only
// for that key; nothing is stored until ImportKeyMaterial succeeds.

const importParamsValidity = 24 * time.Hour

const (
	expires       = "KEY_MATERIAL_EXPIRES"
	doesNotExpire = "KEY_MATERIAL_DOES_NOT_EXPIRE"
	importNew     = "NEW_KEY_MATERIAL"
	importAgain   = "EXISTING_KEY_MATERIAL"
)

type importToken struct {
	KeyID   string    `json:"k"`
	Spec    string    `json:"s"`
	Alg     string    `json:"a"`
	Private []byte    `json:"p"` // PKCS #8 of the wrapping key
	Expires time.Time `json:"e"`
}

func (s *Service) tokenAAD(k *key) []byte { return []byte("import-token|" + k.arn) }

// GetParametersForImport returns a wrapping public key and an import token,
// both valid for 24 hours.
func (s *Service) GetParametersForImport(ctx context.Context, c Caller, in *kmsapi.GetParametersForImportRequest) (*kmsapi.GetParametersForImportResponse, error) {
	spec, serr := keys.ParseSpec(*in.WrappingKeySpec)
	alg, aerr := keys.ParseWrappingAlgorithm(*in.WrappingAlgorithm)
	if serr != nil || aerr != nil || !keys.WrappingAllowed(spec, alg) {
		return nil, wire.Validation("Wrapping algorithm " + *in.WrappingAlgorithm + " is not supported with wrapping key spec " + *in.WrappingKeySpec + ".")
	}
	k, err := s.keyForOp(c, "GetParametersForImport", *in.KeyId, keyOnly, access{op: "GetParametersForImport",
		keys: []string{"kms:wrappingalgorithm", *in.WrappingAlgorithm, "kms:wrappingkeyspec", *in.WrappingKeySpec}})
	if err != nil {
		return nil, err
	}
	der, err := keys.Generate(s.rand, spec)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	wk, err := keys.NewAsymmetric(spec, keys.MaterialID{}, append([]byte(nil), der...))
	if err != nil {
		return nil, err
	}
	pub := wk.PublicKey()
	wk.Destroy()
	until := s.now().UTC().Add(importParamsValidity)
	plain, _ := json.Marshal(importToken{KeyID: k.rec.ID, Spec: spec.String(), Alg: alg.String(), Private: der, Expires: until})
	defer clear(plain)
	token, err := s.sealer.Seal(plain, s.tokenAAD(k))
	if err != nil {
		return nil, err
	}
	return &kmsapi.GetParametersForImportResponse{KeyId: wire.Ptr(k.arn), ImportToken: token, PublicKey: pub, ParametersValidTo: ts(until)}, nil
}

// openImport opens a token and unwraps the key material with it.
func (s *Service) openImport(k *key, token, wrapped []byte) ([]byte, error) {
	plain, err := s.sealer.Open(token, s.tokenAAD(k))
	if err != nil {
		return nil, kmsapi.NewInvalidImportTokenException("Import token is not valid for this KMS key.")
	}
	defer clear(plain)
	var t importToken
	if err := json.Unmarshal(plain, &t); err != nil || t.KeyID != k.rec.ID {
		return nil, kmsapi.NewInvalidImportTokenException("Import token is not valid for this KMS key.")
	}
	defer clear(t.Private)
	if !s.now().Before(t.Expires) {
		return nil, kmsapi.NewExpiredImportTokenException("The import token has expired. Call GetParametersForImport for a new one.")
	}
	spec, err1 := keys.ParseSpec(t.Spec)
	alg, err2 := keys.ParseWrappingAlgorithm(t.Alg)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	raw, err := keys.Unwrap(spec, t.Private, alg, wrapped)
	if err != nil {
		return nil, kmsapi.NewInvalidCiphertextException("")
	}
	return raw, nil
}

// ImportKeyMaterial imports (or reimports) key material into an EXTERNAL key.
func (s *Service) ImportKeyMaterial(ctx context.Context, c Caller, in *kmsapi.ImportKeyMaterialRequest) (*kmsapi.ImportKeyMaterialResponse, error) {
	model := wire.String(in.ExpirationModel)
	if model == "" {
		model = expires // the API's default
	}
	var validTo time.Time
	switch {
	case model == expires && in.ValidTo == nil:
		// AWS's text (error corpus, "import-expiring-key-without-valid-to").
		return nil, wire.Validation("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
	case model == doesNotExpire && in.ValidTo != nil:
		return nil, wire.Validation("A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE")
	case model == expires:
		validTo = in.ValidTo.Time().UTC()
		if now := s.now(); !validTo.After(now) || validTo.After(now.Add(365*day)) {
			return nil, wire.Validation("The validTo date must be in the future and no more than 365 days from now.")
		}
	}
	// kms:ExpirationModel has the API's default when the request has none;
	// kms:ValidTo, in Unix time, only when it has one (conditions-kms.md).
	a := access{op: "ImportKeyMaterial", keys: []string{"kms:expirationmodel", model}}
	if in.ValidTo != nil {
		a.keys = append(a.keys, "kms:validto", strconv.FormatInt(validTo.Unix(), 10))
	}
	k, err := s.keyForOp(c, "ImportKeyMaterial", *in.KeyId, keyOnly, a)
	if err != nil {
		return nil, err
	}
	raw, err := s.openImport(k, in.ImportToken, in.EncryptedKeyMaterial)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	spec := k.spec()
	if err := keys.CheckImport(spec, raw); err != nil {
		return nil, kmsapi.NewIncorrectKeyMaterialException("The key material is not valid for key spec " + k.rec.Spec.String() + ".")
	}
	mid := keys.ImportedMaterialID(k.rec.ID, raw)
	err = s.update(ctx, k, func(r *keyRecord, txn *store.Txn) error {
		if err := checkKey(k.fresh(r), "ImportKeyMaterial"); err != nil {
			return err
		}
		typ := wire.String(in.ImportType)
		if typ == "" {
			typ = importNew
			if len(r.Materials) > 0 {
				typ = importAgain
			}
		}
		if in.KeyMaterialId != nil && (typ == importNew || *in.KeyMaterialId != mid.String()) {
			return kmsapi.NewIncorrectKeyMaterialException("The key material does not match the key material ID " + *in.KeyMaterialId + ".")
		}
		known := -1
		for i, m := range r.Materials {
			if m.ID == mid.String() {
				known = i
			}
		}
		switch {
		case typ == importAgain && known < 0:
			return kmsapi.NewIncorrectKeyMaterialException("The key material does not match the key material previously imported into this KMS key.")
		case typ == importNew && known >= 0:
			return kmsapi.NewIncorrectKeyMaterialException("This key material was already imported into this KMS key; import it with ImportType EXISTING_KEY_MATERIAL.")
		case typ == importNew && len(r.Materials) > 0 && spec != keys.SpecSymmetricDefault:
			// importing-keys: asymmetric and HMAC keys keep their first material.
			return kmsapi.NewIncorrectKeyMaterialException("The key material does not match the key material previously imported into this KMS key.")
		case typ == importNew && len(r.Materials) > 0:
			for _, m := range r.Materials {
				if m.PendingRotation {
					// AWS's text (error corpus, "existing-pending-material-error"),
					// which names the key by its ARN.
					return kmsapi.NewKMSInvalidStateException(fmt.Sprintf("New key material (id: %s) cannot be imported into KMS key %s, because another key material (id: %s) is pending rotation.", mid, k.arn, m.ID))
				}
			}
		}
		m, kv, err := s.sealMaterial(r.Account, r.Region, r.ID, spec, mid, raw, material{Description: wire.String(in.KeyMaterialDescription)})
		if err != nil {
			return err
		}
		txn.Puts = append(txn.Puts, kv)
		switch {
		case known >= 0:
			// Reimport: keep the material's history, refresh its record;
			// its description stays unless a new one is given.
			m = r.Materials[known]
			if in.KeyMaterialDescription != nil {
				m.Description = *in.KeyMaterialDescription
			}
		case len(r.Materials) == 0:
			known = 0
			r.Materials, r.CurrentMaterial = []material{m}, m.ID
		default:
			known = len(r.Materials)
			m.PendingRotation = true
			r.Materials = append(r.Materials, m)
		}
		// Each import sets its material's expiry (ImportKeyMaterial).
		m.ExpirationModel, m.ValidTo = model, stampOf(validTo)
		r.Materials[known] = m
		// The key is usable once every material it has is present again.
		complete := true
		for _, have := range r.Materials {
			if have.ID != mid.String() && !have.PendingRotation && !s.view.hasMaterial(r.Region, r.ID, have.ID) {
				complete = false
			}
		}
		if r.State == PendingImport && complete {
			r.State = Enabled
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &kmsapi.ImportKeyMaterialResponse{KeyId: wire.Ptr(k.arn), KeyMaterialId: wire.Ptr(mid.String())}, nil
}

// DeleteImportedKeyMaterial deletes a key's imported material; the key waits
// in PendingImport until the same material is imported again.
func (s *Service) DeleteImportedKeyMaterial(ctx context.Context, c Caller, in *kmsapi.DeleteImportedKeyMaterialRequest) (*kmsapi.DeleteImportedKeyMaterialResponse, error) {
	k, err := s.keyForOp(c, "DeleteImportedKeyMaterial", *in.KeyId, keyOnly, access{op: "DeleteImportedKeyMaterial"})
	if err != nil {
		return nil, err
	}
	var deleted string
	err = s.update(ctx, k, func(r *keyRecord, txn *store.Txn) error {
		if err := checkKey(k.fresh(r), "DeleteImportedKeyMaterial"); err != nil {
			return err
		}
		deleted, err = removeImported(r, txn, wire.String(in.KeyMaterialId))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &kmsapi.DeleteImportedKeyMaterialResponse{KeyId: wire.Ptr(k.arn)}
	if deleted != "" {
		out.KeyMaterialId = wire.Ptr(deleted)
	}
	return out, nil
}

// removeImported deletes one imported material of an EXTERNAL key — the
// one named, else the current one — and returns its id
// (DeleteImportedKeyMaterial). Material pending rotation is not yet
// permanently associated with the key (RotationsListEntry): it leaves the
// key's list, and other material may be imported in its place. Any other
// stays in the list, so that the same material can be imported again, and
// the key goes to PendingImport, unless it is pending deletion, whose state
// it keeps.
func removeImported(r *keyRecord, txn *store.Txn, id string) (string, error) {
	if id == "" {
		id = r.CurrentMaterial
	}
	i := slices.IndexFunc(r.Materials, func(m material) bool { return m.ID == id })
	switch {
	case id == "":
		return "", nil // nothing was ever imported
	case i < 0:
		return "", kmsapi.NewNotFoundException("Key material " + id + " is not associated with this KMS key.")
	}
	txn.Deletes = append(txn.Deletes, materialPath(r.Account, r.Region, r.ID, id))
	if r.Materials[i].PendingRotation {
		r.Materials = slices.Delete(r.Materials, i, i+1)
		return id, nil
	}
	r.Materials[i].ExpirationModel, r.Materials[i].ValidTo = "", 0
	if r.State != PendingDeletion {
		r.State = PendingImport
	}
	return id, nil
}

// expireImported deletes each imported material of a key whose ValidTo has
// passed, as KMS does when it expires (ImportKeyMaterial, ValidTo).
func (s *Service) expireImported(ctx context.Context, k *key) error {
	err := s.update(ctx, k, func(r *keyRecord, txn *store.Txn) error {
		ids := r.expired(s.now())
		if len(ids) == 0 {
			return errSkip
		}
		for _, id := range ids {
			if _, err := removeImported(r, txn, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err == errSkip {
		return nil
	}
	if err != nil {
		return fmt.Errorf("expire imported material of %s: %w", k.arn, err)
	}
	s.log.Info("kms: imported key material expired", "key", k.arn)
	return nil
}

// rotateImported makes an EXTERNAL symmetric key's pending material
// current at now (RotateKeyOnDemand on imported keys); the material must be
// imported, not deleted since.
func (s *Service) rotateImported(k *key, r *keyRecord) error {
	for i := range r.Materials {
		if m := &r.Materials[i]; m.PendingRotation && s.view.hasMaterial(r.Region, r.ID, m.ID) {
			m.PendingRotation, m.RotationType, m.Rotated = false, "ON_DEMAND", stampOf(s.now())
			r.CurrentMaterial = m.ID
			return nil
		}
	}
	// AWS's text (error corpus, "rotate-key-on-demand-invalid-state-error").
	return kmsapi.NewKMSInvalidStateException("No available key material pending rotation for the key: " + k.arn + ".")
}
