package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
)

var (
	pairsMu sync.Mutex
	pairs   = map[Spec]*Asymmetric{}
)

// pair returns one key pair per spec for the whole test binary: RSA key
// generation is slow.
func pair(t testing.TB, spec Spec) *Asymmetric {
	t.Helper()
	pairsMu.Lock()
	defer pairsMu.Unlock()
	if a := pairs[spec]; a != nil {
		return a
	}
	der, err := Generate(rand.Reader, spec)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := NewMaterialID(rand.Reader)
	a, err := NewAsymmetric(spec, id, der)
	if err != nil {
		t.Fatal(err)
	}
	pairs[spec] = a
	return a
}

func asymmetricSpecs(t *testing.T) []Spec {
	specs := []Spec{SpecRSA2048, SpecRSA3072, SpecECCNISTP256, SpecECCNISTP384, SpecECCNISTP521, SpecECCSECGP256K1, SpecECCNISTEdwards25519, SpecSM2, SpecMLDSA44, SpecMLDSA65, SpecMLDSA87}
	if !testing.Short() {
		specs = append(specs, SpecRSA4096)
	}
	return specs
}

// messageTypes is what each algorithm signs: DIGEST where it exists, and
// EXTERNAL_MU for ML-DSA.
func messageTypes(alg SigningAlgorithm) []MessageType {
	switch alg {
	case ED25519SHA512:
		return []MessageType{Raw}
	case ED25519PHSHA512:
		return []MessageType{Digest}
	case MLDSASHAKE256:
		return []MessageType{Raw, ExternalMu}
	}
	return []MessageType{Raw, Digest}
}

func inputFor(alg SigningAlgorithm, mt MessageType, msg []byte) []byte {
	switch {
	case mt == ExternalMu:
		return bytes.Repeat([]byte{7}, 64)
	case mt == Digest && alg == SM2DSA:
		d := sha256.Sum256(msg) // any 32 bytes stand for an SM3 digest
		return d[:]
	case mt == Digest:
		h := alg.hash().New()
		h.Write(msg)
		return h.Sum(nil)
	}
	return msg
}

func TestSignVerifyEveryAlgorithm(t *testing.T) {
	msg := []byte("the quick brown fox")
	for _, spec := range asymmetricSpecs(t) {
		for _, alg := range spec.SigningAlgorithms() {
			for _, mt := range messageTypes(alg) {
				t.Run(spec.String()+"/"+alg.String()+"/"+mt.String(), func(t *testing.T) {
					a := pair(t, spec)
					in := inputFor(alg, mt, msg)
					sig, err := a.Sign(rand.Reader, alg, mt, in)
					if err != nil {
						t.Fatal(err)
					}
					if mt == ExternalMu {
						if _, err := a.Verify(alg, mt, in, sig); !errors.Is(err, ErrUnsupported) {
							t.Fatalf("Verify EXTERNAL_MU: %v, want ErrUnsupported", err)
						}
						return
					}
					if ok, err := a.Verify(alg, mt, in, sig); err != nil || !ok {
						t.Fatalf("Verify = %v, %v", ok, err)
					}
					bad := bytes.Clone(sig)
					bad[len(bad)/2] ^= 0x40
					if ok, err := a.Verify(alg, mt, in, bad); err != nil || ok {
						t.Fatalf("Verify(tampered) = %v, %v", ok, err)
					}
					other := bytes.Clone(in)
					other[0] ^= 1
					if ok, _ := a.Verify(alg, mt, other, sig); ok {
						t.Fatal("signature verified for another message")
					}
				})
			}
		}
	}
}

// The standard library, which wrote none of this package's signing code
// paths' encodings, must accept the signatures.
func TestSignaturesVerifyWithStandardLibrary(t *testing.T) {
	msg := []byte("interoperable")
	cases := []struct {
		spec Spec
		alg  SigningAlgorithm
	}{
		{SpecRSA2048, RSASSAPSSSHA256}, {SpecRSA2048, RSASSAPSSSHA512}, {SpecRSA2048, RSASSAPKCS1V15SHA384},
		{SpecECCNISTP256, ECDSASHA256}, {SpecECCNISTP384, ECDSASHA384}, {SpecECCNISTP521, ECDSASHA512},
		{SpecECCNISTEdwards25519, ED25519SHA512}, {SpecECCNISTEdwards25519, ED25519PHSHA512},
	}
	for _, tt := range cases {
		t.Run(tt.spec.String()+"/"+tt.alg.String(), func(t *testing.T) {
			a := pair(t, tt.spec)
			mt := messageTypes(tt.alg)[0]
			in := inputFor(tt.alg, mt, msg)
			sig, err := a.Sign(rand.Reader, tt.alg, mt, in)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := x509.ParsePKIXPublicKey(a.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			switch p := pub.(type) {
			case *rsa.PublicKey:
				h := tt.alg.hash()
				d := inputFor(tt.alg, Digest, msg)
				if isPSS(tt.alg) {
					err = rsa.VerifyPSS(p, h, d, sig, &rsa.PSSOptions{SaltLength: h.Size()})
				} else {
					err = rsa.VerifyPKCS1v15(p, h, d, sig)
				}
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(p, inputFor(tt.alg, Digest, msg), sig) {
					err = errors.New("ecdsa.VerifyASN1 failed")
				}
			case ed25519.PublicKey:
				if tt.alg == ED25519PHSHA512 {
					ph := sha512.Sum512(in)
					err = ed25519.VerifyWithOptions(p, ph[:], sig, &ed25519.Options{Hash: crypto.SHA512})
				} else {
					err = ed25519.VerifyWithOptions(p, msg, sig, &ed25519.Options{})
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSigningErrors(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		alg  SigningAlgorithm
		mt   MessageType
		msg  []byte
		want error
	}{
		{"algorithm of another spec", SpecECCNISTP256, ECDSASHA384, Raw, []byte("m"), ErrIncompatible},
		{"RSA algorithm on an EC key", SpecECCNISTP256, RSASSAPSSSHA256, Raw, []byte("m"), ErrIncompatible},
		{"short ECDSA digest", SpecECCNISTP256, ECDSASHA256, Digest, make([]byte, 31), ErrDigestLength},
		{"long PSS digest", SpecRSA2048, RSASSAPSSSHA384, Digest, make([]byte, 64), ErrDigestLength},
		{"Ed25519 pure takes RAW only", SpecECCNISTEdwards25519, ED25519SHA512, Digest, make([]byte, 64), ErrMessageType},
		{"Ed25519ph takes DIGEST only", SpecECCNISTEdwards25519, ED25519PHSHA512, Raw, []byte("m"), ErrMessageType},
		{"Ed25519ph digest length", SpecECCNISTEdwards25519, ED25519PHSHA512, Digest, make([]byte, 32), ErrDigestLength},
		{"ML-DSA takes no DIGEST", SpecMLDSA44, MLDSASHAKE256, Digest, make([]byte, 64), ErrMessageType},
		{"ML-DSA mu length", SpecMLDSA44, MLDSASHAKE256, ExternalMu, make([]byte, 32), ErrDigestLength},
		{"ECDSA takes no EXTERNAL_MU", SpecECCNISTP256, ECDSASHA256, ExternalMu, make([]byte, 64), ErrMessageType},
		{"SM2 digest length", SpecSM2, SM2DSA, Digest, make([]byte, 20), ErrDigestLength},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pair(t, tt.spec).Sign(rand.Reader, tt.alg, tt.mt, tt.msg); !errors.Is(err, tt.want) {
				t.Fatalf("Sign: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEncryptDecrypt(t *testing.T) {
	cases := []struct {
		spec Spec
		alg  EncryptionAlgorithm
		max  int
	}{
		// The limits of asymmetric-key-specs, "Maximum plaintext size".
		{SpecRSA2048, RSAESOAEPSHA1, 214}, {SpecRSA2048, RSAESOAEPSHA256, 190},
		{SpecRSA3072, RSAESOAEPSHA1, 342}, {SpecRSA3072, RSAESOAEPSHA256, 318},
		{SpecSM2, SM2PKE, 1024},
	}
	for _, tt := range cases {
		t.Run(tt.spec.String()+"/"+tt.alg.String(), func(t *testing.T) {
			a := pair(t, tt.spec)
			if got := a.MaxPlaintext(tt.alg); got != tt.max {
				t.Fatalf("MaxPlaintext = %d, want %d", got, tt.max)
			}
			pt := bytes.Repeat([]byte{0x5a}, tt.max)
			ct, err := a.Encrypt(rand.Reader, tt.alg, pt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Decrypt(tt.alg, ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Decrypt = %x, %v", got, err)
			}
			if _, err := a.Encrypt(rand.Reader, tt.alg, append(pt, 0)); !errors.Is(err, ErrPlaintextTooLarge) {
				t.Fatalf("Encrypt(max+1): %v", err)
			}
			ct[len(ct)-1] ^= 1
			if _, err := a.Decrypt(tt.alg, ct); !errors.Is(err, ErrCiphertext) {
				t.Fatalf("Decrypt(tampered): %v", err)
			}
		})
	}
	if _, err := pair(t, SpecECCNISTP256).Encrypt(rand.Reader, RSAESOAEPSHA1, []byte("x")); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("EC key encrypted: %v", err)
	}
}

func TestDeriveSharedSecretMatchesStandardLibrary(t *testing.T) {
	for _, c := range []struct {
		spec  Spec
		curve ecdh.Curve
	}{{SpecECCNISTP256, ecdh.P256()}, {SpecECCNISTP384, ecdh.P384()}, {SpecECCNISTP521, ecdh.P521()}} {
		t.Run(c.spec.String(), func(t *testing.T) {
			a := pair(t, c.spec)
			peer, _ := c.curve.GenerateKey(rand.Reader)
			peerDER, _ := x509.MarshalPKIXPublicKey(peer.PublicKey())
			got, err := a.DeriveSharedSecret(ECDH, peerDER)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := x509.ParsePKIXPublicKey(a.PublicKey())
			mine, _ := p.(*ecdsa.PublicKey).ECDH()
			want, _ := peer.ECDH(mine)
			if !bytes.Equal(got, want) {
				t.Fatal("shared secrets differ")
			}
		})
	}
	t.Run("SM2 both ways", func(t *testing.T) {
		a, b := pair(t, SpecSM2), newPair(t, SpecSM2)
		x, err := a.DeriveSharedSecret(ECDH, b.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		y, err := b.DeriveSharedSecret(ECDH, a.PublicKey())
		if err != nil || !bytes.Equal(x, y) {
			t.Fatalf("SM2 ECDH not symmetric: %v", err)
		}
	})
	t.Run("peer on another curve", func(t *testing.T) {
		if _, err := pair(t, SpecECCNISTP256).DeriveSharedSecret(ECDH, pair(t, SpecECCNISTP384).PublicKey()); !errors.Is(err, ErrPublicKey) {
			t.Fatalf("err = %v, want ErrPublicKey", err)
		}
	})
	t.Run("garbage peer", func(t *testing.T) {
		if _, err := pair(t, SpecECCNISTP256).DeriveSharedSecret(ECDH, []byte("nope")); !errors.Is(err, ErrPublicKey) {
			t.Fatalf("err = %v, want ErrPublicKey", err)
		}
	})
}

func newPair(t *testing.T, spec Spec) *Asymmetric {
	der, err := Generate(rand.Reader, spec)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAsymmetric(spec, MaterialID{}, der)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestGenerateKeyPairForms(t *testing.T) {
	for _, spec := range []Spec{SpecRSA2048, SpecECCNISTP256, SpecECCSECGP256K1, SpecECCNISTEdwards25519, SpecSM2} {
		t.Run(spec.String(), func(t *testing.T) {
			priv, pub, err := GenerateKeyPair(rand.Reader, spec)
			if err != nil {
				t.Fatal(err)
			}
			a, err := NewAsymmetric(spec, MaterialID{}, priv)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.PublicKey(), pub) {
				t.Fatal("public key does not belong to the private key")
			}
			if err := CheckImport(spec, priv); err != nil {
				t.Fatalf("CheckImport(own key pair) = %v", err)
			}
		})
	}
	if _, _, err := GenerateKeyPair(rand.Reader, SpecHMAC256); err == nil {
		t.Fatal("HMAC spec made a key pair")
	}
}

func TestMaterialOfOneSpecIsNotAnother(t *testing.T) {
	for _, tt := range []struct{ have, load Spec }{
		{SpecECCNISTP256, SpecECCNISTP384}, {SpecRSA2048, SpecRSA3072}, {SpecECCNISTP256, SpecSM2},
		{SpecMLDSA44, SpecMLDSA65}, {SpecECCNISTEdwards25519, SpecRSA2048}, {SpecSM2, SpecECCSECGP256K1},
	} {
		t.Run(tt.have.String()+" as "+tt.load.String(), func(t *testing.T) {
			der, _ := Generate(rand.Reader, tt.have)
			if _, err := NewAsymmetric(tt.load, MaterialID{}, der); !errors.Is(err, ErrKeyMaterial) {
				t.Fatalf("err = %v, want ErrKeyMaterial", err)
			}
		})
	}
}

func TestAsymmetricNeverPrintsKey(t *testing.T) {
	a := newPair(t, SpecECCNISTP256)
	for _, s := range []string{a.String(), a.GoString()} {
		if bytes.Contains([]byte(s), a.der[len(a.der)-40:]) {
			t.Fatal("String shows key bytes")
		}
	}
	der := a.der
	a.Destroy()
	if !bytes.Equal(der, make([]byte, len(der))) {
		t.Fatal("Destroy left the PKCS #8 bytes")
	}
}

func FuzzNewAsymmetric(f *testing.F) {
	for _, spec := range []Spec{SpecECCNISTP256, SpecECCSECGP256K1, SpecSM2, SpecECCNISTEdwards25519} {
		der, _ := Generate(rand.Reader, spec)
		f.Add(uint8(spec), der)
	}
	f.Fuzz(func(t *testing.T, s uint8, der []byte) {
		spec := Spec(s%uint8(SpecMLDSA87) + 1)
		if spec.Family() == FamilySymmetric || spec.Family() == FamilyHMAC {
			return
		}
		a, err := NewAsymmetric(spec, MaterialID{}, bytes.Clone(der))
		if err != nil {
			return
		}
		// Whatever parsed must sign and verify with its own public key.
		alg := spec.SigningAlgorithms()[0]
		mt := messageTypes(alg)[0]
		in := inputFor(alg, mt, []byte("fuzz"))
		sig, err := a.Sign(rand.Reader, alg, mt, in)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := a.Verify(alg, mt, in, sig); !ok || err != nil {
			t.Fatalf("own signature does not verify: %v", err)
		}
	})
}
