package server

import (
	"context"

	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// kmsOperations routes every operation of the KMS API model: to its
// implementation, or to a clear UnsupportedOperationException.
func kmsOperations(k *kms.Service) map[string]handler {
	m := map[string]handler{
		"CreateKey":                           op(k.CreateKey),
		"DescribeKey":                         op(k.DescribeKey),
		"ListKeys":                            op(k.ListKeys),
		"UpdateKeyDescription":                op(k.UpdateKeyDescription),
		"EnableKey":                           op(k.EnableKey),
		"DisableKey":                          op(k.DisableKey),
		"ScheduleKeyDeletion":                 op(k.ScheduleKeyDeletion),
		"CancelKeyDeletion":                   op(k.CancelKeyDeletion),
		"Encrypt":                             op(k.Encrypt),
		"Decrypt":                             op(k.Decrypt),
		"ReEncrypt":                           op(k.ReEncrypt),
		"GenerateDataKey":                     op(k.GenerateDataKey),
		"GenerateDataKeyWithoutPlaintext":     op(k.GenerateDataKeyWithoutPlaintext),
		"GenerateRandom":                      op(k.GenerateRandom),
		"CreateAlias":                         op(k.CreateAlias),
		"UpdateAlias":                         op(k.UpdateAlias),
		"DeleteAlias":                         op(k.DeleteAlias),
		"ListAliases":                         op(k.ListAliases),
		"TagResource":                         op(k.TagResource),
		"UntagResource":                       op(k.UntagResource),
		"ListResourceTags":                    op(k.ListResourceTags),
		"EnableKeyRotation":                   op(k.EnableKeyRotation),
		"DisableKeyRotation":                  op(k.DisableKeyRotation),
		"GetKeyRotationStatus":                op(k.GetKeyRotationStatus),
		"RotateKeyOnDemand":                   op(k.RotateKeyOnDemand),
		"ListKeyRotations":                    op(k.ListKeyRotations),
		"GetKeyPolicy":                        op(k.GetKeyPolicy),
		"PutKeyPolicy":                        op(k.PutKeyPolicy),
		"ListKeyPolicies":                     op(k.ListKeyPolicies),
		"Sign":                                op(k.Sign),
		"Verify":                              op(k.Verify),
		"GetPublicKey":                        op(k.GetPublicKey),
		"GenerateMac":                         op(k.GenerateMac),
		"VerifyMac":                           op(k.VerifyMac),
		"GenerateDataKeyPair":                 op(k.GenerateDataKeyPair),
		"GenerateDataKeyPairWithoutPlaintext": op(k.GenerateDataKeyPairWithoutPlaintext),
		"DeriveSharedSecret":                  op(k.DeriveSharedSecret),
	}
	for name := range kmsapi.Operations {
		if _, ok := m[name]; !ok {
			m[name] = unsupported(name)
		}
	}
	return m
}

func unsupported(name string) handler {
	return func(context.Context, kms.Caller, []byte) (any, error) {
		return nil, kmsapi.NewUnsupportedOperationException(name + " is not supported by this Trent server yet.")
	}
}
