package keys

import (
	"crypto"
	"fmt"
)

// The enums below are AWS's wire names for key specs, key usages and
// algorithms. Their zero values are invalid; the names live only in the
// tables and in String/Parse.

// Spec is a key spec: the kind of key material a KMS key holds.
type Spec uint8

const (
	SpecSymmetricDefault Spec = iota + 1
	SpecRSA2048
	SpecRSA3072
	SpecRSA4096
	SpecECCNISTP256
	SpecECCNISTP384
	SpecECCNISTP521
	SpecECCSECGP256K1
	SpecECCNISTEdwards25519
	SpecSM2
	SpecHMAC224
	SpecHMAC256
	SpecHMAC384
	SpecHMAC512
	SpecMLDSA44
	SpecMLDSA65
	SpecMLDSA87
)

var specNames = []string{
	SpecSymmetricDefault: "SYMMETRIC_DEFAULT", SpecRSA2048: "RSA_2048", SpecRSA3072: "RSA_3072", SpecRSA4096: "RSA_4096",
	SpecECCNISTP256: "ECC_NIST_P256", SpecECCNISTP384: "ECC_NIST_P384", SpecECCNISTP521: "ECC_NIST_P521",
	SpecECCSECGP256K1: "ECC_SECG_P256K1", SpecECCNISTEdwards25519: "ECC_NIST_EDWARDS25519", SpecSM2: "SM2",
	SpecHMAC224: "HMAC_224", SpecHMAC256: "HMAC_256", SpecHMAC384: "HMAC_384", SpecHMAC512: "HMAC_512",
	SpecMLDSA44: "ML_DSA_44", SpecMLDSA65: "ML_DSA_65", SpecMLDSA87: "ML_DSA_87",
}

func (s Spec) String() string { return enumString(specNames, "Spec", uint8(s)) }

// ParseSpec parses a KeySpec (or KeyPairSpec, WrappingKeySpec) wire name.
func ParseSpec(s string) (Spec, error) { return parseEnum[Spec](specNames, "key spec", s) }

// MarshalText is the wire name; an invalid Spec has none.
func (s Spec) MarshalText() ([]byte, error) { return marshalEnum(specNames, "key spec", uint8(s)) }

// UnmarshalText parses a wire name: an unknown one is an error.
func (s *Spec) UnmarshalText(b []byte) (err error) { *s, err = ParseSpec(string(b)); return err }

// Family is the algorithm family a spec belongs to.
type Family uint8

const (
	FamilySymmetric Family = iota + 1
	FamilyRSA
	FamilyECC     // NIST P curves
	FamilySECG    // secp256k1
	FamilyEd25519 // ECC_NIST_EDWARDS25519
	FamilySM2
	FamilyHMAC
	FamilyMLDSA
)

// Family says which algorithms the spec's material runs.
func (s Spec) Family() Family {
	switch s {
	case SpecSymmetricDefault:
		return FamilySymmetric
	case SpecRSA2048, SpecRSA3072, SpecRSA4096:
		return FamilyRSA
	case SpecECCNISTP256, SpecECCNISTP384, SpecECCNISTP521:
		return FamilyECC
	case SpecECCSECGP256K1:
		return FamilySECG
	case SpecECCNISTEdwards25519:
		return FamilyEd25519
	case SpecSM2:
		return FamilySM2
	case SpecHMAC224, SpecHMAC256, SpecHMAC384, SpecHMAC512:
		return FamilyHMAC
	case SpecMLDSA44, SpecMLDSA65, SpecMLDSA87:
		return FamilyMLDSA
	}
	return 0
}

// Usage is a key usage.
type Usage uint8

const (
	UsageEncryptDecrypt Usage = iota + 1
	UsageSignVerify
	UsageGenerateVerifyMAC
	UsageKeyAgreement
)

var usageNames = []string{UsageEncryptDecrypt: "ENCRYPT_DECRYPT", UsageSignVerify: "SIGN_VERIFY", UsageGenerateVerifyMAC: "GENERATE_VERIFY_MAC", UsageKeyAgreement: "KEY_AGREEMENT"}

func (u Usage) String() string { return enumString(usageNames, "Usage", uint8(u)) }

// ParseUsage parses a KeyUsage wire name.
func ParseUsage(s string) (Usage, error) { return parseEnum[Usage](usageNames, "key usage", s) }

// MarshalText is the wire name; an invalid Usage has none.
func (u Usage) MarshalText() ([]byte, error) { return marshalEnum(usageNames, "key usage", uint8(u)) }

// UnmarshalText parses a wire name: an unknown one is an error.
func (u *Usage) UnmarshalText(b []byte) (err error) { *u, err = ParseUsage(string(b)); return err }

// Allows reports whether a key of spec s may have usage u (KMS Developer
// Guide, "Choosing a key spec": RSA encrypts or signs; NIST curves sign or
// agree keys; SM2 does all three; the other curves and ML-DSA only sign).
func (s Spec) Allows(u Usage) bool {
	switch s.Family() {
	case FamilySymmetric:
		return u == UsageEncryptDecrypt
	case FamilyRSA:
		return u == UsageEncryptDecrypt || u == UsageSignVerify
	case FamilyECC:
		return u == UsageSignVerify || u == UsageKeyAgreement
	case FamilySM2:
		return u == UsageEncryptDecrypt || u == UsageSignVerify || u == UsageKeyAgreement
	case FamilySECG, FamilyEd25519, FamilyMLDSA:
		return u == UsageSignVerify
	case FamilyHMAC:
		return u == UsageGenerateVerifyMAC
	}
	return false
}

// IsDataKeyPairSpec reports whether GenerateDataKeyPair can make pairs of spec s.
func (s Spec) IsDataKeyPairSpec() bool {
	switch s.Family() {
	case FamilyRSA, FamilyECC, FamilySECG, FamilyEd25519, FamilySM2:
		return true
	}
	return false
}

// SigningAlgorithm is a signing algorithm.
type SigningAlgorithm uint8

const (
	RSASSAPSSSHA256 SigningAlgorithm = iota + 1
	RSASSAPSSSHA384
	RSASSAPSSSHA512
	RSASSAPKCS1V15SHA256
	RSASSAPKCS1V15SHA384
	RSASSAPKCS1V15SHA512
	ECDSASHA256
	ECDSASHA384
	ECDSASHA512
	SM2DSA
	MLDSASHAKE256
	ED25519SHA512
	ED25519PHSHA512
)

var signingNames = []string{
	RSASSAPSSSHA256: "RSASSA_PSS_SHA_256", RSASSAPSSSHA384: "RSASSA_PSS_SHA_384", RSASSAPSSSHA512: "RSASSA_PSS_SHA_512",
	RSASSAPKCS1V15SHA256: "RSASSA_PKCS1_V1_5_SHA_256", RSASSAPKCS1V15SHA384: "RSASSA_PKCS1_V1_5_SHA_384", RSASSAPKCS1V15SHA512: "RSASSA_PKCS1_V1_5_SHA_512",
	ECDSASHA256: "ECDSA_SHA_256", ECDSASHA384: "ECDSA_SHA_384", ECDSASHA512: "ECDSA_SHA_512",
	SM2DSA: "SM2DSA", MLDSASHAKE256: "ML_DSA_SHAKE_256", ED25519SHA512: "ED25519_SHA_512", ED25519PHSHA512: "ED25519_PH_SHA_512",
}

func (a SigningAlgorithm) String() string {
	return enumString(signingNames, "SigningAlgorithm", uint8(a))
}

// ParseSigningAlgorithm parses a SigningAlgorithm wire name.
func ParseSigningAlgorithm(s string) (SigningAlgorithm, error) {
	return parseEnum[SigningAlgorithm](signingNames, "signing algorithm", s)
}

// hash is the message digest the algorithm signs; 0 for SM2DSA (SM3) and ML-DSA (SHAKE256 inside).
func (a SigningAlgorithm) hash() crypto.Hash {
	switch a {
	case RSASSAPSSSHA256, RSASSAPKCS1V15SHA256, ECDSASHA256:
		return crypto.SHA256
	case RSASSAPSSSHA384, RSASSAPKCS1V15SHA384, ECDSASHA384:
		return crypto.SHA384
	case RSASSAPSSSHA512, RSASSAPKCS1V15SHA512, ECDSASHA512, ED25519SHA512, ED25519PHSHA512:
		return crypto.SHA512
	}
	return 0
}

// EncryptionAlgorithm is an encryption algorithm.
type EncryptionAlgorithm uint8

const (
	EncSymmetricDefault EncryptionAlgorithm = iota + 1
	RSAESOAEPSHA1
	RSAESOAEPSHA256
	SM2PKE
)

var encryptionNames = []string{EncSymmetricDefault: "SYMMETRIC_DEFAULT", RSAESOAEPSHA1: "RSAES_OAEP_SHA_1", RSAESOAEPSHA256: "RSAES_OAEP_SHA_256", SM2PKE: "SM2PKE"}

func (a EncryptionAlgorithm) String() string {
	return enumString(encryptionNames, "EncryptionAlgorithm", uint8(a))
}

// ParseEncryptionAlgorithm parses an EncryptionAlgorithm wire name.
func ParseEncryptionAlgorithm(s string) (EncryptionAlgorithm, error) {
	return parseEnum[EncryptionAlgorithm](encryptionNames, "encryption algorithm", s)
}

// MACAlgorithm is an HMAC algorithm.
type MACAlgorithm uint8

const (
	HMACSHA224 MACAlgorithm = iota + 1
	HMACSHA256
	HMACSHA384
	HMACSHA512
)

var macNames = []string{HMACSHA224: "HMAC_SHA_224", HMACSHA256: "HMAC_SHA_256", HMACSHA384: "HMAC_SHA_384", HMACSHA512: "HMAC_SHA_512"}

func (a MACAlgorithm) String() string { return enumString(macNames, "MACAlgorithm", uint8(a)) }

// ParseMACAlgorithm parses a MacAlgorithm wire name.
func ParseMACAlgorithm(s string) (MACAlgorithm, error) {
	return parseEnum[MACAlgorithm](macNames, "MAC algorithm", s)
}

// KeyAgreementAlgorithm is a key agreement algorithm; KMS has only ECDH.
type KeyAgreementAlgorithm uint8

const ECDH KeyAgreementAlgorithm = 1

var agreementNames = []string{ECDH: "ECDH"}

func (a KeyAgreementAlgorithm) String() string {
	return enumString(agreementNames, "KeyAgreementAlgorithm", uint8(a))
}

// ParseKeyAgreementAlgorithm parses a KeyAgreementAlgorithm wire name.
func ParseKeyAgreementAlgorithm(s string) (KeyAgreementAlgorithm, error) {
	return parseEnum[KeyAgreementAlgorithm](agreementNames, "key agreement algorithm", s)
}

// MessageType says what Sign and Verify receive: the message, its digest,
// or ML-DSA's external μ.
type MessageType uint8

const (
	Raw MessageType = iota + 1
	Digest
	ExternalMu
)

var messageTypeNames = []string{Raw: "RAW", Digest: "DIGEST", ExternalMu: "EXTERNAL_MU"}

func (m MessageType) String() string { return enumString(messageTypeNames, "MessageType", uint8(m)) }

// ParseMessageType parses a MessageType wire name.
func ParseMessageType(s string) (MessageType, error) {
	return parseEnum[MessageType](messageTypeNames, "message type", s)
}

// WrappingAlgorithm wraps key material for import.
type WrappingAlgorithm uint8

const (
	WrapRSAESPKCS1V15 WrappingAlgorithm = iota + 1
	WrapRSAESOAEPSHA1
	WrapRSAESOAEPSHA256
	WrapRSAAESKeyWrapSHA1
	WrapRSAAESKeyWrapSHA256
	WrapSM2PKE
)

var wrappingNames = []string{
	WrapRSAESPKCS1V15: "RSAES_PKCS1_V1_5", WrapRSAESOAEPSHA1: "RSAES_OAEP_SHA_1", WrapRSAESOAEPSHA256: "RSAES_OAEP_SHA_256",
	WrapRSAAESKeyWrapSHA1: "RSA_AES_KEY_WRAP_SHA_1", WrapRSAAESKeyWrapSHA256: "RSA_AES_KEY_WRAP_SHA_256", WrapSM2PKE: "SM2PKE",
}

func (a WrappingAlgorithm) String() string {
	return enumString(wrappingNames, "WrappingAlgorithm", uint8(a))
}

// ParseWrappingAlgorithm parses an AlgorithmSpec wire name.
func ParseWrappingAlgorithm(s string) (WrappingAlgorithm, error) {
	return parseEnum[WrappingAlgorithm](wrappingNames, "wrapping algorithm", s)
}

// SigningAlgorithms lists the signing algorithms of a spec, in AWS's order
// (DescribeKey, GetPublicKey); nil for specs that do not sign.
func (s Spec) SigningAlgorithms() []SigningAlgorithm {
	switch s {
	case SpecRSA2048, SpecRSA3072, SpecRSA4096:
		return []SigningAlgorithm{RSASSAPSSSHA256, RSASSAPSSSHA384, RSASSAPSSSHA512, RSASSAPKCS1V15SHA256, RSASSAPKCS1V15SHA384, RSASSAPKCS1V15SHA512}
	case SpecECCNISTP256, SpecECCSECGP256K1:
		return []SigningAlgorithm{ECDSASHA256}
	case SpecECCNISTP384:
		return []SigningAlgorithm{ECDSASHA384}
	case SpecECCNISTP521:
		return []SigningAlgorithm{ECDSASHA512}
	case SpecECCNISTEdwards25519:
		return []SigningAlgorithm{ED25519SHA512, ED25519PHSHA512}
	case SpecSM2:
		return []SigningAlgorithm{SM2DSA}
	case SpecMLDSA44, SpecMLDSA65, SpecMLDSA87:
		return []SigningAlgorithm{MLDSASHAKE256}
	}
	return nil
}

// EncryptionAlgorithms lists the encryption algorithms of a spec.
func (s Spec) EncryptionAlgorithms() []EncryptionAlgorithm {
	switch s.Family() {
	case FamilySymmetric:
		return []EncryptionAlgorithm{EncSymmetricDefault}
	case FamilyRSA:
		return []EncryptionAlgorithm{RSAESOAEPSHA1, RSAESOAEPSHA256}
	case FamilySM2:
		return []EncryptionAlgorithm{SM2PKE}
	}
	return nil
}

// MACAlgorithms lists the MAC algorithm of an HMAC spec.
func (s Spec) MACAlgorithms() []MACAlgorithm {
	switch s {
	case SpecHMAC224:
		return []MACAlgorithm{HMACSHA224}
	case SpecHMAC256:
		return []MACAlgorithm{HMACSHA256}
	case SpecHMAC384:
		return []MACAlgorithm{HMACSHA384}
	case SpecHMAC512:
		return []MACAlgorithm{HMACSHA512}
	}
	return nil
}

// KeyAgreementAlgorithms lists the key agreement algorithms of a spec.
func (s Spec) KeyAgreementAlgorithms() []KeyAgreementAlgorithm {
	if s.Allows(UsageKeyAgreement) {
		return []KeyAgreementAlgorithm{ECDH}
	}
	return nil
}

// Names returns the wire names of a list of enum values.
func Names[T fmt.Stringer](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

func enumString(names []string, kind string, v uint8) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, v)
}

func marshalEnum(names []string, kind string, v uint8) ([]byte, error) {
	if int(v) < len(names) && names[v] != "" {
		return []byte(names[v]), nil
	}
	return nil, fmt.Errorf("keys: invalid %s %d", kind, v)
}

func parseEnum[T ~uint8](names []string, kind, s string) (T, error) {
	for i, n := range names {
		if n != "" && n == s {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("keys: unknown %s %q", kind, s)
}
