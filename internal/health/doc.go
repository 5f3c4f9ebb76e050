// Package health says whether a Trent node may serve, and refuses requests
// when it may not.
//
//   - Fence confirms that the node's in-memory views are current: on a store
//     that other nodes write (etcd), a linearizable read of the store's
//     revision followed by a progress notification from every view's watch
//     proves that the views had every write acknowledged before the read.
//     A node that cannot confirm this within its bound may be missing a key
//     disabled, a grant revoked or a policy tightened on another node, so
//     it fails closed: Guard answers every request with a retryable 503
//     until a confirmation succeeds again. A local store (bolt) is written
//     only by this process, and its views are always current.
//   - Readiness answers the probes of load balancers and orchestrators:
//     /healthz (the process is alive) and /readyz (unsealed, store
//     reachable, views current; custom key stores reported).
//
// It must not decide anything about a request beyond "this node may not
// answer now": no authentication, no authorization, no operation semantics.
//
// # Concurrency
//
// Fence.Current, Guard and the Readiness handlers are safe for concurrent
// use; Fence.Run is one goroutine owned by whoever starts it.
package health
