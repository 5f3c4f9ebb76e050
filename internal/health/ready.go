package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/trentkms/trent/internal/store"
)

// storeCheckTimeout bounds the store read of a readiness check, under the
// one second Kubernetes gives a probe by default.
const storeCheckTimeout = 800 * time.Millisecond

// KeyStore is a custom key store as readiness reports it. Its state does not
// make a node unready: a disconnected store is an operator's choice, and its
// keys are Unavailable to requests whichever node they reach.
type KeyStore struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Region  string `json:"region"`
	Type    string `json:"type"`
	// State is the store's ConnectionState as DescribeCustomKeyStores
	// reports it; Connected whether this node holds a connection to it.
	// A CONNECTED store this node is not connected to is worth a look.
	State     string `json:"connectionState"`
	Connected bool   `json:"nodeConnected"`
}

// Serving is what a node has once it is unsealed and serves.
type Serving struct {
	Fence     *Fence
	KeyStores func() []KeyStore // nil: none reported
}

// Readiness answers health probes.
type Readiness struct {
	st      store.Store
	serving atomic.Pointer[Serving]
}

// NewReadiness returns probes over st; the node counts as sealed until
// Serve.
func NewReadiness(st store.Store) *Readiness {
	return &Readiness{st: st}
}

// Serve records that the node is unsealed and serves.
func (r *Readiness) Serve(s Serving) { r.serving.Store(&s) }

// Check is one condition of readiness.
type Check struct {
	Name   string `json:"name"` // seal, store or view
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Report is the answer of /readyz.
type Report struct {
	Ready           bool       `json:"ready"`
	Checks          []Check    `json:"checks"`
	CustomKeyStores []KeyStore `json:"customKeyStores,omitempty"`
}

// Ready reports, without I/O, whether the node serves: unsealed and its
// views current. For the trent_ready gauge.
func (r *Readiness) Ready() bool {
	s := r.serving.Load()
	return s != nil && s.Fence.Current()
}

// Check evaluates every condition now: the seal is open, the store answers a
// read within storeCheckTimeout, and the views are current.
func (r *Readiness) Check(ctx context.Context) Report {
	var rep Report
	s := r.serving.Load()
	if s == nil {
		rep.Checks = append(rep.Checks, Check{Name: "seal", Detail: "sealed or starting: the root key is not unsealed yet"})
	} else {
		rep.Checks = append(rep.Checks, Check{Name: "seal", OK: true, Detail: "unsealed"})
	}
	sctx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
	_, err := r.st.Get(sctx, store.SchemaKey)
	cancel()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		rep.Checks = append(rep.Checks, Check{Name: "store", Detail: "unreachable: " + err.Error()})
	} else {
		rep.Checks = append(rep.Checks, Check{Name: "store", OK: true})
	}
	if s != nil {
		rep.Checks = append(rep.Checks, viewCheck(s.Fence.Status()))
		if s.KeyStores != nil {
			rep.CustomKeyStores = s.KeyStores()
		}
	}
	rep.Ready = s != nil
	for _, c := range rep.Checks {
		rep.Ready = rep.Ready && c.OK
	}
	return rep
}

func viewCheck(st FenceStatus) Check {
	c := Check{Name: "view", OK: st.Current}
	switch {
	case st.Local:
		c.Detail = "current: the store is local"
	case st.Confirmed.IsZero():
		c.Detail = "not yet confirmed current"
	case st.Current:
		c.Detail = fmt.Sprintf("current: confirmed at revision %d, %s ago (bound %s)", st.Revision, st.Age.Round(time.Millisecond), st.Bound)
	default:
		c.Detail = fmt.Sprintf("stale: last confirmed at revision %d, %s ago (bound %s)", st.Revision, st.Age.Round(time.Millisecond), st.Bound)
	}
	if st.Err != nil {
		c.Detail += "; last attempt: " + st.Err.Error()
	}
	return c
}

// Healthz answers 200 while the process runs and serves HTTP: the liveness
// probe. A sealed or stale node is alive; restarting it would not help.
func (r *Readiness) Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// Readyz answers 200 when the node is ready and 503 when it is not, with the
// Report as JSON: the readiness probe, for the operator's listener.
func (r *Readiness) Readyz(w http.ResponseWriter, req *http.Request) {
	r.writeReport(w, r.Check(req.Context()))
}

// readyzPublic is Readyz without the custom key stores, whose ids and
// accounts are not for whoever reaches the API listener.
func (r *Readiness) readyzPublic(w http.ResponseWriter, req *http.Request) {
	rep := r.Check(req.Context())
	rep.CustomKeyStores = nil
	r.writeReport(w, rep)
}

func (r *Readiness) writeReport(w http.ResponseWriter, rep Report) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !rep.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	w.Write(append(b, '\n'))
}

// Register adds /healthz and /readyz (and /ready, its earlier name) to the
// operator's mux, the metrics listener.
func (r *Readiness) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", r.Healthz)
	mux.HandleFunc("GET /readyz", r.Readyz)
	mux.HandleFunc("GET /ready", r.Readyz)
}

// Routes serves GET /healthz and GET /readyz in front of next, for the API
// listener: no AWS API request is a GET of those paths (Query GETs go to
// "/"). Its /readyz leaves out the custom key stores.
func (r *Readiness) Routes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			switch req.URL.Path {
			case "/healthz":
				r.Healthz(w, req)
				return
			case "/readyz":
				r.readyzPublic(w, req)
				return
			}
		}
		next.ServeHTTP(w, req)
	})
}
