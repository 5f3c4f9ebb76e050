package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/store/etcd/etcdtest"
)

func report(t *testing.T, rec *httptest.ResponseRecorder) Report {
	t.Helper()
	var rep Report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatalf("readyz body %q: %v", rec.Body, err)
	}
	return rep
}

func check(rep Report, name string) Check {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	return Check{Name: name, Detail: "missing"}
}

// A sealed node is alive but not ready; once it serves over a local store it
// is ready, and its custom key stores are reported on the operator's
// listener only.
func TestReadinessOfALocalNode(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := NewReadiness(st)
	mux := http.NewServeMux()
	r.Register(mux)
	api := r.Routes(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))

	if rec := serve(mux, httptest.NewRequest("GET", "/healthz", nil)); rec.Code != http.StatusOK {
		t.Fatalf("healthz of a sealed node = %d, want 200: it is alive", rec.Code)
	}
	for _, h := range []http.Handler{mux, api} {
		rec := serve(h, httptest.NewRequest("GET", "/readyz", nil))
		rep := report(t, rec)
		if rec.Code != http.StatusServiceUnavailable || rep.Ready || check(rep, "seal").OK || !check(rep, "store").OK {
			t.Fatalf("readyz of a sealed node = %d %+v", rec.Code, rep)
		}
	}
	if r.Ready() {
		t.Fatal("Ready of a sealed node")
	}

	n := newNode(t, st, "")
	f := NewFence(st, n.followers, FenceOptions{})
	r.Serve(Serving{Fence: f, KeyStores: func() []KeyStore {
		return []KeyStore{{ID: "cks-1234567890abcdef0", Account: "111122223333", Region: "us-east-1", Type: "AWS_CLOUDHSM", State: "CONNECTED", Connected: true}}
	}})
	rec := serve(mux, httptest.NewRequest("GET", "/readyz", nil))
	rep := report(t, rec)
	if rec.Code != http.StatusOK || !rep.Ready || !check(rep, "view").OK || len(rep.CustomKeyStores) != 1 || !rep.CustomKeyStores[0].Connected {
		t.Fatalf("readyz of a serving node = %d %s", rec.Code, rec.Body)
	}
	if rec := serve(mux, httptest.NewRequest("GET", "/ready", nil)); rec.Code != http.StatusOK {
		t.Fatalf("/ready (the earlier name) = %d", rec.Code)
	}
	rec = serve(api, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "cks-") {
		t.Fatalf("readyz on the API listener = %d %s; want ready, without key stores", rec.Code, rec.Body)
	}
	if !r.Ready() {
		t.Fatal("Ready of a serving node")
	}
	// Everything else on the API listener is the API's.
	for _, req := range []*http.Request{httptest.NewRequest("POST", "/readyz", nil), httptest.NewRequest("GET", "/?Action=GetUser", nil), kmsRequest()} {
		if rec := serve(api, req); rec.Code != http.StatusTeapot {
			t.Fatalf("%s %s on the API listener = %d, want it passed to the API", req.Method, req.URL, rec.Code)
		}
	}
}

// A node whose etcd is gone reports the store unreachable and the view stale,
// within the probe's timeout.
func TestReadinessWithoutEtcd(t *testing.T) {
	c := etcdtest.Start(t, 1)
	st := openEtcd(t, c, "/ready/")
	n := newNode(t, st, "", "acct/")
	f := NewFence(st, n.followers, FenceOptions{Bound: time.Second})
	if err := f.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := NewReadiness(st)
	r.Serve(Serving{Fence: f})
	if rep := r.Check(context.Background()); !rep.Ready {
		t.Fatalf("not ready with etcd up: %+v", rep)
	}
	c.Stop(0)
	eventually(t, "stale", func() bool { return !f.Current() })
	rep := r.Check(context.Background())
	if rep.Ready || check(rep, "store").OK || check(rep, "view").OK || !strings.HasPrefix(check(rep, "view").Detail, "stale") {
		t.Fatalf("readiness without etcd: %+v", rep)
	}
	if r.Ready() {
		t.Fatal("Ready while stale")
	}
}

// The guard answers in the shape of the request's protocol, including a
// presigned KMS request whose target is in the query.
func TestGuardAnswersEachProtocol(t *testing.T) {
	c := etcdtest.Start(t, 1)
	st := openEtcd(t, c, "/guard/")
	f := NewFence(st, nil, FenceOptions{}) // never confirmed: stale
	g := Guard(f, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	presigned := httptest.NewRequest("GET", "/?X-Amz-Target=TrentService.Decrypt&X-Amz-Signature=00", nil)
	sts := httptest.NewRequest("GET", "/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	for _, tc := range []struct {
		name string
		req  *http.Request
		want string
	}{
		{"KMS", kmsRequest(), `{"__type":"KMSInternalException","message":"` + StaleMessage + `"}`},
		{"presigned KMS", presigned, `"__type":"KMSInternalException"`},
		{"STS", sts, "<Code>ServiceUnavailable</Code><Message>" + StaleMessage + "</Message>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(g, tc.req)
			if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), tc.want) || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("%d %v %s, want 503 with %s", rec.Code, rec.Header(), rec.Body, tc.want)
			}
		})
	}
}
