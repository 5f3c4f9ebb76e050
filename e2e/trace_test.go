package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/trentkms/trent/internal/testserver"
)

// collector is an OTLP/gRPC trace receiver that keeps what it is sent.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu   sync.Mutex
	reqs []*collectortrace.ExportTraceServiceRequest
}

func (c *collector) Export(_ context.Context, r *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, proto.Clone(r).(*collectortrace.ExportTraceServiceRequest))
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// startCollector serves a collector on a loopback port.
func startCollector(t *testing.T) (*collector, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	g := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(g, c)
	go g.Serve(l)
	t.Cleanup(g.Stop)
	return c, "http://" + l.Addr().String()
}

// span is a received span with what the test checks.
type span struct {
	name, trace, id, parent string
	attrs                   map[string]string
	status                  string
	raw                     []byte // the span in protobuf, to search for secrets
}

func (c *collector) spans(t *testing.T) (spans []span, resource map[string]string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	resource = map[string]string{}
	for _, r := range c.reqs {
		for _, rs := range r.ResourceSpans {
			for _, a := range rs.Resource.GetAttributes() {
				resource[a.Key] = a.Value.GetStringValue()
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					raw, _ := proto.Marshal(s)
					sp := span{name: s.Name, trace: hex.EncodeToString(s.TraceId), id: hex.EncodeToString(s.SpanId), parent: hex.EncodeToString(s.ParentSpanId),
						attrs: map[string]string{}, raw: raw}
					if s.Status != nil && s.Status.Code == tracepb.Status_STATUS_CODE_ERROR {
						sp.status = s.Status.Message
					}
					for _, a := range s.Attributes {
						v := a.Value.GetStringValue()
						if v == "" {
							v = strings.Trim(a.Value.String(), " ")
						}
						sp.attrs[a.Key] = v
					}
					spans = append(spans, sp)
				}
			}
		}
	}
	return spans, resource
}

// With --otlp-endpoint, trent serve sends each request's trace to the
// collector: the request, its authentication, authorization, store writes
// and the HSM's cryptography, under one trace id that the audit event
// carries; no span holds the plaintext.
func TestTracesToOTLPCollector(t *testing.T) {
	const cluster, pin = "cluster-2a23b4cdefg", "kmsuser-pass"
	env := softHSMToken(t, cluster, "trent-trace", pin)
	col, endpoint := startCollector(t)
	srv := testserver.Start(t, testserver.Options{Env: append(env, "TRENT_OTLP_ENDPOINT="+endpoint, "TRENT_NODE_ID=traced-node")})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	store, err := c.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{CustomKeyStoreName: aws.String("hsm"),
		CloudHsmClusterId: aws.String(cluster), TrustAnchorCertificate: aws.String(trustAnchor(t)), KeyStorePassword: aws.String(pin)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: store.CustomKeyStoreId}); err != nil {
		t.Fatal(err)
	}
	k := newKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeAwsCloudhsm, CustomKeyStoreId: store.CustomKeyStoreId})
	const plaintext = "a plaintext for the HSM, never for a span"
	if _, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte(plaintext)}); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t) // flushes the exporter's batch

	spans, resource := col.spans(t)
	if resource["service.name"] != "trent" || resource["service.instance.id"] != "traced-node" {
		t.Errorf("resource %v", resource)
	}
	byID := map[string]span{}
	for _, s := range spans {
		byID[s.id] = s
		if bytes.Contains(s.raw, []byte(plaintext)) || bytes.Contains(s.raw, []byte(pin)) || bytes.Contains(s.raw, []byte(testserver.SecretKey)) {
			t.Errorf("span %s holds a secret", s.name)
		}
	}
	children := func(root span) map[string]span {
		out := map[string]span{}
		for _, s := range spans {
			if s.parent == root.id {
				out[s.name] = s
			}
		}
		return out
	}
	var encrypt, createKey *span
	for i, s := range spans {
		switch {
		case s.name == "kms.Encrypt" && s.parent == "":
			encrypt = &spans[i]
		case s.name == "kms.CreateKey" && s.parent == "":
			createKey = &spans[i]
		}
	}
	if encrypt == nil || createKey == nil {
		t.Fatalf("no request spans for Encrypt and CreateKey among %d spans", len(spans))
	}
	kids := children(*encrypt)
	for _, name := range []string{"sigv4.Verify", "kms.Authorize", "hsm.Encrypt"} {
		if _, ok := kids[name]; !ok {
			t.Errorf("Encrypt's span has no %s child; it has %v", name, kids)
		}
	}
	if kids["hsm.Encrypt"].attrs["aws.kms.custom_key_store_id"] != *store.CustomKeyStoreId {
		t.Errorf("hsm.Encrypt attributes %v", kids["hsm.Encrypt"].attrs)
	}
	if _, ok := children(*createKey)["store.Txn"]; !ok {
		t.Errorf("CreateKey's span has no store.Txn child: %v", children(*createKey))
	}

	// The Encrypt audit event names the same trace.
	data, err := os.ReadFile(filepath.Join(srv.DataDir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var e map[string]any
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		if e["eventName"] == "Encrypt" {
			found = true
			if e["trentTraceId"] != encrypt.trace || e["trentNode"] != "traced-node" {
				t.Errorf("Encrypt event: trentTraceId %v, trentNode %v; want %s, traced-node", e["trentTraceId"], e["trentNode"], encrypt.trace)
			}
		}
	}
	if !found {
		t.Error("no Encrypt audit event")
	}
}
