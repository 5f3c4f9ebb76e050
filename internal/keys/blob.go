package keys

// Ciphertext blobs of symmetric encryption keys. Version 1 (symmetric.go,
// package doc) is AES-GCM done with material Trent holds, in memory or in a
// custom key store's token.

// BlobHeader is what a ciphertext blob says about itself.
type BlobHeader struct {
	KeyID      string
	MaterialID MaterialID
}

// ParseBlob reads the header of a symmetric ciphertext blob.
func ParseBlob(blob []byte) (BlobHeader, error) {
	var h BlobHeader
	n, err := blobKeyIDLen(blob)
	if err != nil {
		return h, err
	}
	h.KeyID = string(blob[2 : 2+n])
	copy(h.MaterialID[:], blob[2+n:])
	return h, nil
}

// BlobMaterialID is ParseBlob's MaterialID, without making the key id a
// string.
func BlobMaterialID(blob []byte) (MaterialID, error) {
	var m MaterialID
	n, err := blobKeyIDLen(blob)
	if err != nil {
		return m, err
	}
	copy(m[:], blob[2+n:])
	return m, nil
}

// blobKeyIDLen checks a blob's version and that it is long enough for its
// header, nonce and tag, and returns the length of the key id it names.
func blobKeyIDLen(blob []byte) (int, error) {
	if len(blob) < 2 || blob[0] != blobVersion {
		return 0, ErrCiphertext
	}
	n := int(blob[1])
	if n == 0 || len(blob) < 2+n+MaterialIDSize+nonceSize+tagSize {
		return 0, ErrCiphertext
	}
	return n, nil
}

// Version 2: the ciphertext blob of a key in an external key store, whose
// AES-GCM an XKS proxy does (package keystore/xks).
//
//	version(1)=2 | len(keyID)(1) | keyID | len(xksKeyID)(1) | xksKeyID |
//	len(iv)(1) | iv | len(metadata)(1) | metadata | tag(16) | ciphertext
//
// The header up to xksKeyID, followed by the canonical encryption context
// (as version 1 binds it), is the AAD the proxy authenticates; iv, metadata
// and tag are what the proxy returned, which it authenticates itself (the
// XKS specification's AAD covers the metadata). The version byte keeps these
// blobs apart from version 1, so Decrypt needs no KeyId for them either.

const (
	xksBlobVersion = 2
	// The XKS proxy API specification's limits (package keystore/xks, whose
	// constants of the same names a test holds these to).
	xksMaxKeyIDLength  = 128
	xksMaxMetadataSize = 20
	xksTagSize         = 16
	xksIVSize, xksIV16 = 12, 16
)

// XKSBlob is a parsed version-2 blob. Its slices alias the blob.
type XKSBlob struct {
	KeyID, XksKeyID string
	// IV, Metadata (nil when empty), Tag and Ciphertext are the proxy's
	// answer to Encrypt, as its Decrypt takes them back.
	IV, Metadata, Tag, Ciphertext []byte
	header                        XKSHeader
}

// XKSHeader is the part of a version-2 blob known before the proxy is
// called: what it names, bound into the AAD.
type XKSHeader []byte

// NewXKSHeader is the header of a blob of key keyID backed by the external
// key xksKeyID.
func NewXKSHeader(keyID, xksKeyID string) XKSHeader {
	b := make([]byte, 0, 3+len(keyID)+len(xksKeyID))
	b = append(b, xksBlobVersion, byte(len(keyID)))
	b = append(b, keyID...)
	b = append(b, byte(len(xksKeyID)))
	return append(b, xksKeyID...)
}

// AAD is what the proxy authenticates: the header and the canonical
// encryption context.
func (h XKSHeader) AAD(ec map[string]string) []byte {
	return appendContext(h[:len(h):len(h)], ec)
}

// Append is the blob of the proxy's answer under h.
func (h XKSHeader) Append(iv, metadata, tag, ciphertext []byte) []byte {
	b := make([]byte, 0, len(h)+2+len(iv)+len(metadata)+len(tag)+len(ciphertext))
	b = append(b, h...)
	b = append(b, byte(len(iv)))
	b = append(b, iv...)
	b = append(b, byte(len(metadata)))
	b = append(b, metadata...)
	b = append(b, tag...)
	return append(b, ciphertext...)
}

// Header is the header the blob was made under.
func (x XKSBlob) Header() XKSHeader { return x.header }

// IsXKSBlob reports whether a ciphertext blob is of a key in an external key
// store.
func IsXKSBlob(b []byte) bool { return len(b) > 0 && b[0] == xksBlobVersion }

// ParseXKSBlob parses a version-2 blob; ErrCiphertext if it is malformed.
func ParseXKSBlob(b []byte) (XKSBlob, error) {
	var x XKSBlob
	if !IsXKSBlob(b) {
		return x, ErrCiphertext
	}
	rest := b[1:]
	field := func(min, max int) ([]byte, bool) {
		if len(rest) < 1 {
			return nil, false
		}
		n := int(rest[0])
		if n < min || n > max || len(rest) < 1+n {
			return nil, false
		}
		f := rest[1 : 1+n]
		rest = rest[1+n:]
		return f, true
	}
	kid, ok1 := field(1, maxKeyIDLen)
	xid, ok2 := field(1, xksMaxKeyIDLength)
	if !ok1 || !ok2 {
		return x, ErrCiphertext
	}
	x.header = XKSHeader(b[:len(b)-len(rest)])
	iv, ok1 := field(xksIVSize, xksIV16)
	md, ok2 := field(0, xksMaxMetadataSize)
	if !ok1 || !ok2 || (len(iv) != xksIVSize && len(iv) != xksIV16) || len(rest) < xksTagSize+1 {
		return x, ErrCiphertext
	}
	x.KeyID, x.XksKeyID = string(kid), string(xid)
	x.IV, x.Tag, x.Ciphertext = iv, rest[:xksTagSize], rest[xksTagSize:]
	if len(md) > 0 {
		x.Metadata = md
	}
	return x, nil
}

// BlobKeyID is the key id a symmetric ciphertext blob of either version
// names, for choosing a key before decrypting (Decrypt without a KeyId,
// ReEncrypt's kms:ReEncryptOnSameKey, request quotas).
func BlobKeyID(b []byte) (string, error) {
	if IsXKSBlob(b) {
		x, err := ParseXKSBlob(b)
		return x.KeyID, err
	}
	h, err := ParseBlob(b)
	return h.KeyID, err
}
