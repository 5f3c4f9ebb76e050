// Package wire is the boundary between HTTP bytes and Trent's operations: it
// decodes and validates requests, encodes responses, and writes the AWS
// error shapes, for the two protocols Trent serves.
//
//   - AWS JSON 1.1 (KMS, Organizations): [DecodeJSON], [WriteJSON] and
//     [WriteError].
//   - AWS Query (IAM, STS): form parameters decoded by [DecodeQuery] (the
//     operation is [QueryAction]), XML responses written by [WriteXML] and
//     [WriteXMLError].
//
// The request and response types of each service, their validation and their
// error constructors are generated from the AWS API model into a subpackage
// (kmsapi, orgapi, iamapi, stsapi) by internal/gen; this package holds what
// they share: [Error], [Timestamp] and the codecs.
//
// Every JSON request (their members are strings, blobs, booleans, integers,
// timestamps, lists of strings or structures, maps of strings, or such
// structures; the generator refuses a model where one is not) gets a
// generated DecodeJSONFrom method, which [DecodeJSON] runs on a
// [JSONDecoder] instead of encoding/json: one pass without reflection, with
// the result and the error encoding/json would give, as differential fuzz
// tests check, except that member names match exactly, as AWS's JSON
// protocol matches them ("keyid" is not KeyId but an unknown member,
// ignored). Responses of the same shapes get a generated AppendJSON method,
// which [WriteJSON] uses instead of encoding/json, writing the same bytes.
// KMS requests also get a
// generated AppendAuditParameters, which writes the audit event's
// requestParameters from the decoded request with the JSON appenders of
// this package ([AppendJSONString] and the rest), so that the audit log
// names exactly what the operation used.
//
// wire must not call services or know what an operation means; it only knows
// the shapes the model declares.
//
// # Errors
//
// Every error a client sees is an [*Error]: an AWS error code, a message and
// an HTTP status. JSON sends the code as "__type"; Query sends it as <Code>
// with <Type> Sender for a 4xx status and Receiver for a 5xx one. Any other
// error is sent with a generic message, so internal detail never reaches a
// client: [WriteError] as a 500 KMSInternalException, [WriteXMLError] as a
// 500 InternalFailure. Logging that detail is the caller's job.
//
// Validation failures are worded alike in both protocols ("1 validation
// error detected: Value 'x' at 'userName' failed to satisfy constraint: …"),
// under the code ValidationException in JSON and ValidationError in Query.
//
// # Concurrency
//
// All functions are safe for concurrent use.
package wire
