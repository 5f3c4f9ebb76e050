package iam

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// AWS binds the IAM users and roles that a saved trust policy (or key policy,
// or grant) names to their unique ids, so that deleting an entity and creating
// another of the same name does not hand the new one the old one's access;
// it shows the unique id in place of the ARN once the entity is gone (IAM
// User Guide, reference_policies_elements_principal.md, "IAM role principals"
// and "IAM user principals"). A role keeps its trust policy as written, with
// TrustBindings (ARN as written → unique id) beside it.

// bindTrust resolves the principals a trust policy being saved names. AWS
// refuses a trust policy naming a user or role that does not exist:
// MalformedPolicyDocument "Invalid principal in policy".
func (d *Directory) bindTrust(doc string) (map[string]string, error) {
	var out map[string]string
	for _, p := range policy.BindablePrincipals([]byte(doc)) {
		id, ok := d.PrincipalID(p)
		if !ok {
			return nil, iamapi.NewMalformedPolicyDocumentException(`Invalid principal in policy: "AWS":"` + p + `"`)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[p] = id
	}
	return out, nil
}

// unbound reports whether a stored document names a user or role that its
// bindings do not cover: a record saved before documents were bound.
func unbound(doc string, bindings map[string]string) bool {
	for _, p := range policy.BindablePrincipals([]byte(doc)) {
		if _, ok := bindings[p]; !ok {
			return true
		}
	}
	return false
}

// displayTrust is a trust policy as GetRole and ListRoles show it: as
// written, except that a user or role bound to an entity that no longer
// exists shows as the unique id it was bound to (Principal element: "the
// principal ID appears in resource-based policies because AWS can no longer
// map it back to a valid ARN").
func (d *Directory) displayTrust(doc string, bindings map[string]string) string {
	gone := false
	for p, id := range bindings {
		if cur, _ := d.PrincipalID(p); id != "" && cur != id {
			gone = true
			break
		}
	}
	if !gone {
		return doc
	}
	return string(policy.RewritePrincipals([]byte(doc), func(w string) (string, bool) {
		id := bindings[w]
		if cur, _ := d.PrincipalID(w); id == "" || cur == id {
			return "", false
		}
		return id, true
	}))
}

// bindLegacyTrust binds the trust policies stored before trust policies were
// bound, once, when the directory loads: to the entities that hold the names
// now, which is the best that can be known of them (a principal named that
// no longer exists binds to nothing and matches no one). Until then such a
// trust policy matches no user or role: failing closed. A record changed
// meanwhile is left for the next start; its writer bound it.
func (d *Directory) bindLegacyTrust(ctx context.Context) error {
	d.mu.RLock()
	var keys []string
	for idx, r := range d.v.roles {
		if unbound(r.TrustPolicy, r.TrustBindings) {
			acct, _, _ := strings.Cut(idx, "/")
			keys = append(keys, entityKey(acct, roleKind, r.Name))
		}
	}
	d.mu.RUnlock()
	var errs []error
	wrote := false
	for _, key := range keys {
		kv, err := d.st.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var r Role
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			errs = append(errs, err)
			continue
		}
		if !unbound(r.TrustPolicy, r.TrustBindings) {
			continue
		}
		for _, p := range policy.BindablePrincipals([]byte(r.TrustPolicy)) {
			if _, ok := r.TrustBindings[p]; !ok {
				if r.TrustBindings == nil {
					r.TrustBindings = map[string]string{}
				}
				r.TrustBindings[p], _ = d.PrincipalID(p)
			}
		}
		_, err = d.st.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: key, ModRev: kv.ModRev}}, Puts: []store.KV{{Key: key, Value: mustJSON(r)}}})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			errs = append(errs, err)
			continue
		}
		wrote = wrote || err == nil
		d.log.Info("iam: bound the principals of a trust policy stored before binding", "role", key, "bindings", r.TrustBindings)
	}
	if wrote {
		// New runs before Run follows the store: load what was written.
		errs = append(errs, d.follower.Load(ctx))
	}
	return errors.Join(errs...)
}

// sameEntity reports whether the user or role a session or record was bound
// to (boundID) is the entity that now holds the name (id, created). Records
// written before sessions were bound carry no id; for them the entity must
// have existed when the session was issued: one created since is another
// entity of the same name.
func sameEntity(boundID string, issued time.Time, id string, created time.Time) bool {
	if boundID != "" {
		return boundID == id
	}
	return !created.After(issued)
}
