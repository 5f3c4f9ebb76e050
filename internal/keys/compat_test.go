package keys

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// blobFixture is testdata/blobs.json: ciphertext blobs an earlier Trent
// issued, which every later one must still open byte for byte.
type blobFixture struct {
	Key, KeyID, MaterialID, XksKeyID string
	Context                          map[string]string
	Plaintext                        string
	V1, V2                           string
}

func loadBlobFixture(t *testing.T) (blobFixture, []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/blobs.json")
	if err != nil {
		t.Fatal(err)
	}
	var f blobFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	key, err := hex.DecodeString(f.Key)
	if err != nil {
		t.Fatal(err)
	}
	return f, key
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBlobV1Compatible opens a version-1 blob made before the blob formats
// moved into this package, and refuses it under another context.
func TestBlobV1Compatible(t *testing.T) {
	f, key := loadBlobFixture(t)
	mid, err := ParseMaterialID(f.MaterialID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewSymmetric(f.KeyID, mid, key)
	if err != nil {
		t.Fatal(err)
	}
	blob := unhex(t, f.V1)
	h, err := ParseBlob(blob)
	if err != nil || h.KeyID != f.KeyID || h.MaterialID != mid {
		t.Fatalf("ParseBlob = %+v, %v", h, err)
	}
	pt, err := m.Decrypt(blob, f.Context)
	if err != nil || string(pt) != f.Plaintext {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
	if _, err := m.Decrypt(blob, map[string]string{"purpose": "other"}); err != ErrCiphertext {
		t.Fatalf("Decrypt under another context = %v, want ErrCiphertext", err)
	}
}
