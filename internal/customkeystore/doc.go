// Package customkeystore owns the custom key stores of KMS: AWS CloudHSM key
// stores over the PKCS#11 tokens an operator configured as clusters
// (package keystore) and external key stores over XKS proxies (package
// keystore/xks). It keeps their records, this node's connection to each
// store's token or proxy (Conn), and does the six operations on them
// (Create, Describe, Update, Delete, Connect, Disconnect), as kes keeps its
// keystores apart from its server.
//
// It does not authorize: package kms authorizes each operation for the
// caller's account before calling it, and a store of another account is
// not found. It does not do the cryptography of keys in a store either: kms
// reaches a key's token through keys.NewExternalSymmetric over Conn.AEAD and
// a key's proxy through Conn.XKS, after its own authorization and key
// checks. Its writes are the host's (Host): kms commits them, counts new
// stores against the account's quota, and follows their records into
// Stores (Put, Remove, Reset) with the rest of its view.
//
// Connection state is per store (the record's ConnectionState) and per node
// (the Conn): the node that handles Connect or Disconnect logs in or out at
// once; other nodes, and this one after a restart, follow the record when
// the host calls Reconnect.
//
// # Records
//
//	acct/<account>/kms/<region>/keystores/<cks-id>   a store: cluster and trust anchor or the proxy's
//	                                                 endpoint and path; the password or proxy secret
//	                                                 sealed under the root key (PasswordAAD, XKSSecretAAD);
//	                                                 the connection state
//
// # Concurrency
//
// Stores and Conn are safe for concurrent use. Connecting and disconnecting
// a store are serialised by its Conn.
//
// # Errors
//
// Operations return the AWS exceptions of their API (kmsapi constructors).
// A token or proxy that refuses a login is no error of Connect: the store
// becomes FAILED with a ConnectionErrorCode. Proxy failures carry the
// texts of the XKS specification's table (CryptoError for Encrypt and
// Decrypt); the proxy's own message is logged, never relayed.
package customkeystore
