package kms

import (
	"fmt"
	"github.com/trentkms/trent/internal/keys"
	"slices"

	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// The order in which AWS KMS checks a request, and so the error a request
// with several faults gets (docs/COMPATIBILITY.md, "Error precedence"):
//
//  1. the request alone: the model's constraints, then the operation's own
//     rules on its parameters (ValidationException);
//  2. the key it names: NotFoundException;
//  3. authorization: AccessDeniedException, before anything about the
//     key's state or type is revealed;
//  4. the key's origin, for the operations that exist only for some
//     origins — importing (key-state.md footnote 9 before 8) and rotation
//     (footnote 7): UnsupportedOperationException;
//  5. the key's state, as the key-state table of the KMS Developer Guide
//     gives it: DisabledException, KMSInvalidStateException;
//  6. the key's spec and usage: UnsupportedOperationException,
//     InvalidKeyUsageException;
//  7. what the operation checks of this key with this request (algorithm
//     for the key spec, grant operations for the key type, quotas);
//  8. DryRun: DryRunOperationException.
//
// Steps 2 and 3 are keyFor; steps 4 to 6 are needs, one entry per
// operation, checked by need.check.

// stateSet is a set of key states.
type stateSet uint8

func states(ss ...State) stateSet {
	var set stateSet
	for _, s := range ss {
		set |= 1 << s
	}
	return set
}

func (set stateSet) has(s State) bool { return set&(1<<s) != 0 }

// need is what an operation needs of the key it names, beyond the request.
type need struct {
	// origins are the origins the operation exists for; nil: any. Checked
	// before the state (step 4).
	origins []Origin
	// refuse are the states in which the key-state table has the operation
	// fail for the state itself (footnotes 1-5, 11): the key's state
	// decides before its type there. States whose cell depends on the type
	// (footnotes 6, 7, 9) are not in it.
	refuse stateSet
	// pendingDeletionOnly: the operation works only on a key pending
	// deletion, and says "is not pending deletion." otherwise (footnote 4).
	pendingDeletionOnly bool
	// usage is the key usage the operation needs; "" any.
	usage keys.Usage
	// kind checks the key spec (step 6) after usage; nil: any.
	kind func(k *key, op string) error
}

var (
	// The cryptographic operations: only an enabled, available key works.
	cryptoStates = states(Disabled, PendingDeletion, PendingImport, Unavailable)
	// rotationOrigins: keys with imported material or in a custom key
	// store do not rotate automatically (footnote 7).
	rotationOrigins = []Origin{originAWSKMS}
)

// needs holds what each operation on a key needs of it (key-state.md, and
// each operation's API reference for the key types it takes).
var needs = map[string]need{
	"Encrypt":                             {refuse: cryptoStates, usage: keys.UsageEncryptDecrypt},
	"Decrypt":                             {refuse: cryptoStates, usage: keys.UsageEncryptDecrypt},
	"ReEncrypt":                           {refuse: cryptoStates, usage: keys.UsageEncryptDecrypt},
	"GenerateDataKey":                     {refuse: cryptoStates, usage: keys.UsageEncryptDecrypt, kind: symmetricData},
	"GenerateDataKeyWithoutPlaintext":     {refuse: cryptoStates, usage: keys.UsageEncryptDecrypt, kind: symmetricData},
	"GenerateDataKeyPair":                 {refuse: cryptoStates, usage: keys.UsageEncryptDecrypt, kind: symmetricData},
	"GenerateDataKeyPairWithoutPlaintext": {refuse: cryptoStates, usage: keys.UsageEncryptDecrypt, kind: symmetricData},
	"Sign":                                {refuse: cryptoStates, usage: keys.UsageSignVerify},
	"Verify":                              {refuse: cryptoStates, usage: keys.UsageSignVerify},
	"GenerateMac":                         {refuse: cryptoStates, usage: keys.UsageGenerateVerifyMAC},
	"VerifyMac":                           {refuse: cryptoStates, usage: keys.UsageGenerateVerifyMAC},
	"DeriveSharedSecret":                  {refuse: cryptoStates, usage: keys.UsageKeyAgreement},
	"GetPublicKey":                        {refuse: cryptoStates, kind: asymmetricOnly},
	"CreateGrant":                         {refuse: states(Disabled, PendingDeletion, PendingImport)},
	"CreateAlias":                         {refuse: states(PendingDeletion)},
	"UpdateAlias":                         {refuse: states(PendingDeletion)}, // the new target (footnote 10)
	"EnableKey":                           {refuse: states(PendingDeletion, PendingImport)},
	"DisableKey":                          {refuse: states(PendingDeletion, PendingImport)},
	"UpdateKeyDescription":                {refuse: states(PendingDeletion)},
	"TagResource":                         {refuse: states(PendingDeletion)},
	"UntagResource":                       {refuse: states(PendingDeletion)},
	"ScheduleKeyDeletion":                 {refuse: states(PendingDeletion)},
	"CancelKeyDeletion":                   {pendingDeletionOnly: true},
	"EnableKeyRotation":                   {origins: rotationOrigins, refuse: states(Disabled, PendingDeletion), kind: rotates},
	"DisableKeyRotation":                  {origins: rotationOrigins, refuse: states(Disabled, PendingDeletion), kind: rotates},
	"GetKeyRotationStatus":                {origins: rotationOrigins, kind: rotates},
	// On-demand rotation also rotates imported material (RotateKeyOnDemand).
	"RotateKeyOnDemand":         {origins: []Origin{originAWSKMS, originExternal}, refuse: states(Disabled, PendingDeletion, PendingImport), kind: rotates},
	"ListKeyRotations":          {kind: symmetricOnly},
	"GetParametersForImport":    {origins: []Origin{originExternal}, refuse: states(PendingDeletion)},
	"ImportKeyMaterial":         {origins: []Origin{originExternal}, refuse: states(PendingDeletion)},
	"DeleteImportedKeyMaterial": {origins: []Origin{originExternal}}, // also pending deletion (its API reference)
	"ReplicateKey":              {refuse: cryptoStates},
	"UpdatePrimaryRegion":       {refuse: cryptoStates},
}

// check applies op's needs to k: origin, state, usage, spec, in that order.
func (n need) check(k *key, op string) error {
	if n.origins != nil && !slices.Contains(n.origins, k.rec.Origin) {
		return kmsapi.NewUnsupportedOperationException(k.arn + " origin is " + k.rec.Origin.String() + " which is not valid for this operation.")
	}
	st := k.state()
	switch {
	case n.pendingDeletionOnly && st != PendingDeletion:
		return kmsapi.NewKMSInvalidStateException(k.arn + " is not pending deletion.")
	case n.refuse.has(st):
		return stateError(k, st)
	case n.usage != 0 && k.rec.Usage != n.usage:
		return wrongUsage(k, op)
	case n.kind != nil:
		return n.kind(k, op)
	}
	return nil
}

// checkKey applies the needs of op to k; an operation without an entry
// needs nothing of its key.
func checkKey(k *key, op string) error {
	return needs[op].check(k, op)
}

// stateError is the key-state table's error for an operation that does not
// work in state st (footnotes 1, 3, 5, 11).
func stateError(k *key, st State) error {
	switch st {
	case Disabled:
		return kmsapi.NewDisabledException(k.arn + " is disabled.")
	case PendingDeletion:
		return kmsapi.NewKMSInvalidStateException(k.arn + " is pending deletion.")
	case PendingImport:
		return kmsapi.NewKMSInvalidStateException(k.arn + " is pending import.")
	case Unavailable:
		return kmsapi.NewKMSInvalidStateException(k.arn + " is unavailable.")
	}
	return fmt.Errorf("kms: key %s in state %v refused without a message", k.rec.ID, st)
}

// rotates: only symmetric encryption keys rotate; AWS refuses others with
// an empty message (error corpus, RotateKeyOnDemand on an RSA key).
func rotates(k *key, _ string) error {
	if k.rec.Spec != keys.SpecSymmetricDefault {
		return kmsapi.NewUnsupportedOperationException("")
	}
	return nil
}

func symmetricOnly(k *key, _ string) error {
	if k.rec.Spec != keys.SpecSymmetricDefault {
		return kmsapi.NewUnsupportedOperationException(k.arn + " key spec is " + k.rec.Spec.String() + " which is not valid for this operation.")
	}
	return nil
}

func asymmetricOnly(k *key, _ string) error {
	if k.rec.Spec == keys.SpecSymmetricDefault || k.rec.Usage == keys.UsageGenerateVerifyMAC {
		return kmsapi.NewUnsupportedOperationException(k.arn + " key spec is " + k.rec.Spec.String() + " which is not valid for this operation.")
	}
	return nil
}

// symmetricData: data keys are encrypted under symmetric keys only.
func symmetricData(k *key, op string) error {
	if k.rec.Spec != keys.SpecSymmetricDefault {
		return kmsapi.NewInvalidKeyUsageException(k.arn + " key spec is " + k.rec.Spec.String() + " which is not valid for " + op + ".")
	}
	return nil
}

// keyForOp resolves the KeyId of op, authorizes the access and checks what
// op needs of the key: steps 2 to 6 of AWS's order.
func (s *Service) keyForOp(c Caller, op, id string, forms idForms, a access) (*key, error) {
	k, err := s.keyFor(c, id, forms, a)
	if err != nil {
		return nil, err
	}
	return k, checkKey(k, op)
}
