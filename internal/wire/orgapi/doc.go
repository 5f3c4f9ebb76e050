// Package orgapi holds the request and response types of the AWS
// Organizations API (2016-11-28), an AWS JSON 1.1 service with target
// prefix AWSOrganizationsV20161128, generated from its model like kmsapi:
// one struct per structure shape, named as the shape, with one pointer
// field per member (nil: absent), a Validate method on each request that
// applies the model's constraints with AWS's wording, the table of
// [Operations], and a constructor per error shape
// (NewAWSOrganizationsNotInUseException, …).
//
// Everything in zz_generated.go comes from
// ../shared/aws-models/organizations/service-2.json; change the generator,
// not the output, and run go generate.
//
// Use [wire.DecodeJSON] to decode and validate a request and
// [wire.WriteJSON] to send a response.
//
// # Caveats
//
// The structs are not safe for concurrent mutation; Operations and the
// …Values slices are read-only.
package orgapi

//go:generate go run ../internal/gen -model ../../../../shared/aws-models/organizations/service-2.json -pkg orgapi -out zz_generated.go

import "github.com/trentkms/trent/internal/wire"

// Compile-time checks that requests satisfy what wire.DecodeJSON needs.
var (
	_ interface{ Validate() error } = (*CreateAccountRequest)(nil)
	_                               = wire.DecodeJSON
)
