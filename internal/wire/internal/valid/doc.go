// Package valid checks values against the constraints of an AWS API model
// and words the failures exactly as AWS does. The code that internal/gen
// generates calls it; nothing else should.
//
// A failure reads
//
//	Value 'abc' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048
//
// and [Errors.Err] joins them into one ValidationException:
// "1 validation error detected: …" or "N validation errors detected: …; …".
// Values of sensitive shapes and blobs are never echoed ("Value at 'plaintext'
// failed…").
//
// Paths name members with the first letter lowercased; a member of a nested
// structure is "parent.member" ("constraints.sourceArn"), and a member of an
// element of a list of structures adds the element's 1-based index and
// ".member" ("tags.1.member.tagKey").
// Elements of lists of scalars and keys and values of maps are not reported
// one by one: AWS reports the whole collection once, with all constraints of
// the element shape ("Member must satisfy constraint: [...]", "Map keys must
// satisfy constraint: [...]", "Map value must satisfy constraint: [...]").
//
// # Concurrency
//
// Rules are read-only after package initialization and safe for concurrent
// use; an Errors belongs to one validation.
package valid
