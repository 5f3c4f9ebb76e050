// Package hsm is the PKCS#11 seal: the root key wrapped (AES-256-GCM, in the
// token) by a non-extractable AES key that never leaves an HSM token.
//
// Each Wrap generates a new key in the token, labelled trent-seal-<random>,
// and records its label beside the wrapped root key; Unwrap finds it by that
// label. The token is reached through internal/keystore/pkcs11, the code the
// custom key stores use.
//
// The module is loaded by the first Wrap or Unwrap and unloaded by Close.
// A process can initialise a PKCS#11 module only once at a time, so close the
// seal before the same module is loaded for custom key stores (--hsm).
package hsm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/keystore"
	"github.com/trentkms/trent/internal/keystore/pkcs11"
	"github.com/trentkms/trent/internal/seal"
)

// Config names the token and the user PIN.
type Config struct {
	Module string // path of the PKCS#11 module (.so)
	Token  string // the token's label
	PIN    string // the user PIN; Close forgets it
}

// Seal is the PKCS#11 seal.
type Seal struct {
	cfg      Config
	clusters *pkcs11.Clusters
	tok      keystore.Token
}

var _ seal.Wrapper = (*Seal)(nil)

// clusterID is the name the seal's token has inside keystore/pkcs11.
const clusterID = "seal"

const nonceSize = 12

// New returns the seal of cfg; it loads nothing until used.
func New(cfg Config) (*Seal, error) {
	if cfg.Module == "" || cfg.Token == "" {
		return nil, errors.New("seal pkcs11: module= and token= are both required")
	}
	if cfg.PIN == "" {
		return nil, errors.New("seal pkcs11: no user PIN (TRENT_SEAL_PIN or pin-file=)")
	}
	return &Seal{cfg: cfg}, nil
}

func (*Seal) Kind() seal.Kind { return seal.PKCS11 }

// params are the recorded parameters: which key of which token.
type params struct {
	Token string `json:"token"`
	Label string `json:"label"`
}

func (s *Seal) open(ctx context.Context) (keystore.Token, error) {
	if s.tok != nil {
		return s.tok, nil
	}
	if s.clusters == nil {
		c, err := pkcs11.New([]pkcs11.Config{{ClusterID: clusterID, Module: s.cfg.Module, Token: s.cfg.Token}}, pkcs11.Options{MaxSessions: 1})
		if err != nil {
			return nil, fmt.Errorf("seal pkcs11: %w", err)
		}
		s.clusters = c
	}
	tok, err := s.clusters.Open(ctx, clusterID, s.cfg.PIN)
	switch {
	case errors.Is(err, keystore.ErrInvalidCredentials):
		return nil, fmt.Errorf("seal pkcs11: token %q refused the PIN: %w", s.cfg.Token, err)
	case errors.Is(err, keystore.ErrClusterNotFound):
		return nil, fmt.Errorf("seal pkcs11: no token labelled %q in %s", s.cfg.Token, s.cfg.Module)
	case err != nil:
		return nil, fmt.Errorf("seal pkcs11: log in to token %q: %w", s.cfg.Token, err)
	}
	s.tok = tok
	return tok, nil
}

func (s *Seal) Wrap(ctx context.Context, key, ad []byte) (json.RawMessage, []byte, error) {
	tok, err := s.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	var id [8]byte
	rand.Read(id[:])
	p := params{Token: s.cfg.Token, Label: "trent-seal-" + hex.EncodeToString(id[:])}
	if err := tok.GenerateKey(ctx, p.Label); err != nil {
		return nil, nil, fmt.Errorf("seal pkcs11: %w", err)
	}
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	ct, err := tok.Seal(p.Label, nonce, key, ad)
	if err != nil {
		return nil, nil, fmt.Errorf("seal pkcs11: wrap: %w", err)
	}
	b, err := json.Marshal(p)
	return b, append(nonce, ct...), err
}

func (s *Seal) Unwrap(ctx context.Context, raw json.RawMessage, wrapped, ad []byte) ([]byte, error) {
	var p params
	if err := json.Unmarshal(raw, &p); err != nil || p.Label == "" || len(wrapped) < nonceSize {
		return nil, errors.New("seal pkcs11: the recorded parameters are malformed")
	}
	tok, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	key, err := tok.Open(p.Label, wrapped[:nonceSize], wrapped[nonceSize:], ad)
	if errors.Is(err, keys.ErrCiphertext) {
		return nil, fmt.Errorf("%w: the key %s of token %q does not open it", seal.ErrWrongSeal, p.Label, s.cfg.Token)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: token %q has no usable key %s (the root key was wrapped in token %q): %v", seal.ErrWrongSeal, s.cfg.Token, p.Label, p.Token, err)
	}
	return key, nil
}

// Close logs out, unloads the module and forgets the PIN.
func (s *Seal) Close() error {
	s.cfg.PIN = ""
	var errs []error
	if s.tok != nil {
		errs = append(errs, s.tok.Close())
		s.tok = nil
	}
	if s.clusters != nil {
		errs = append(errs, s.clusters.Close())
		s.clusters = nil
	}
	return errors.Join(errs...)
}
