package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
)

// unlocked is what a node has once its root key is unsealed.
type unlocked struct {
	sealer *seal.Sealer
	ids    *iam.Directory
	boot   iam.Bootstrapped
}

// unlock unseals the store's root key with w and loads the identities. On an
// empty store it makes the root key and the first account in one
// transaction; when another node does so first (the transaction conflicts) it
// unseals that node's root key instead, so nodes started at once agree.
// A wrong seal changes nothing.
func unlock(ctx context.Context, st store.Store, w seal.Wrapper, b iam.Bootstrap, log *slog.Logger) (unlocked, error) {
	for attempt := 0; ; attempt++ {
		s, err := seal.Unseal(ctx, st, w, rand.Reader)
		var txn store.Txn
		if errors.Is(err, seal.ErrNotInitialized) {
			s, txn, err = seal.Initialize(ctx, st, w, rand.Reader, time.Now())
			if errors.Is(err, seal.ErrInitialized) && attempt < 5 {
				// Another node made the root key between our two reads.
				continue
			}
		}
		if err != nil {
			return unlocked{}, err
		}
		ids, err := iam.New(ctx, st, s, iam.Options{Log: log})
		if err != nil {
			return unlocked{}, err
		}
		b.Also = txn
		boot, err := ids.Bootstrap(ctx, b)
		if err != nil && len(txn.Puts) > 0 && attempt < 5 {
			// Another node may have made the root key in the meantime: this
			// Sealer is not the store's. Anything but a conflict is then
			// a consequence of that (the view opened nothing) unless the
			// store still has no root key.
			if status, serr := seal.ReadStatus(ctx, st); serr == nil && status.Initialized {
				log.Info("another node initialized the store first; unsealing its root key")
				continue
			}
		}
		if err != nil {
			return unlocked{}, err
		}
		if len(txn.Puts) > 0 {
			log.Info("made the store's root key", "seal", w.Kind())
		}
		return unlocked{sealer: s, ids: ids, boot: boot}, nil
	}
}

// gate answers every request with the sealed error until open gives it the
// real handler.
type gate struct{ h atomic.Pointer[http.Handler] }

func (g *gate) open(h http.Handler) { g.h.Store(&h) }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := g.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	writeSealed(w, r)
}

const sealedMessage = "This Trent node is sealed: its root key is not unsealed yet (an operator runs trent unseal). Retry, or use another node."

// writeSealed answers as AWS does when a service cannot serve for now: a
// 503, which the SDKs retry, in the error shape of the request's protocol
// (JSON 1.1 for KMS and TrentAdmin, Query XML for IAM and STS).
func writeSealed(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("x-amzn-RequestId", id)
	w.Header().Set("Retry-After", "5")
	if r.Header.Get("X-Amz-Target") != "" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"__type":"KMSInternalException","message":%q}`, sealedMessage)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		strings.ReplaceAll(sealedMessage, "&", "&amp;"), id)
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
