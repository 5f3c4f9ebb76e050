package kms

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/trentkms/trent/internal/keystore/xks"
)

func FuzzParseXKSBlob(f *testing.F) {
	hdr := xksHeader("1234abcd-12ab-34cd-56ef-1234567890ab", "ext-key-1")
	f.Add(appendXKSBlob(hdr, xks.Ciphertext{Ciphertext: []byte("ct"), IV: make([]byte, 12), Tag: make([]byte, 16)}))
	f.Add(appendXKSBlob(hdr, xks.Ciphertext{Ciphertext: []byte("ciphertext"), Metadata: []byte("v1"), IV: make([]byte, 16), Tag: make([]byte, 16)}))
	f.Add([]byte{2})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := parseXKSBlob(b)
		if err != nil {
			return
		}
		// What parses, marshals back to the same bytes.
		got := appendXKSBlob(xksHeader(x.KeyID, x.XksKeyID), x.Ciphertext)
		if !bytes.Equal(got, b) {
			t.Fatalf("round trip: %x != %x", got, b)
		}
		if !bytes.Equal(x.header, xksHeader(x.KeyID, x.XksKeyID)) {
			t.Fatalf("header %x", x.header)
		}
	})
}

// TestXKSBlobCompatible opens the version-2 blob of keys/testdata/blobs.json,
// made before the format moved, as the proxy would: AES-256-GCM over the AAD
// the blob's header and the encryption context make.
func TestXKSBlobCompatible(t *testing.T) {
	raw, err := os.ReadFile("../keys/testdata/blobs.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Key, KeyID, XksKeyID, Plaintext, V2 string
		Context                             map[string]string
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(f.Key)
	blob, _ := hex.DecodeString(f.V2)
	x, err := parseXKSBlob(blob)
	if err != nil || x.KeyID != f.KeyID || x.XksKeyID != f.XksKeyID {
		t.Fatalf("parseXKSBlob = %+v, %v", x, err)
	}
	b, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCMWithNonceSize(b, len(x.Ciphertext.IV))
	sealed := append(append([]byte(nil), x.Ciphertext.Ciphertext...), x.Ciphertext.Tag...)
	pt, err := g.Open(nil, x.Ciphertext.IV, sealed, xks.GCMAAD(xksAAD(x.header, f.Context), x.Ciphertext.Metadata))
	if err != nil || string(pt) != f.Plaintext {
		t.Fatalf("open = %q, %v", pt, err)
	}
}
