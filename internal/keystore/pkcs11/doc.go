// Package pkcs11 implements keystore.Clusters over PKCS#11 tokens (any HSM
// with a PKCS#11 module; SoftHSM2 in tests), through cgo and
// github.com/miekg/pkcs11.
//
// Each configured cluster is one token, found by its label in a module. Open
// logs in as the token's user with the key store password (AWS's kmsuser
// password) and keeps a small pool of sessions; keys are AES-256 secret key
// objects generated in the token with CKA_TOKEN, CKA_SENSITIVE and
// CKA_EXTRACTABLE false, found by CKA_LABEL, and used with CKM_AES_GCM.
//
// # Caveats
//
// Every Seal, Open, GenerateKey and Random is a call into the module, which
// may do network I/O for a networked HSM; a request waits for a free session
// when all of a token's sessions are busy. Within one process a token has at
// most one login (PKCS#11 login state is per process and token), so Open of a
// cluster that is open already fails with keystore.ErrLoggedIn instead of
// silently sharing a login without checking the password.
//
// # Concurrency
//
// Clusters and the tokens it opens are safe for concurrent use. The module
// is initialised with CKF_OS_LOCKING_OK.
package pkcs11
