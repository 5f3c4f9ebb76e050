// Package policy is the IAM policy language: it parses, validates, compiles
// and evaluates the JSON policies AWS uses everywhere (identity policies,
// permissions boundaries, session policies, resource policies such as KMS key
// policies, role trust policies and VPC endpoint policies), and explains its
// decisions.
//
// The behaviour follows the IAM User Guide policy reference
// (../shared/docs/iam-user-guide/reference_policies_*.md); comments and tests
// cite the page and section each rule comes from.
//
// The package is pure: no I/O, no clock, no knowledge of KMS or any other
// service. The caller describes the request in a Request (principal, action,
// resource, condition keys, time) and combines the decisions of several
// policies (identity ⊕ resource ⊕ boundary ⊕ session ⊕ endpoint) itself; the
// package offers the primitives for that.
//
// # Use
//
// Compile a document once, with Options saying what kind of policy it is and
// which limits apply, then evaluate it for each request:
//
//	p, err := policy.Compile(doc, policy.Options{Kind: policy.ResourceKind, MaxBytes: 32768, Charset: policy.Latin1Charset})
//	…
//	out := p.Decide(&policy.Request{
//		Principal: policy.Principal{Type: policy.AWSPrincipal, ARN: callerARN, Account: callerAccount},
//		Action:    "kms:Decrypt",
//		Resource:  keyARN,
//		Time:      now,
//		Keys:      policy.NewKeys("kms:CallerAccount", callerAccount, "kms:EncryptionContext:Dept", "IT"),
//	})
//
// Decide returns the Decision (ExplicitDeny, Allow or NotApplicable), the
// deciding statement and, for Allow, how the Principal element matched the
// caller (Via). ViaAccount means the policy only delegated to the caller's
// account (Principal "AWS": "111122223333" or "arn:aws:iam::111122223333:root"),
// so the caller's identity policies must also allow the request; ViaPrincipal,
// ViaAnyone, ViaNotPrincipal and ViaRole grant by themselves (ViaRole: through
// the role of a session caller, so the session's own limits still apply; the
// strongest grant of the matching statements counts). Evaluate also lists every statement that
// applied, and Explain says, for each statement that did not apply, which
// elements failed and why. DecideAll evaluates several policies of one kind
// as one set.
//
// # Saved policies
//
// AWS binds the IAM users and roles a saved resource-based or trust policy
// names to their unique ids, so that an entity deleted and created again
// under the same name is not the principal the policy named. Compile such a
// document with Options.Bound and the Bindings resolved when it was saved
// (BindablePrincipals lists the ARNs to resolve), describe callers with
// Principal.ID, and display the document with RewritePrincipals.
//
// Validate reports every finding in a document, errors and warnings, worded
// as AWS words them; Compile fails with the errors.
//
// # Request context keys
//
// Keys maps lower-case key names to values (several values make a
// multivalued key). Condition key names are case-insensitive in AWS
// (reference_policies_elements_condition.md), including the part after
// "kms:EncryptionContext:" or "aws:ResourceTag/"; the package lower-cases the
// names in policies at compile time and expects the caller to supply lower-case
// names, which Keys.Set, Keys.Add and NewKeys do. Values are compared as the
// operator says: case-sensitively unless it is an IgnoreCase operator.
// aws:CurrentTime and aws:EpochTime default to Request.Time.
//
// Request.More holds further layers of keys built once and shared (the
// caller's, the resource's), and Request.List the few keys a request builds
// anew, as a KeyList: a list is cheaper to build than a map and is read by a
// scan of a few names.
//
// A single-valued key whose name comes from the request (an encryption
// context or tag key) is set with Keys.SetOne (KeyList.SetOne): names that differ only in case
// then make one ambiguous key, and evaluation fails closed over its values (a
// Deny statement applies if it applies under any of them, an Allow statement
// only if it applies under all), so no decision depends on which of the
// colliding names a map happened to yield last.
//
// # Performance
//
// Everything in a policy is prepared at compile time: action patterns are
// lower-cased, ARNs split into segments, numbers, dates, CIDR blocks and
// base64 values parsed. Decide and Evaluate (with a reused Result) do not
// allocate unless a policy variable resolves to aws:CurrentTime or a
// StringEqualsIgnoreCase value contains a variable. Wildcard matching never
// backtracks: its cost is bounded by the product of pattern and text length.
//
// # Concurrency
//
// A *Policy is immutable after Compile and safe for concurrent use by any
// number of goroutines. A Request and a Result must not be shared between
// concurrent evaluations while they run.
//
// # Errors
//
// Compile returns a *ValidationError listing the findings of SeverityError.
// It unwraps to ErrLimit when the document breaks Options.MaxBytes or
// Options.Charset (KMS reports these as ValidationException) and to
// ErrMalformed otherwise (MalformedPolicyDocumentException in KMS,
// MalformedPolicyDocument in IAM). Error returns the AWS message of the first
// finding; each Finding also carries a Code to branch on and a precise Detail.
// Warnings (SeverityWarning, such as CodeOverlyPermissive for a ForAllValues
// or ForAnyValue qualifier on a single-valued key) do not fail Compile unless
// Options.WarningsAsErrors is set, because AWS accepts such policies.
package policy
