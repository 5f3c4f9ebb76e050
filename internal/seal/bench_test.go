package seal

import (
	"crypto/rand"
	"testing"
)

// Opening a 32-byte key under a keyring of several versions costs what
// opening it under one did: one atomic load and an index by the blob's
// version, then AES-GCM.
func BenchmarkOpen(b *testing.B) {
	key := make([]byte, 32)
	rand.Read(key)
	s, err := New(key, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	v1, _ := s.Seal(key, []byte("ad"))
	for v := uint32(2); v <= 5; v++ {
		if err := s.add(v, key); err != nil {
			b.Fatal(err)
		}
	}
	v5, _ := s.Seal(key, []byte("ad"))
	for _, c := range []struct {
		name string
		blob []byte
	}{{"format1", v1}, {"format2", v5}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pt, err := s.Open(c.blob, []byte("ad"))
				if err != nil {
					b.Fatal(err)
				}
				clear(pt)
			}
		})
	}
}
