package kms

import (
	"bytes"
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
