package keys

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"testing"
)

func TestEnumsRoundTrip(t *testing.T) {
	for s := SpecSymmetricDefault; s <= SpecMLDSA87; s++ {
		if got, err := ParseSpec(s.String()); err != nil || got != s {
			t.Errorf("ParseSpec(%q) = %v, %v", s, got, err)
		}
	}
	for a := RSASSAPSSSHA256; a <= ED25519PHSHA512; a++ {
		if got, err := ParseSigningAlgorithm(a.String()); err != nil || got != a {
			t.Errorf("ParseSigningAlgorithm(%q) = %v, %v", a, got, err)
		}
	}
	if _, err := ParseSpec("HMAC_random"); err == nil {
		t.Error("ParseSpec accepted HMAC_random")
	}
	if Spec(0).String() != "Spec(0)" {
		t.Errorf("zero Spec prints %q", Spec(0))
	}
}

// The usages each spec allows (KMS Developer Guide, key spec tables; the
// KEY_AGREEMENT/RSA_2048 refusal is in the error corpus).
func TestSpecUsages(t *testing.T) {
	cases := []struct {
		spec Spec
		want []Usage
	}{
		{SpecSymmetricDefault, []Usage{UsageEncryptDecrypt}},
		{SpecRSA2048, []Usage{UsageEncryptDecrypt, UsageSignVerify}},
		{SpecECCNISTP384, []Usage{UsageSignVerify, UsageKeyAgreement}},
		{SpecECCSECGP256K1, []Usage{UsageSignVerify}},
		{SpecECCNISTEdwards25519, []Usage{UsageSignVerify}},
		{SpecSM2, []Usage{UsageEncryptDecrypt, UsageSignVerify, UsageKeyAgreement}},
		{SpecHMAC384, []Usage{UsageGenerateVerifyMAC}},
		{SpecMLDSA65, []Usage{UsageSignVerify}},
	}
	for _, tt := range cases {
		t.Run(tt.spec.String(), func(t *testing.T) {
			for u := UsageEncryptDecrypt; u <= UsageKeyAgreement; u++ {
				want := false
				for _, w := range tt.want {
					want = want || w == u
				}
				if got := tt.spec.Allows(u); got != want {
					t.Errorf("Allows(%v) = %v, want %v", u, got, want)
				}
			}
		})
	}
}

// HMAC tags must equal those of an independent implementation: crypto/hmac
// over the raw key.
func TestHMACMatchesIndependentImplementation(t *testing.T) {
	cases := []struct {
		spec Spec
		alg  MACAlgorithm
		h    func() hash.Hash
	}{
		{SpecHMAC224, HMACSHA224, sha256.New224}, {SpecHMAC256, HMACSHA256, sha256.New},
		{SpecHMAC384, HMACSHA384, sha512.New384}, {SpecHMAC512, HMACSHA512, sha512.New},
	}
	msg := []byte("message")
	for _, tt := range cases {
		t.Run(tt.spec.String(), func(t *testing.T) {
			raw, err := Generate(rand.Reader, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			key := bytes.Clone(raw)
			m, err := Load(tt.spec, "k", MaterialID{}, raw)
			if err != nil {
				t.Fatal(err)
			}
			h := m.(*HMAC)
			tag, err := h.MAC(tt.alg, msg)
			if err != nil {
				t.Fatal(err)
			}
			ref := hmac.New(tt.h, key)
			ref.Write(msg)
			if !bytes.Equal(tag, ref.Sum(nil)) {
				t.Fatal("tag differs from crypto/hmac")
			}
			if ok, _ := h.VerifyMAC(tt.alg, msg, tag); !ok {
				t.Fatal("VerifyMAC rejected its own tag")
			}
			tag[0] ^= 1
			if ok, _ := h.VerifyMAC(tt.alg, msg, tag); ok {
				t.Fatal("VerifyMAC accepted a changed tag")
			}
			other := HMACSHA256
			if tt.alg == HMACSHA256 {
				other = HMACSHA512
			}
			if _, err := h.MAC(other, msg); !errors.Is(err, ErrIncompatible) {
				t.Fatalf("MAC with %v: %v", other, err)
			}
			h.Destroy()
			if !bytes.Equal(h.key, make([]byte, len(h.key))) {
				t.Fatal("Destroy left key bytes")
			}
		})
	}
}

func TestCheckImportLengths(t *testing.T) {
	cases := []struct {
		spec Spec
		n    int
		ok   bool
	}{
		{SpecSymmetricDefault, 32, true}, {SpecSymmetricDefault, 16, false},
		{SpecHMAC224, 28, true}, {SpecHMAC224, 27, false}, {SpecHMAC224, 65, false},
		{SpecHMAC512, 128, true}, {SpecHMAC512, 63, false},
		{SpecRSA2048, 32, false},
	}
	for _, tt := range cases {
		if err := CheckImport(tt.spec, make([]byte, tt.n)); (err == nil) != tt.ok {
			t.Errorf("CheckImport(%v, %d bytes) = %v, want ok=%v", tt.spec, tt.n, err, tt.ok)
		}
	}
}

// RFC 5649 section 6 test vectors.
func TestKWPVectors(t *testing.T) {
	kek, _ := hex.DecodeString("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
	for _, v := range []struct{ p, c string }{
		{"c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
		{"466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"},
	} {
		p, _ := hex.DecodeString(v.p)
		c, err := WrapKWP(kek, p)
		if err != nil || hex.EncodeToString(c) != v.c {
			t.Fatalf("WrapKWP = %x, %v; want %s", c, err, v.c)
		}
		got, err := UnwrapKWP(kek, c)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("UnwrapKWP = %x, %v", got, err)
		}
		c[3] ^= 1
		if _, err := UnwrapKWP(kek, c); !errors.Is(err, ErrUnwrap) {
			t.Fatalf("UnwrapKWP(tampered) = %v", err)
		}
	}
}

func TestWrapUnwrapEveryAlgorithm(t *testing.T) {
	wk := pair(t, SpecRSA2048)
	material := bytes.Repeat([]byte{9}, 32)
	for _, alg := range []WrappingAlgorithm{WrapRSAESOAEPSHA1, WrapRSAESOAEPSHA256, WrapRSAAESKeyWrapSHA1, WrapRSAAESKeyWrapSHA256} {
		t.Run(alg.String(), func(t *testing.T) {
			w, err := Wrap(rand.Reader, wk.PublicKey(), alg, material)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Unwrap(SpecRSA2048, wk.der, alg, w)
			if err != nil || !bytes.Equal(got, material) {
				t.Fatalf("Unwrap = %x, %v", got, err)
			}
			w[len(w)-1] ^= 1
			if _, err := Unwrap(SpecRSA2048, wk.der, alg, w); !errors.Is(err, ErrUnwrap) {
				t.Fatalf("Unwrap(tampered) = %v", err)
			}
		})
	}
	t.Run("SM2PKE", func(t *testing.T) {
		sk := pair(t, SpecSM2)
		ct, err := sk.Encrypt(rand.Reader, SM2PKE, material)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unwrap(SpecSM2, sk.der, WrapSM2PKE, ct)
		if err != nil || !bytes.Equal(got, material) {
			t.Fatalf("Unwrap = %x, %v", got, err)
		}
	})
	if _, err := Unwrap(SpecSM2, pair(t, SpecSM2).der, WrapRSAESOAEPSHA1, nil); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("SM2 with RSA wrapping: %v", err)
	}
}

func FuzzUnwrapKWP(f *testing.F) {
	kek := make([]byte, 32)
	c, _ := WrapKWP(kek, []byte("seed material"))
	f.Add(c)
	f.Fuzz(func(t *testing.T, c []byte) {
		p, err := UnwrapKWP(kek, c)
		if err != nil {
			return
		}
		again, err := WrapKWP(kek, p)
		if err != nil || !bytes.Equal(again, c) {
			t.Fatalf("unwrap→wrap is not the identity: %x", c)
		}
	})
}
