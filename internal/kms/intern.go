package kms

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"unique"
	"weak"

	"github.com/trentkms/trent/internal/policy"
)

// Most keys carry the same few key policies (the default policy of their
// account, above all), so the view compiles a document once and shares the
// compiled policy among every key that carries it, and shares the strings
// of a record that keys have in common: a compiled policy was the largest
// part of a key's memory and of its load time (bench/scalebench, heap and
// CPU profiles in docs/BENCHMARKS.md).

// policyCache interns compiled key policies by document and bindings: one
// *policy.Policy per distinct pair, shared read-only (a Policy is immutable
// and safe for concurrent use). It holds them weakly: a policy no key uses
// any more is collected and its entry removed, so replaced and deleted
// documents do not pile up.
type policyCache struct {
	mu sync.Mutex
	m  map[string]weak.Pointer[policy.Policy]
}

// compile returns the compiled policy of doc under o, compiling it only if
// no live key shares it. Options other than Bound and Bindings are the
// view's own and the same for every call.
func (c *policyCache) compile(doc string, o policy.Options) (*policy.Policy, error) {
	id := policyID(doc, o)
	c.mu.Lock()
	if wp, ok := c.m[id]; ok {
		if p := wp.Value(); p != nil {
			c.mu.Unlock()
			return p, nil
		}
	}
	c.mu.Unlock()
	// Compile outside the lock: loading compiles on several goroutines.
	p, err := policy.Compile([]byte(doc), o)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]weak.Pointer[policy.Policy]{}
	}
	if wp, ok := c.m[id]; ok {
		if q := wp.Value(); q != nil {
			return q, nil // another goroutine won
		}
	}
	c.m[id] = weak.Make(p)
	runtime.AddCleanup(p, c.drop, id)
	return p, nil
}

// drop removes id's entry once its policy is gone, unless a newer policy
// took the entry meanwhile.
func (c *policyCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wp, ok := c.m[id]; ok && wp.Value() == nil {
		delete(c.m, id)
	}
}

// len is the number of distinct documents held, for tests.
func (c *policyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// policyID identifies a document and its bindings: the bindings sorted, so
// that equal maps give equal ids.
func policyID(doc string, o policy.Options) string {
	if !o.Bound {
		return "u\x00" + doc
	}
	var b strings.Builder
	b.WriteString("b\x00")
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range o.Bindings {
			if !yield(k) {
				return
			}
		}
	}) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(o.Bindings[k])
		b.WriteByte(0)
	}
	b.WriteByte(0)
	b.WriteString(doc)
	return b.String()
}

// intern returns s sharing its bytes with every other interned equal string.
// It is for the few distinct values keys repeat — account, Region, key
// store, rotation type, material spec — which it holds for the life of
// the process: there are few of them, and a weakly held value (package
// unique) is dropped at a collection while keys still use its bytes, so the
// next key would get a copy of its own.
func intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := names.Load(s); ok {
		return v.(string)
	}
	c := strings.Clone(s)
	v, _ := names.LoadOrStore(c, c)
	return v.(string)
}

var names sync.Map // string → the same string, interned

// internRecord makes a decoded record share the strings keys have in
// common. Policy documents can be as many as keys, so they are held weakly
// (package unique), and the record keeps the handle: the canonical copy
// then lives exactly as long as a key uses it.
func internRecord(r *keyRecord) {
	r.Account = intern(r.Account)
	r.Region = intern(r.Region)
	if r.Policy != "" {
		r.policyHandle = unique.Make(r.Policy)
		r.Policy = r.policyHandle.Value()
	}
	r.PrimaryRegion = intern(r.PrimaryRegion)
	r.CustomKeyStoreID = intern(r.CustomKeyStoreID)
	// The current material's id is also in the list: one copy.
	for i := range r.Materials {
		if r.Materials[i].ID == r.CurrentMaterial {
			r.Materials[i].ID = r.CurrentMaterial
		}
		r.Materials[i].RotationType = intern(r.Materials[i].RotationType)
	}
}
