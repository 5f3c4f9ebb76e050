// Command gen generates the Go request and response types of an AWS
// service of the JSON or Query protocol, their validation, its operation
// table and its error constructors from the service's botocore model
// (service-2.json).
//
//	go run ./internal/gen -model service-2.json -pkg kmsapi -out kmsapi/zz_generated.go
//
// The output depends only on the model, so it is checked in, and a test
// regenerates it to check that it is current.
//
// The generator is generic over botocore models of the "json" protocol
// (KMS, Organizations, …), whose types carry json tags, and of the "query"
// protocol (IAM, STS), whose types carry query tags for wire.DecodeQuery
// and wire.WriteXML and whose Validate returns a ValidationError. In the
// json protocol, each structure reached from an input also gets
// DecodeJSONFrom, a decoder on wire.JSONDecoder that wire.DecodeJSON uses
// instead of encoding/json and that matches member names exactly, as AWS
// does (see fastJSON; a model with an input it cannot decode is refused),
// and each structure reached from an output whose members it can write
// gets AppendJSON, which wire.WriteJSON uses instead of encoding/json (see
// encodable; handEncoded lists the structures whose encoding is written by
// hand). For the APIs
// listed in audit.go (KMS), every input also gets AppendAuditParameters, which
// writes an audit event's requestParameters from the decoded request as
// CloudTrail shows them, leaving out by construction every member that is
// or holds a sensitive shape or a blob. It
// refuses a model it cannot represent exactly: a pattern RE2 cannot compile
// (unless rewrites holds an equivalent), a name that collides with another
// declaration, a constraint on a kind of collection element it does not
// check, a timestamp format other than the protocol's default, XML
// attributes or namespaces. See package valid for how failures are worded.
package main
