// Package iam owns Trent's identities: accounts and their organization, IAM
// users, groups, roles, managed and inline policies, access keys, service-linked
// roles, and the temporary credentials STS issues. It serves SigV4's secret
// lookups and resolves an access key to its full Identity (principal, tags,
// compiled identity policies, boundary, session policies) from an in-memory
// view kept current by the store, so a request authenticates and gathers what
// authorization needs with no store I/O.
//
// # The request path's read side
//
// A Directory is two things: the identity view that every request reads,
// and the IAM, STS and Organizations operations that write it. The request
// path depends only on the read side (lookup.go), through small interfaces
// its consumers declare:
//
//   - Secret: an access key's secret and session token, for the SigV4
//     check (sigv4.SecretLookup).
//   - Identity: who holds an access key, with the compiled policies,
//     boundary, session policies, tags and SCPs authorization needs
//     (authn.Directory).
//   - NoteUse: the key's last use, in memory, flushed each minute
//     (authn.Directory).
//   - OrgID and OrgScope: an account's organization and the organization's
//     word on it (aws:PrincipalOrgID, a service's source account, resource
//     control policies; authn.Directory and kms.Organization).
//   - PrincipalID: the unique id a key policy or grant being saved binds a
//     user or role to (kms.PrincipalResolver).
//
// They are the read side because a request calls them before anything is
// authorized, on every request, so they read memory only and must stay
// cheap; and because they decide who a request is, they are kept apart from
// the operations, which can grow (federation, MFA, Organizations policies)
// without changing what a request depends on.
//
// # Store layout
//
//	org/organization                        the organization
//	acct/<account>/account                  an account
//	acct/<account>/iam/users/<lower name>   an IAM user (inline policies, attachments, groups, tags)
//	acct/<account>/iam/groups/<lower name>  an IAM group
//	acct/<account>/iam/roles/<lower name>   an IAM role (trust policy, …)
//	acct/<account>/iam/policies/<lower name> a customer managed policy and its versions
//	iam/accesskeys/<access key id>          a long-term access key: owner and sealed secret
//	sts/sessions/<access key id>            temporary credentials: sealed secret and token
//	acct/<account>/iam/oidc-providers/…     identity providers and MFA devices (federation.go)
//	sts/saml-assertions/<hash>              SAML assertions already used, until they expire (saml.go)
//
// # Concurrency
//
// A *Directory is safe for concurrent use. Run owns its background work.
//
// Every write whose checks read other records (quotas, existence, what still
// uses an entity) is one store transaction with its checks (txn.go): it
// decides on a consistent snapshot of the view, compares every record it
// read when it commits, and decides again on a conflict. A set of records
// (a user's access keys, a group's members, a policy's holders, the
// organization's accounts) is guarded by a record that every write growing
// the set rewrites. Access keys are bound to their user's unique id.
package iam
