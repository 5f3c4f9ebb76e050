// Package iamapi holds the request and response types of the AWS IAM API
// (2010-05-08), an AWS Query protocol service, generated from its model:
// one struct per structure shape, named as the shape (CreateUserRequest,
// CreateUserResponse, User), with one pointer field per member (nil:
// absent) and a query tag naming the member on the wire; a Validate method
// on each request that applies the model's constraints with AWS's wording
// (code ValidationError); the table of [Operations]; [Namespace] and
// [APIVersion]; and a constructor per error shape that carries the model's
// code and status (NewNoSuchEntityException gives NoSuchEntity, 404).
//
// Everything in zz_generated.go comes from
// ../shared/aws-models/iam/service-2.json; change the generator, not the
// output, and run go generate.
//
// Use [wire.QueryAction] to find the operation, [wire.DecodeQuery] to
// decode and validate its parameters, [wire.WriteXML] with the operation's
// name and [Namespace] to send the response and [wire.WriteXMLError] for
// errors.
//
// # Caveats
//
// The structs are not safe for concurrent mutation; Operations and the
// …Values slices are read-only.
package iamapi

//go:generate go run ../internal/gen -model ../../../../shared/aws-models/iam/service-2.json -pkg iamapi -out zz_generated.go

import "github.com/trentkms/trent/internal/wire"

// Compile-time checks that requests satisfy what wire.DecodeQuery needs.
var (
	_ interface{ Validate() error } = (*CreateUserRequest)(nil)
	_                               = wire.DecodeQuery
)
