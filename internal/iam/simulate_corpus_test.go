package iam

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/authz/corpus"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// TestSimulatorAgreesWithTheAuthorizer runs every case of the decision
// corpus twice: as the live authorizer decides it (corpus.File.Live, then
// authz.DecideKey or authz.IdentityBasedVia, as the authz runner does),
// and through SimulateCustomPolicy given the case's policies (identity,
// boundary, SCP levels, key policy as ResourcePolicy), caller and request
// context as inputs. The decisions (allowed, explicitDeny, implicitDeny)
// must be the same. A case is left out only for what no simulation input
// can express, as in AWS: a grant that allowed it, session policies, a VPC
// endpoint policy, RCPs, a service principal or a role session's own ARN
// as the caller, or a key policy whose principals are bound to unique ids
// that decide the case (a simulated policy is a string, bound to nothing);
// the test says how many, and fails if most are left out.
func TestSimulatorAgreesWithTheAuthorizer(t *testing.T) {
	files, err := corpus.Load(filepath.Join("..", "authz", "testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	d, _, root := newDirectory(t)
	ran, left := 0, map[string]int{}
	for _, f := range files {
		for _, c := range f.Cases {
			if c.Level == "kms" {
				continue // a rule of the KMS operation, not of a decision
			}
			live, err := f.Live(c)
			if err != nil {
				t.Fatalf("%s: %s: %v", filepath.Base(f.Path), c.Name, err)
			}
			want := liveVerdict(live, c.Action)
			if why := inexpressible(f, c, live); why != "" {
				left[why]++
				continue
			}
			ran++
			in := simulationOf(t, f, c, live)
			call := root
			call.Request.Time = live.Request.Time
			out, err := d.SimulateCustomPolicy(context.Background(), call, in)
			if err != nil {
				t.Errorf("%s: %s: SimulateCustomPolicy: %v", filepath.Base(f.Path), c.Name, err)
				continue
			}
			if got := *out.EvaluationResults[0].EvalDecision; got != want {
				t.Errorf("%s: %s: the simulator says %s, the authorizer %s", filepath.Base(f.Path), c.Name, got, want)
			}
		}
	}
	var why []string
	for w, n := range left {
		why = append(why, w+": "+strconv.Itoa(n))
	}
	sort.Strings(why)
	t.Logf("%d cases simulated; left out: %s", ran, strings.Join(why, "; "))
	total := ran
	for _, n := range left {
		total += n
	}
	if ran*2 < total {
		t.Fatalf("only %d of %d cases could be simulated", ran, total)
	}
}

// liveVerdict is the live decision in the simulator's terms.
func liveVerdict(l *corpus.Live, action string) string {
	var d authz.Decision
	if l.Key == nil {
		id := l.Identity
		d = authz.IdentityBasedVia(id, &policy.Request{Principal: id.PolicyPrincipal(), Action: action, Resource: l.Resource, Time: l.Request.Time, Keys: l.Keys}, l.Request.Endpoint)
	} else {
		d = authz.DecideKey(l.Key).Decision
	}
	return verdict(d)
}

// inexpressible says what of a case no simulation input expresses, if
// anything.
func inexpressible(f *corpus.File, c *corpus.Case, l *corpus.Live) string {
	p := f.Principals[c.Principal]
	switch {
	case p.Type == "service":
		return "a service principal caller"
	case p.SessionPolicies != nil:
		return "session policies"
	case len(c.Request.EndpointPolicy) > 0:
		return "a VPC endpoint policy"
	case l.Key != nil && l.Key.RCPs != nil:
		return "RCPs"
	case l.Key != nil && authz.DecideKey(l.Key).By == authz.ByGrant:
		return "a grant"
	}
	if l.Key == nil {
		return ""
	}
	doc := keyPolicyOf(f, c)
	if p.Type == "session" && bytes.Contains(doc, []byte(":assumed-role/")) {
		return "a role session's own ARN"
	}
	// Bound or not, does the key policy decide alike?
	unbound, err := policy.Compile(doc, policy.Options{Kind: policy.ResourceKind})
	if err == nil {
		r := *l.Key
		r.KeyPolicy = unbound
		if authz.DecideKey(&r).Reason != authz.DecideKey(l.Key).Reason {
			return "principals bound to unique ids"
		}
	}
	return ""
}

func keyPolicyOf(f *corpus.File, c *corpus.Case) []byte {
	k := f.Keys[c.Key]
	if k.IsDefault() {
		return corpus.DefaultKeyPolicy(k.Account)
	}
	return corpus.Expand(k.Policy, corpus.KeyID)
}

// simulationOf is the SimulateCustomPolicy request of a case.
func simulationOf(t *testing.T, f *corpus.File, c *corpus.Case, l *corpus.Live) *iamapi.SimulateCustomPolicyRequest {
	p := f.Principals[c.Principal]
	expand := func(doc json.RawMessage) string { return string(corpus.Expand(doc, corpus.KeyID)) }
	in := &iamapi.SimulateCustomPolicyRequest{ActionNames: []string{c.Action}, PolicyInputList: []string{}}
	for _, doc := range p.Policies {
		in.PolicyInputList = append(in.PolicyInputList, expand(doc))
	}
	if len(p.Boundary) > 0 {
		in.PermissionsBoundaryPolicyInputList = []string{expand(p.Boundary)}
	}
	for _, level := range p.SCPs {
		var docs []json.RawMessage
		if t := bytes.TrimSpace(level); len(t) > 0 && t[0] == '[' {
			if err := json.Unmarshal(level, &docs); err != nil {
				panic(err)
			}
		} else {
			docs = []json.RawMessage{level}
		}
		var lvl iamapi.OrderedOrganizationPolicyType
		for _, d := range docs {
			lvl.ServiceControlPolicyInputList = append(lvl.ServiceControlPolicyInputList, expand(d))
		}
		in.OrderedOrganizationPolicyInputList = append(in.OrderedOrganizationPolicyInputList, lvl)
	}
	switch p.Type {
	case "session":
		in.CallerArn = wire.Ptr("arn:aws:iam::" + p.Account + ":role/" + p.Name)
	default:
		in.CallerArn = wire.Ptr(p.ARN())
	}
	if l.Key != nil {
		in.ResourceArns = []string{l.Key.KeyARN}
		in.ResourcePolicy = wire.Ptr(string(keyPolicyOf(f, c)))
		in.ResourceOwner = wire.Ptr(l.Key.KeyAccount)
	} else if l.Resource != "*" {
		in.ResourceArns = []string{l.Resource}
	}
	// Keys whose names in the request differ only in case (an encryption
	// context's Dept and dept) are listed under an entry no key can be
	// named: they are one single-valued entry per value.
	ambiguous := map[string]bool{}
	names := make([]string, 0, len(l.Keys))
	for k, v := range l.Keys {
		if strings.HasPrefix(k, "\x00") {
			for _, a := range v {
				ambiguous[a] = true
			}
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case ambiguous[k]:
			for _, v := range l.Keys[k] {
				in.ContextEntries = append(in.ContextEntries, iamapi.ContextEntry{ContextKeyName: wire.Ptr(k), ContextKeyType: wire.Ptr("string"), ContextKeyValues: []string{v}})
			}
		case len(l.Keys[k]) == 1:
			in.ContextEntries = append(in.ContextEntries, iamapi.ContextEntry{ContextKeyName: wire.Ptr(k), ContextKeyType: wire.Ptr("string"), ContextKeyValues: l.Keys[k]})
		default:
			in.ContextEntries = append(in.ContextEntries, iamapi.ContextEntry{ContextKeyName: wire.Ptr(k), ContextKeyType: wire.Ptr("stringList"), ContextKeyValues: l.Keys[k]})
		}
	}
	return in
}
