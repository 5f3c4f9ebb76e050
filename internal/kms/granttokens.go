package kms

// Grant tokens. "When you create a grant, there might be a brief delay ...
// until the new grant is available throughout AWS KMS. ... A grant token
// lets you refer to the grant and use the grant permissions immediately";
// "Grant tokens supersede the validity of the grant until all endpoints in
// the service have been updated with the new grant state" (KMS Developer
// Guide, grants.md: grant token, eventual consistency).
//
// In Trent the endpoints are the nodes of a deployment, each following the
// store (etcd) into its in-memory view asynchronously: a node may serve a
// request before its view holds a grant another node just wrote. So a token
// carries the grant itself, sealed (AES-256-GCM) under a key every node
// shares, with the store revision that wrote it. A node that has applied
// that revision knows the grant's fate and decides from its view alone (a
// grant since retired or revoked is not brought back by its token); a node
// that has not, and only such a node, takes the grant from the token. The
// token is "nonsecret" in AWS's words and still proves nothing about the
// caller: the grant in it applies only to its grantee, like any grant.
//
// The token key is random, made once by the first node and stored sealed
// under the root key (tokenKeyPath), so every node that can open key material
// can open tokens, and the root key itself seals nothing a caller chooses.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const (
	// tokenKeyPath holds the grant token key, sealed under the root key.
	tokenKeyPath = "kms/grant-token-key"
	tokenKeyAAD  = "trent:kms:grant-token-key"
	tokenAAD     = "trent grant token v1"
	tokenVersion = 1
	// maxGrantToken is GrantTokenType's maximum length in the API model: a
	// longer token could not be sent back.
	maxGrantToken = 8192
	// tokenProofWindow is how long a token can stand in for a grant a node
	// has not seen. Nodes normally follow the store within a second; AWS
	// reaches eventual consistency "within five minutes". A node still
	// without the grant after this is partitioned or stuck, and should not
	// act on old news.
	tokenProofWindow = 10 * time.Minute
)

// tokenClaim is what a grant token carries.
type tokenClaim struct {
	// Rev is the store revision that wrote the grant: a node whose view
	// has applied it holds the grant, unless it was since deleted.
	Rev    int64     `json:"rev"`
	Issued time.Time `json:"issued"`
	// Ref marks a token that names its grant without carrying it (the
	// grant is too large for a token): it works only where the grant is
	// known.
	Ref   bool        `json:"ref,omitempty"`
	Grant grantRecord `json:"grant"`
}

// loadTokenKey reads the grant token key, or makes and stores it if no node
// has yet. Concurrent first starts agree on one key: the write is
// conditional on the record not existing.
func loadTokenKey(ctx context.Context, st store.Store, sealer *seal.Sealer, rand io.Reader) (cipher.AEAD, error) {
	for attempt := 0; attempt < 3; attempt++ {
		kv, err := st.Get(ctx, tokenKeyPath)
		if err == nil {
			raw, err := sealer.Open(kv.Value, []byte(tokenKeyAAD))
			if err != nil {
				return nil, errors.New("kms: the grant token key does not open under this root key")
			}
			defer clear(raw)
			return tokenAEAD(raw)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		raw := make([]byte, 32)
		if _, err := io.ReadFull(rand, raw); err != nil {
			return nil, err
		}
		sealed, err := sealer.Seal(raw, []byte(tokenKeyAAD))
		clear(raw)
		if err != nil {
			return nil, err
		}
		_, err = st.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: tokenKeyPath}}, Puts: []store.KV{{Key: tokenKeyPath, Value: sealed}}})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		// Written, or another node wrote first: read what is there.
	}
	return nil, errors.New("kms: could not read or create the grant token key")
}

func tokenAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// issueToken makes a token for a grant written at revision rev.
func (s *Service) issueToken(rec grantRecord, rev int64) (string, error) {
	rec.TokenHash = ""
	cl := tokenClaim{Rev: rev, Issued: s.now().UTC(), Grant: rec}
	t, err := s.sealToken(cl)
	if err != nil || len(t) <= maxGrantToken {
		return t, err
	}
	// Too large to carry (long constraints): name the grant instead.
	cl.Ref, cl.Grant = true, grantRecord{ID: rec.ID, KeyID: rec.KeyID, Account: rec.Account, Region: rec.Region}
	return s.sealToken(cl)
}

func (s *Service) sealToken(cl tokenClaim) (string, error) {
	pt, err := json.Marshal(cl)
	if err != nil {
		return "", err
	}
	ns := s.tokenKey.NonceSize()
	buf := make([]byte, 1+ns, 1+ns+len(pt)+s.tokenKey.Overhead())
	buf[0] = tokenVersion
	if _, err := io.ReadFull(s.rand, buf[1:]); err != nil {
		return "", err
	}
	buf = s.tokenKey.Seal(buf, buf[1:1+ns], pt, []byte(tokenAAD))
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// openToken opens a token this deployment issued; ok is false for anything
// else (a token of a grant made before tokens were sealed, or a forgery).
func (s *Service) openToken(token string) (tokenClaim, bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	ns := s.tokenKey.NonceSize()
	if err != nil || len(b) < 1+ns+s.tokenKey.Overhead() || b[0] != tokenVersion {
		return tokenClaim{}, false
	}
	pt, err := s.tokenKey.Open(nil, b[1:1+ns], b[1+ns:], []byte(tokenAAD))
	if err != nil {
		return tokenClaim{}, false
	}
	var cl tokenClaim
	if json.Unmarshal(pt, &cl) != nil || cl.Grant.ID == "" {
		return tokenClaim{}, false
	}
	return cl, true
}

func invalidGrantToken() error {
	return kmsapi.NewInvalidGrantTokenException("Grant token is not valid")
}

// unseen returns the grant a token proves if this node cannot know it yet:
// its view has not applied the revision that wrote it (applied, read
// before the view was), and the token is recent. Otherwise the view has the
// last word and unseen returns nil.
func (s *Service) unseen(cl tokenClaim, applied int64) *grant {
	if cl.Ref || applied >= cl.Rev || s.now().Sub(cl.Issued) > tokenProofWindow {
		return nil
	}
	return newGrant(cl.Grant)
}

// tokenGrants returns the grants on k that the request's grant tokens prove
// and this node does not hold yet. A token that is not a grant token is
// refused (InvalidGrantTokenException), as AWS refuses one; a token of
// another key, or of a grant this node already knows, adds nothing.
func (s *Service) tokenGrants(k *key, tokens []string) ([]*grant, error) {
	// Before the view is read: whatever the view shows then includes every
	// revision up to applied.
	applied := s.follower.Applied()
	var out []*grant
	for _, t := range tokens {
		cl, ok := s.openToken(t)
		if !ok {
			if s.view.grantByToken(t) != nil {
				continue // a token from before sealed tokens, of a grant the view holds
			}
			return nil, invalidGrantToken()
		}
		r := &cl.Grant
		if r.Account != k.rec.Account || r.Region != k.rec.Region || r.KeyID != k.rec.ID || s.grantByID(k, r.ID) != nil {
			continue
		}
		if g := s.unseen(cl, applied); g != nil {
			out = append(out, g)
		}
	}
	return out, nil
}

// grantsFor returns the grants that may allow an access to k: the key's
// grants and those the request's tokens prove, and for CreateGrant only
// those that may parent the grant it makes.
func (s *Service) grantsFor(c Caller, k *key, a access) ([]*authz.Grant, error) {
	if a.child == nil && len(c.grantTokens) == 0 {
		return s.view.grantsOf(k), nil // the hot path: a shared list
	}
	gs := s.view.grantList(k.rec.Region, k.rec.ID)
	if len(c.grantTokens) > 0 {
		pending, err := s.tokenGrants(k, c.grantTokens)
		if err != nil {
			return nil, err
		}
		gs = append(gs[:len(gs):len(gs)], pending...)
	}
	out := make([]*authz.Grant, 0, len(gs))
	for _, g := range gs {
		if a.child == nil || admits(&g.rec, a.child) {
			out = append(out, g.authz)
		}
	}
	return out, nil
}
