package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"runtime"
	"testing"
)

func newKey(t testing.TB, keyID string) *Symmetric {
	t.Helper()
	id, err := NewMaterialID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := make([]byte, SymmetricKeySize)
	rand.Read(k)
	s, err := NewSymmetric(keyID, id, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSymmetricRoundTripAndBinding(t *testing.T) {
	k := newKey(t, "1234abcd-12ab-34cd-56ef-1234567890ab")
	ec := map[string]string{"purpose": "test", "dept": "ops"}
	blob, err := k.Encrypt(rand.Reader, []byte("hello"), ec)
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) != 5+k.Overhead() {
		t.Fatalf("blob is %d bytes, want %d", len(blob), 5+k.Overhead())
	}
	h, err := ParseBlob(blob)
	if err != nil || h.KeyID != "1234abcd-12ab-34cd-56ef-1234567890ab" || h.MaterialID != k.ID() {
		t.Fatalf("ParseBlob = %+v, %v", h, err)
	}
	pt, err := k.Decrypt(blob, map[string]string{"dept": "ops", "purpose": "test"})
	if err != nil || string(pt) != "hello" {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
	cases := []struct {
		name string
		blob func() []byte
		ec   map[string]string
	}{
		{"changed context value", func() []byte { return blob }, map[string]string{"purpose": "test", "dept": "dev"}},
		{"missing context", func() []byte { return blob }, nil},
		{"extra context pair", func() []byte { return blob }, map[string]string{"purpose": "test", "dept": "ops", "x": "y"}},
		{"flipped ciphertext bit", func() []byte { b := bytes.Clone(blob); b[len(b)-1] ^= 1; return b }, ec},
		{"flipped material id", func() []byte { b := bytes.Clone(blob); b[2+36] ^= 1; return b }, ec},
		{"truncated", func() []byte { return blob[:len(blob)-20] }, ec},
		{"unknown version", func() []byte { b := bytes.Clone(blob); b[0] = 9; return b }, ec},
		{"empty", func() []byte { return nil }, ec},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := k.Decrypt(tt.blob(), tt.ec); !errors.Is(err, ErrCiphertext) {
				t.Fatalf("Decrypt: err = %v, want ErrCiphertext", err)
			}
		})
	}
	other := newKey(t, "1234abcd-12ab-34cd-56ef-1234567890ab")
	if _, err := other.Decrypt(blob, ec); !errors.Is(err, ErrCiphertext) {
		t.Fatalf("other material decrypted the blob: %v", err)
	}
}

func TestContextEncodingIsUnambiguous(t *testing.T) {
	a := appendContext(nil, map[string]string{"a": "bc"})
	b := appendContext(nil, map[string]string{"ab": "c"})
	if bytes.Equal(a, b) {
		t.Fatal("two different contexts encode the same")
	}
	x := appendContext(nil, map[string]string{"k1": "v1", "k2": "v2", "k3": "v3"})
	for i := 0; i < 20; i++ {
		if y := appendContext(nil, map[string]string{"k3": "v3", "k1": "v1", "k2": "v2"}); !bytes.Equal(x, y) {
			t.Fatal("context encoding depends on map order")
		}
	}
}

func TestDestroyClearsKey(t *testing.T) {
	k := newKey(t, "k")
	k.Destroy()
	if !bytes.Equal(k.key, make([]byte, SymmetricKeySize)) {
		t.Fatal("key bytes not cleared")
	}
}

func FuzzParseBlob(f *testing.F) {
	k := newKey(f, "fuzz-key")
	blob, _ := k.Encrypt(rand.Reader, []byte("seed"), nil)
	f.Add(blob)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseBlob(b)
		if err == nil && (len(h.KeyID) == 0 || len(b) < 2+len(h.KeyID)+MaterialIDSize+nonceSize+tagSize) {
			t.Fatalf("accepted a blob too short for its header: %x", b)
		}
		// BlobMaterialID accepts and reads exactly what ParseBlob does.
		m, merr := BlobMaterialID(b)
		if (err == nil) != (merr == nil) || err == nil && m != h.MaterialID {
			t.Fatalf("BlobMaterialID = %x, %v; ParseBlob = %+v, %v (blob %x)", m, merr, h, err, b)
		}
		k.Decrypt(b, nil)
	})
}

func BenchmarkEncrypt(b *testing.B) {
	k := newKey(b, "1234abcd-12ab-34cd-56ef-1234567890ab")
	pt := make([]byte, 32)
	ec := map[string]string{"purpose": "bench"}
	b.ReportAllocs()
	for b.Loop() {
		k.Encrypt(rand.Reader, pt, ec)
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k := newKey(b, "1234abcd-12ab-34cd-56ef-1234567890ab")
	ec := map[string]string{"purpose": "bench"}
	blob, _ := k.Encrypt(rand.Reader, make([]byte, 32), ec)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Decrypt(blob, ec); err != nil {
			b.Fatal(err)
		}
	}
}

// gcmAEAD is an external AEAD done in memory, standing in for an HSM.
type gcmAEAD struct{ a cipher.AEAD }

func (g gcmAEAD) Seal(nonce, pt, ad []byte) ([]byte, error) { return g.a.Seal(nil, nonce, pt, ad), nil }
func (g gcmAEAD) Open(nonce, ct, ad []byte) ([]byte, error) {
	pt, err := g.a.Open(nil, nonce, ct, ad)
	if err != nil {
		return nil, ErrCiphertext
	}
	return pt, nil
}

func TestExternalSymmetricSameBlobs(t *testing.T) {
	raw := bytes.Repeat([]byte{9}, SymmetricKeySize)
	var id MaterialID
	id[0] = 1
	mem, err := NewSymmetric("key-1", id, bytes.Clone(raw))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(raw)
	gcm, _ := cipher.NewGCM(block)
	ext, err := NewExternalSymmetric("key-1", id, gcmAEAD{gcm})
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"a": "b"}
	for _, tt := range []struct {
		name     string
		enc, dec *Symmetric
	}{
		{name: "external to memory", enc: ext, dec: mem},
		{name: "memory to external", enc: mem, dec: ext},
	} {
		t.Run(tt.name, func(t *testing.T) {
			blob, err := tt.enc.Encrypt(rand.Reader, []byte("secret"), ec)
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := tt.dec.Decrypt(blob, ec); err != nil || string(pt) != "secret" {
				t.Fatalf("Decrypt: %q, %v", pt, err)
			}
			if _, err := tt.dec.Decrypt(blob, nil); !errors.Is(err, ErrCiphertext) {
				t.Fatalf("Decrypt with another context: %v", err)
			}
		})
	}
}

// Retired material keeps working while referenced, and its key bytes are
// cleared once it is garbage.
func TestRetireClearsWhenUnreachable(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, SymmetricKeySize)
	m, err := NewSymmetric("1234abcd-12ab-34cd-56ef-1234567890ab", MaterialID{1}, key)
	if err != nil {
		t.Fatal(err)
	}
	Retire(m)
	blob, err := m.Encrypt(rand.Reader, []byte("still usable"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Decrypt(blob, nil); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(m)
	m = nil
	for i := 0; i < 100 && !bytes.Equal(key, make([]byte, SymmetricKeySize)); i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if !bytes.Equal(key, make([]byte, SymmetricKeySize)) {
		t.Fatal("the key bytes of unreachable retired material were not cleared")
	}
}
