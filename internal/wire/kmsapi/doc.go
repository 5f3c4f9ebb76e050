// Package kmsapi holds the request and response types of the AWS KMS API
// (TrentService, 2014-11-01), generated from its model: one struct per
// structure shape, named as the shape, with one pointer field per member
// (nil: absent), a Validate method on each request that applies the
// model's constraints with AWS's wording, the table of [Operations], and a
// constructor per error shape (NewNotFoundException, …). Requests of plain
// members also have a DecodeJSONFrom method, the fast decoder that
// [wire.DecodeJSON] uses in place of encoding/json.
//
// Everything in zz_generated.go comes from
// ../shared/aws-models/kms/service-2.json; change the generator, not the
// output, and run go generate.
//
// Use [wire.DecodeJSON] to decode and validate a request and
// [wire.WriteJSON] to send a response. Read pointer fields with
// [wire.String], [wire.Int32] and [wire.Bool]; set them with [wire.Ptr].
//
// # Caveats
//
// Blobs (Plaintext, CiphertextBlob) are []byte that the caller owns; clear
// plaintext when done with it. The structs are not safe for concurrent
// mutation; Operations and the …Values slices are read-only.
package kmsapi

//go:generate go run ../internal/gen -model ../../../../shared/aws-models/kms/service-2.json -pkg kmsapi -out zz_generated.go

import "github.com/trentkms/trent/internal/wire"

// Compile-time checks that requests satisfy what wire.DecodeJSON needs.
var (
	_ interface{ Validate() error } = (*EncryptRequest)(nil)
	_                               = wire.DecodeJSON
)
