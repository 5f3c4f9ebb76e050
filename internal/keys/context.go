package keys

// AppendContext appends the canonical encoding of an encryption context that
// symmetric blobs bind (the pair count, then each key and value with a
// length prefix, in key order), so that other ciphertext formats, such as
// those of keys in external key stores, bind a context the same way.
func AppendContext(b []byte, ec map[string]string) []byte { return appendContext(b, ec) }
