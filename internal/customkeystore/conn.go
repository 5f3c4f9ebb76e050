package customkeystore

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/keystore"
	"github.com/trentkms/trent/internal/keystore/xks"
)

// Conn is this node's connection to one custom key store: its open token,
// or for an external store its proxy's client. Stores makes one per store
// id the first time a store or a key names it and keeps it for the life of
// the process, so keys loaded before their store and keys replaced by a
// write all see the same connection.
type Conn struct {
	mu  sync.Mutex // serialises connecting and disconnecting
	tok atomic.Pointer[keystore.Token]
	// xks is set instead of tok for a connected external key store.
	xks atomic.Pointer[xks.Client]
}

// Token returns the open token, or nil when this node is not connected.
func (c *Conn) Token() keystore.Token {
	if p := c.tok.Load(); p != nil {
		return *p
	}
	return nil
}

// XKS returns the proxy's client, or nil when this node is not connected to
// the external store.
func (c *Conn) XKS() *xks.Client { return c.xks.Load() }

// Connected reports whether this node holds a connection to the store.
func (c *Conn) Connected() bool { return c.tok.Load() != nil || c.xks.Load() != nil }

// close logs out, if connected. The caller holds c.mu.
func (c *Conn) close() error {
	c.xks.Store(nil)
	p := c.tok.Swap(nil)
	if p == nil {
		return nil
	}
	return (*p).Close()
}

// errUnavailable is returned by the AEAD of a key whose store this node is
// not connected to; requests see the key Unavailable before they get here.
var errUnavailable = errors.New("customkeystore: custom key store is not connected")

// Label names a key's material in its store's token: the KMS key and
// material it belongs to, so an HSM administrator can tell which key is
// which.
func Label(keyID, materialID string) string { return "kms/" + keyID + "/" + materialID }

// AEAD is AES-GCM by the key of label in the store's token, for
// keys.NewExternalSymmetric.
func (c *Conn) AEAD(label string) keys.AEAD { return hsmAEAD{conn: c, label: label} }

type hsmAEAD struct {
	conn  *Conn
	label string
}

func (h hsmAEAD) Seal(nonce, plaintext, ad []byte) ([]byte, error) {
	t := h.conn.Token()
	if t == nil {
		return nil, errUnavailable
	}
	return t.Seal(h.label, nonce, plaintext, ad)
}

func (h hsmAEAD) Open(nonce, ciphertext, ad []byte) ([]byte, error) {
	t := h.conn.Token()
	if t == nil {
		return nil, errUnavailable
	}
	return t.Open(h.label, nonce, ciphertext, ad)
}
