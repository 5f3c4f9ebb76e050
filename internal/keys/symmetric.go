package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
)

// ErrCiphertext means a ciphertext blob is malformed or does not authenticate.
var ErrCiphertext = errors.New("keys: invalid ciphertext")

const (
	blobVersion = 1
	// MaterialIDSize is the size of a material id; its text form is 64 hex digits,
	// like AWS's KeyMaterialId.
	MaterialIDSize = 32
	nonceSize      = 12
	tagSize        = 16
	// SymmetricKeySize is the size of SYMMETRIC_DEFAULT key material (AES-256).
	SymmetricKeySize = 32
	maxKeyIDLen      = 255
)

// MaterialID names one version of a key's material.
type MaterialID [MaterialIDSize]byte

// String is the 64-hex-digit form used in APIs and store paths.
func (m MaterialID) String() string {
	// hex.EncodeToString allocates twice; every Decrypt names its material.
	var b [2 * MaterialIDSize]byte
	hex.Encode(b[:], m[:])
	return string(b[:])
}

// ParseMaterialID parses the hex form.
func ParseMaterialID(s string) (MaterialID, error) {
	var m MaterialID
	if len(s) != 2*MaterialIDSize {
		return m, fmt.Errorf("keys: material id %q: want %d hex digits", s, 2*MaterialIDSize)
	}
	if _, err := hex.Decode(m[:], []byte(s)); err != nil {
		return m, fmt.Errorf("keys: material id %q: %w", s, err)
	}
	return m, nil
}

// NewMaterialID returns a random material id.
func NewMaterialID(rand io.Reader) (MaterialID, error) {
	var m MaterialID
	_, err := io.ReadFull(rand, m[:])
	return m, err
}

// Symmetric is one version of SYMMETRIC_DEFAULT key material: key bytes in
// memory, or a key held elsewhere (an HSM) that does the AES-GCM itself. The
// blob format is the same either way, so Decrypt needs no KeyId for keys in
// custom key stores either.
type Symmetric struct {
	keyID string
	id    MaterialID
	key   []byte
	aead  cipher.AEAD
	ext   AEAD // set instead of key and aead for material held elsewhere
}

// AEAD is AES-256-GCM done where the key lives, such as in an HSM. Symmetric
// chooses the 12-byte nonce and builds the associated data.
type AEAD interface {
	// Seal returns the ciphertext with the 16-byte tag appended.
	Seal(nonce, plaintext, ad []byte) ([]byte, error)
	// Open returns ErrCiphertext when the ciphertext does not authenticate,
	// other errors when the key could not be used at all.
	Open(nonce, ciphertext, ad []byte) ([]byte, error)
}

// NewExternalSymmetric is material whose key stays in a, which does every
// encryption and decryption.
func NewExternalSymmetric(keyID string, id MaterialID, a AEAD) (*Symmetric, error) {
	if len(keyID) == 0 || len(keyID) > maxKeyIDLen {
		return nil, fmt.Errorf("keys: key id length %d out of range", len(keyID))
	}
	if a == nil {
		return nil, errors.New("keys: external material without an AEAD")
	}
	return &Symmetric{keyID: keyID, id: id, ext: a}, nil
}

// NewSymmetric takes ownership of key (32 bytes): Destroy clears it.
func NewSymmetric(keyID string, id MaterialID, key []byte) (*Symmetric, error) {
	if len(key) != SymmetricKeySize {
		return nil, fmt.Errorf("keys: symmetric material is %d bytes, want %d", len(key), SymmetricKeySize)
	}
	if len(keyID) == 0 || len(keyID) > maxKeyIDLen {
		return nil, fmt.Errorf("keys: key id length %d out of range", len(keyID))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Symmetric{keyID: keyID, id: id, key: key, aead: aead}, nil
}

// ID is the material id.
func (s *Symmetric) ID() MaterialID { return s.id }

// Spec is SYMMETRIC_DEFAULT.
func (s *Symmetric) Spec() Spec { return SpecSymmetricDefault }

func (s *Symmetric) material() {}

// Destroy clears the key bytes. The AES key schedule inside crypto/aes cannot
// be reached to clear; it becomes garbage with s. Material held elsewhere
// has nothing here to clear: the key stays where it lives.
func (s *Symmetric) Destroy() {
	clear(s.key)
	s.aead = nil
}

// String never shows key bytes.
func (s *Symmetric) String() string { return "keys.Symmetric{" + s.keyID + "/" + s.id.String() + "}" }

// GoString never shows key bytes.
func (s *Symmetric) GoString() string { return s.String() }

// Overhead is how much longer a blob is than its plaintext.
func (s *Symmetric) Overhead() int { return 2 + len(s.keyID) + MaterialIDSize + nonceSize + tagSize }

// Encrypt returns a ciphertext blob of plaintext bound to context.
func (s *Symmetric) Encrypt(rand io.Reader, plaintext []byte, context map[string]string) ([]byte, error) {
	hdr := 2 + len(s.keyID) + MaterialIDSize
	out := make([]byte, hdr+nonceSize, hdr+nonceSize+len(plaintext)+tagSize)
	out[0] = blobVersion
	out[1] = byte(len(s.keyID))
	copy(out[2:], s.keyID)
	copy(out[2+len(s.keyID):], s.id[:])
	nonce := out[hdr : hdr+nonceSize]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("keys: nonce: %w", err)
	}
	aadp, aad := getAAD(out[:hdr], context)
	defer putAAD(aadp, aad)
	if s.ext != nil {
		ct, err := s.ext.Seal(nonce, plaintext, aad)
		if err != nil {
			return nil, fmt.Errorf("keys: encrypt: %w", err)
		}
		if len(ct) != len(plaintext)+tagSize {
			return nil, fmt.Errorf("keys: encrypt: external AEAD returned %d bytes for %d", len(ct), len(plaintext))
		}
		return append(out, ct...), nil
	}
	return s.aead.Seal(out, nonce, plaintext, aad), nil
}

// Decrypt opens a blob made by Encrypt with the same context.
func (s *Symmetric) Decrypt(blob []byte, context map[string]string) ([]byte, error) {
	// ParseBlob's checks, without making the key id a string.
	if len(blob) < 2 || blob[0] != blobVersion {
		return nil, ErrCiphertext
	}
	n := int(blob[1])
	if n == 0 || len(blob) < 2+n+MaterialIDSize+nonceSize+tagSize ||
		string(blob[2:2+n]) != s.keyID || MaterialID(blob[2+n:2+n+MaterialIDSize]) != s.id {
		return nil, ErrCiphertext
	}
	hdr := 2 + len(s.keyID) + MaterialIDSize
	aadp, aad := getAAD(blob[:hdr], context)
	defer putAAD(aadp, aad)
	if s.ext != nil {
		pt, err := s.ext.Open(blob[hdr:hdr+nonceSize], blob[hdr+nonceSize:], aad)
		if errors.Is(err, ErrCiphertext) {
			return nil, ErrCiphertext
		}
		if err != nil {
			return nil, fmt.Errorf("keys: decrypt: %w", err)
		}
		return pt, nil
	}
	pt, err := s.aead.Open(nil, blob[hdr:hdr+nonceSize], blob[hdr+nonceSize:], aad)
	if err != nil {
		return nil, ErrCiphertext
	}
	return pt, nil
}

// aadBufs recycles the buffers additional data is built in. Additional
// data is the blob's header and the encryption context, neither secret.
var aadBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// getAAD returns the additional data of a blob with header hdr under
// context, in a pooled buffer to hand back with putAAD.
func getAAD(hdr []byte, context map[string]string) (*[]byte, []byte) {
	bp := aadBufs.Get().(*[]byte)
	return bp, appendContext(append((*bp)[:0], hdr...), context)
}

func putAAD(bp *[]byte, aad []byte) {
	if cap(aad) <= 64<<10 {
		*bp = aad[:0]
		aadBufs.Put(bp)
	}
}

// appendContext appends the canonical encoding of an encryption context: the
// pair count, then each key and value with a length prefix, in key order. Length
// prefixes keep {"a":"bc"} and {"ab":"c"} apart.
func appendContext(b []byte, ec map[string]string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ec)))
	switch len(ec) {
	case 0:
		return b
	case 1:
		for k, v := range ec {
			b = appendString(b, k)
			b = appendString(b, v)
		}
		return b
	}
	ks := make([]string, 0, len(ec))
	for k := range ec {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		b = appendString(b, k)
		b = appendString(b, ec[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
