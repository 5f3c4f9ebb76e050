// Package wire is the boundary between HTTP bytes and Trent's operations for
// the AWS JSON 1.1 protocol: it decodes and validates request bodies, encodes
// responses, and writes the AWS error shape.
//
// The request and response types of each service, their validation and their
// error constructors are generated from the AWS API model into a subpackage
// (kmsapi for KMS) by internal/gen; this package holds what they share:
// [Error], [Timestamp], [DecodeJSON], [WriteJSON] and [WriteError].
//
// wire must not call services or know what an operation means; it only knows
// the shapes the model declares.
//
// # Errors
//
// Every error a client sees is an [*Error]: an AWS error code (the JSON
// "__type"), a message and an HTTP status. [WriteError] sends any other error
// as a 500 KMSInternalException with a generic message, so internal detail
// never reaches a client; logging that detail is the caller's job.
//
// # Concurrency
//
// All functions are safe for concurrent use.
package wire
