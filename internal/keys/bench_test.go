package keys

import (
	"crypto/rand"
	"testing"
)

// Hot-path benchmarks: Sign per key spec and GenerateMac, on material
// already in memory, as the kms view serves it.

func benchmarkSign(b *testing.B, spec Spec, alg SigningAlgorithm) {
	a := pair(b, spec)
	msg := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Sign(rand.Reader, alg, Raw, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignECCNISTP256(b *testing.B) { benchmarkSign(b, SpecECCNISTP256, ECDSASHA256) }
func BenchmarkSignRSA2048(b *testing.B)     { benchmarkSign(b, SpecRSA2048, RSASSAPSSSHA256) }
func BenchmarkSignEd25519(b *testing.B)     { benchmarkSign(b, SpecECCNISTEdwards25519, ED25519SHA512) }

func BenchmarkGenerateMac(b *testing.B) {
	raw, err := Generate(rand.Reader, SpecHMAC256)
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewHMAC(SpecHMAC256, MaterialID{}, raw)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.MAC(HMACSHA256, msg); err != nil {
			b.Fatal(err)
		}
	}
}
