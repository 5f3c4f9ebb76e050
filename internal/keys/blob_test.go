package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"testing"

	"github.com/trentkms/trent/internal/keystore/xks"
)

func FuzzParseXKSBlob(f *testing.F) {
	hdr := NewXKSHeader("1234abcd-12ab-34cd-56ef-1234567890ab", "ext-key-1")
	f.Add(hdr.Append(make([]byte, 12), nil, make([]byte, 16), []byte("ct")))
	f.Add(hdr.Append(make([]byte, 16), []byte("v1"), make([]byte, 16), []byte("ciphertext")))
	f.Add([]byte{2})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ParseXKSBlob(b)
		if err != nil {
			return
		}
		// What parses, marshals back to the same bytes.
		h := NewXKSHeader(x.KeyID, x.XksKeyID)
		if got := h.Append(x.IV, x.Metadata, x.Tag, x.Ciphertext); !bytes.Equal(got, b) {
			t.Fatalf("round trip: %x != %x", got, b)
		}
		if !bytes.Equal(x.Header(), h) {
			t.Fatalf("header %x", x.Header())
		}
		if id, err := BlobKeyID(b); err != nil || id != x.KeyID {
			t.Fatalf("BlobKeyID = %q, %v", id, err)
		}
	})
}

// TestXKSBlobLimits holds the format's limits to the XKS specification's, as
// package xks states them.
func TestXKSBlobLimits(t *testing.T) {
	if xksMaxKeyIDLength != xks.MaxKeyIDLength || xksMaxMetadataSize != xks.MaxCiphertextMetadataSize || xksTagSize != xks.TagSize {
		t.Fatalf("limits %d/%d/%d, xks has %d/%d/%d", xksMaxKeyIDLength, xksMaxMetadataSize, xksTagSize,
			xks.MaxKeyIDLength, xks.MaxCiphertextMetadataSize, xks.TagSize)
	}
}

// TestBlobV2Compatible opens the version-2 blob of testdata/blobs.json, made
// before the format moved into this package, as the proxy would: AES-256-GCM
// over the AAD the blob's header and the encryption context make.
func TestBlobV2Compatible(t *testing.T) {
	f, key := loadBlobFixture(t)
	blob := unhex(t, f.V2)
	x, err := ParseXKSBlob(blob)
	if err != nil || x.KeyID != f.KeyID || x.XksKeyID != f.XksKeyID {
		t.Fatalf("ParseXKSBlob = %+v, %v", x, err)
	}
	if id, err := BlobKeyID(blob); err != nil || id != f.KeyID {
		t.Fatalf("BlobKeyID = %q, %v", id, err)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCMWithNonceSize(b, len(x.IV))
	if err != nil {
		t.Fatal(err)
	}
	sealed := append(append([]byte(nil), x.Ciphertext...), x.Tag...)
	pt, err := g.Open(nil, x.IV, sealed, xks.GCMAAD(x.Header().AAD(f.Context), x.Metadata))
	if err != nil || string(pt) != f.Plaintext {
		t.Fatalf("open = %q, %v", pt, err)
	}
	if _, err := g.Open(nil, x.IV, sealed, xks.GCMAAD(x.Header().AAD(map[string]string{"purpose": "other"}), x.Metadata)); err == nil {
		t.Fatal("opened under another encryption context")
	}
	// Re-encoding the parsed blob gives the issued bytes back.
	if got := NewXKSHeader(x.KeyID, x.XksKeyID).Append(x.IV, x.Metadata, x.Tag, x.Ciphertext); !bytes.Equal(got, blob) {
		t.Fatalf("re-encoded %x", got)
	}
}
