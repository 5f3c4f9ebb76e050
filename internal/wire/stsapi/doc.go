// Package stsapi holds the request and response types of the AWS STS API
// (2011-06-15), an AWS Query protocol service, generated from its model:
// one struct per structure shape, named as the shape (AssumeRoleRequest,
// AssumeRoleResponse, Credentials), with one pointer field per member (nil:
// absent) and a query tag naming the member on the wire; a Validate method
// on each request that applies the model's constraints with AWS's wording
// (code ValidationError); the table of [Operations]; [Namespace] and
// [APIVersion]; and a constructor per error shape that carries the model's
// code and status (NewMalformedPolicyDocumentException gives
// MalformedPolicyDocument, 400).
//
// Everything in zz_generated.go comes from
// ../shared/aws-models/sts/service-2.json; change the generator, not the
// output, and run go generate.
//
// Use [wire.QueryAction] to find the operation, [wire.DecodeQuery] to
// decode and validate its parameters, [wire.WriteXML] with the operation's
// name and [Namespace] to send the response and [wire.WriteXMLError] for
// errors.
//
// # Caveats
//
// Credentials.SecretAccessKey and SessionToken are secrets: never log a
// response. The structs are not safe for concurrent mutation; Operations
// is read-only.
package stsapi

//go:generate go run ../internal/gen -model ../../../../shared/aws-models/sts/service-2.json -pkg stsapi -out zz_generated.go

import "github.com/trentkms/trent/internal/wire"

// Compile-time checks that requests satisfy what wire.DecodeQuery needs.
var (
	_ interface{ Validate() error } = (*AssumeRoleRequest)(nil)
	_                               = wire.DecodeQuery
)
