package kms

import (
	"context"
	"errors"

	"github.com/trentkms/trent/internal/customkeystore"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/trace"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// backend is where the cryptography of a symmetric encryption key happens:
// in process memory (localBackend), in the PKCS#11 token of an AWS CloudHSM
// key store (hsmBackend) or behind the XKS proxy of an external key store
// (xksBackend, xks.go). The operations reach a backend only after
// authorize and checkKey passed for the key: a backend authorizes nothing
// and checks nothing of the key's state, usage or spec.
//
// A backend returns errors a client can see (InvalidCiphertextException,
// KMSInvalidStateException, …) for what the caller's blob or the key's
// store did, and any other error for what went wrong inside Trent.
type backend interface {
	// encrypt returns a ciphertext blob of pt bound to ec under k's
	// current material, and that material (nil for a key whose material
	// Trent does not hold; its id is formatted only if a response names
	// it). op is the KMS operation, for the backend's own records (spans,
	// the proxy's metadata).
	encrypt(ctx context.Context, c Caller, k *key, op string, pt []byte, ec map[string]string) (blob []byte, m *keys.Symmetric, err error)
	// decrypt opens a blob that names k, and returns the id of the
	// material that opened it ("" as for encrypt). The caller owns pt.
	decrypt(ctx context.Context, c Caller, k *key, op string, blob []byte, ec map[string]string) (pt []byte, materialID string, err error)
	// caps is what the backend's keys can do.
	caps() backendCaps
	// describe fills in what KeyMetadata says of where k's cryptography
	// happens (CustomKeyStoreId, CloudHsmClusterId, XksKeyConfiguration).
	describe(r *keyRecord, md *kmsapi.KeyMetadata)
}

// keyMaker is how CreateKey makes a key of a backend, in three steps
// around its own (keys.go): checks before authorization, checks after it,
// then the key.
type keyMaker interface {
	// admit checks what the request asks of the backend before
	// authorization (its CustomKeyStoreId, XksKeyId, spec and usage) and
	// returns the key's custom key store, if it is known yet.
	admit(c Caller, origin Origin, in *kmsapi.CreateKeyRequest, spec keys.Spec, usage keys.Usage) (*customkeystore.Record, error)
	// ready checks, after authorization, what only the key's store can
	// say, and returns the key's custom key store.
	ready(ctx context.Context, c Caller, in *kmsapi.CreateKeyRequest, spec keys.Spec, usage keys.Usage, cks *customkeystore.Record) (*customkeystore.Record, error)
	// create places the new key rec in its store and returns the records
	// of its first material (none for a key whose material comes later or
	// lives outside Trent).
	create(ctx context.Context, c Caller, rec *keyRecord, ks keys.Spec, cks *customkeystore.Record, in *kmsapi.CreateKeyRequest) ([]store.KV, error)
}

// keyBackend is a backend with the way its keys are made.
type keyBackend interface {
	backend
	keyMaker
}

// backendCaps is what keys of a backend can do beyond Encrypt, Decrypt,
// ReEncrypt and GenerateDataKey*, which every backend does. The specs a
// backend's keys may have are admit's to refuse (only symmetric encryption
// keys in custom key stores). What an origin allows (rotation and import:
// checks.go) is not here: it is a property of the key, not of where its
// cryptography happens.
type backendCaps struct {
	// dataKeyPairs: GenerateDataKeyPair* can encrypt a private key under
	// the backend's keys.
	dataKeyPairs bool
	// multiRegion: the backend's keys can be multi-Region keys.
	multiRegion bool
	// keys names the backend's keys in errors ("KMS keys in …").
	keys string
}

// unsupported is UnsupportedOperationException for an operation the
// backend's keys cannot do in this server.
func (bc backendCaps) unsupported(op string) error {
	return kmsapi.NewUnsupportedOperationException(op + " is not supported by this server for " + bc.keys + ".")
}

// backendOf is the backend of a key of an origin: the one place the
// operations choose by where a key's material is.
func (s *Service) backendOf(origin Origin) keyBackend {
	switch origin {
	case originCloudHSM:
		return hsmBackend{s}
	case originXKS:
		return xksBackend{s}
	}
	return localBackend{s}
}

func (s *Service) backend(k *key) backend { return s.backendOf(k.rec.Origin) }

// localBackend is a key whose material the view holds as keys.Symmetric:
// unsealed into memory, or (hsmBackend) a handle on a key in a token.
type localBackend struct{ s *Service }

// symmetric is k's current material.
func (s *Service) symmetric(k *key) (*keys.Symmetric, error) {
	return currentAs[*keys.Symmetric](s, k, "symmetric")
}

func (b localBackend) encrypt(_ context.Context, c Caller, k *key, _ string, pt []byte, ec map[string]string) ([]byte, *keys.Symmetric, error) {
	return b.s.encryptSymmetric(c, k, pt, ec, false)
}

func (b localBackend) decrypt(_ context.Context, c Caller, k *key, _ string, blob []byte, ec map[string]string) ([]byte, string, error) {
	return b.s.decryptSymmetric(c, k, blob, ec, false)
}

// encryptSymmetric encrypts under k's current keys.Symmetric material;
// inToken: the material's AES-GCM is a call into a token, traced as one.
func (s *Service) encryptSymmetric(c Caller, k *key, pt []byte, ec map[string]string, inToken bool) ([]byte, *keys.Symmetric, error) {
	m, err := s.symmetric(k)
	if err != nil {
		return nil, nil, err
	}
	var sp trace.Span
	if inToken {
		sp = c.hsmSpan(k, "Encrypt")
	}
	blob, err := m.Encrypt(s.rand, pt, ec)
	if inToken {
		endHSMSpan(sp, err)
	}
	if err != nil {
		return nil, nil, err
	}
	return blob, m, nil
}

// decryptSymmetric opens a version-1 blob with the keys.Symmetric material
// it names; inToken as for encryptSymmetric.
func (s *Service) decryptSymmetric(c Caller, k *key, blob []byte, ec map[string]string, inToken bool) ([]byte, string, error) {
	id, err := keys.BlobMaterialID(blob)
	if err != nil {
		return nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	mid := id.String()
	m, ok := s.view.material(k.rec.Region, k.rec.ID, mid).(*keys.Symmetric)
	if !ok {
		return nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	var sp trace.Span
	if inToken {
		sp = c.hsmSpan(k, "Decrypt")
	}
	pt, err := m.Decrypt(blob, ec)
	if inToken {
		endHSMSpan(sp, err)
	}
	if errors.Is(err, keys.ErrCiphertext) {
		return nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	if err != nil {
		// Material in an HSM that could not be used: an internal error,
		// not the caller's ciphertext.
		return nil, "", err
	}
	return pt, mid, nil
}

func (localBackend) describe(*keyRecord, *kmsapi.KeyMetadata) {}

func (localBackend) caps() backendCaps {
	return backendCaps{dataKeyPairs: true, multiRegion: true, keys: "KMS keys"}
}

// noXKSKey refuses an XksKeyId for a key not in an external key store.
func noXKSKey(in *kmsapi.CreateKeyRequest) error {
	if in.XksKeyId != nil {
		return wire.Validation("XksKeyId is valid only with Origin EXTERNAL_KEY_STORE.")
	}
	return nil
}

func (localBackend) admit(_ Caller, origin Origin, in *kmsapi.CreateKeyRequest, _ keys.Spec, _ keys.Usage) (*customkeystore.Record, error) {
	if in.CustomKeyStoreId != nil {
		return nil, wire.Validation("CustomKeyStoreId requires Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE.")
	}
	if err := noXKSKey(in); err != nil {
		return nil, err
	}
	if origin != originAWSKMS && origin != originExternal {
		return nil, kmsapi.NewUnsupportedOperationException("Origin " + wire.String(in.Origin) + " is not supported by this server yet.")
	}
	return nil, nil
}

func (localBackend) ready(_ context.Context, _ Caller, _ *kmsapi.CreateKeyRequest, _ keys.Spec, _ keys.Usage, cks *customkeystore.Record) (*customkeystore.Record, error) {
	return cks, nil
}

func (b localBackend) create(_ context.Context, c Caller, rec *keyRecord, ks keys.Spec, _ *customkeystore.Record, _ *kmsapi.CreateKeyRequest) ([]store.KV, error) {
	if rec.Origin == originExternal {
		// The key waits for ImportKeyMaterial.
		rec.State = PendingImport
		return nil, nil
	}
	m, mkv, err := b.s.newMaterial(c.Account, c.Region, rec.ID, ks, "")
	if err != nil {
		return nil, err
	}
	rec.CurrentMaterial, rec.Materials = m.ID, []material{m}
	return []store.KV{mkv}, nil
}

// hsmBackend is a key of an AWS CloudHSM key store: its keys.Symmetric
// material does AES-GCM in the store's token (customkeystore.Conn.AEAD),
// in the same blob format, so it encrypts and decrypts as localBackend,
// with a span around each call into the token; it differs in how its keys
// are made.
type hsmBackend struct{ s *Service }

func (b hsmBackend) encrypt(_ context.Context, c Caller, k *key, _ string, pt []byte, ec map[string]string) ([]byte, *keys.Symmetric, error) {
	return b.s.encryptSymmetric(c, k, pt, ec, true)
}

func (b hsmBackend) decrypt(_ context.Context, c Caller, k *key, _ string, blob []byte, ec map[string]string) ([]byte, string, error) {
	return b.s.decryptSymmetric(c, k, blob, ec, true)
}

func (b hsmBackend) describe(r *keyRecord, md *kmsapi.KeyMetadata) {
	md.CustomKeyStoreId = wire.Ptr(r.CustomKeyStoreID)
	if cks := b.s.stores.Get(r.Account, r.Region, r.CustomKeyStoreID); cks != nil && cks.Type == customkeystore.TypeCloudHSM {
		md.CloudHsmClusterId = wire.Ptr(cks.ClusterID)
	}
}

func (hsmBackend) caps() backendCaps {
	return backendCaps{dataKeyPairs: true, keys: "KMS keys in an AWS CloudHSM key store"}
}

func (b hsmBackend) admit(c Caller, _ Origin, in *kmsapi.CreateKeyRequest, spec keys.Spec, usage keys.Usage) (*customkeystore.Record, error) {
	cks, err := b.s.stores.ForNewKey(storeCaller(c), in.CustomKeyStoreId, spec == keys.SpecSymmetricDefault && usage == keys.UsageEncryptDecrypt)
	if err != nil {
		return nil, err
	}
	return cks, noXKSKey(in)
}

func (hsmBackend) ready(_ context.Context, _ Caller, _ *kmsapi.CreateKeyRequest, _ keys.Spec, _ keys.Usage, cks *customkeystore.Record) (*customkeystore.Record, error) {
	return cks, nil
}

// create generates the key in the token; if the commit fails, the token
// keeps an unused key under this key's label, as AWS leaves keys in a
// cluster.
func (b hsmBackend) create(ctx context.Context, _ Caller, rec *keyRecord, _ keys.Spec, cks *customkeystore.Record, _ *kmsapi.CreateKeyRequest) ([]store.KV, error) {
	m, mkv, err := b.s.newHSMMaterial(ctx, cks, rec.ID)
	if err != nil {
		return nil, err
	}
	rec.CustomKeyStoreID = cks.ID
	rec.CurrentMaterial, rec.Materials = m.ID, []material{m}
	return []store.KV{mkv}, nil
}

var (
	_ keyBackend = localBackend{}
	_ keyBackend = hsmBackend{}
	_ keyBackend = xksBackend{}
)
