package server

import (
	"context"

	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/wire/kmsapi"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

// kmsOperations routes every operation of the KMS API model: to its
// implementation, or to a clear UnsupportedOperationException.
func kmsOperations(k *kms.Service) map[string]jsonHandler {
	m := map[string]jsonHandler{
		"CreateKey":                       kmsOp(k.CreateKey),
		"DescribeKey":                     kmsOp(k.DescribeKey),
		"ListKeys":                        kmsOp(k.ListKeys),
		"UpdateKeyDescription":            kmsOp(k.UpdateKeyDescription),
		"EnableKey":                       kmsOp(k.EnableKey),
		"DisableKey":                      kmsOp(k.DisableKey),
		"ScheduleKeyDeletion":             kmsOp(k.ScheduleKeyDeletion),
		"CancelKeyDeletion":               kmsOp(k.CancelKeyDeletion),
		"Encrypt":                         kmsOp(k.Encrypt),
		"Decrypt":                         kmsOp(k.Decrypt),
		"ReEncrypt":                       kmsOp(k.ReEncrypt),
		"GenerateDataKey":                 kmsOp(k.GenerateDataKey),
		"GenerateDataKeyWithoutPlaintext": kmsOp(k.GenerateDataKeyWithoutPlaintext),
		"GenerateRandom":                  kmsOp(k.GenerateRandom),
		"CreateAlias":                     kmsOp(k.CreateAlias),
		"UpdateAlias":                     kmsOp(k.UpdateAlias),
		"DeleteAlias":                     kmsOp(k.DeleteAlias),
		"ListAliases":                     kmsOp(k.ListAliases),
		"TagResource":                     kmsOp(k.TagResource),
		"UntagResource":                   kmsOp(k.UntagResource),
		"ListResourceTags":                kmsOp(k.ListResourceTags),
		"EnableKeyRotation":               kmsOp(k.EnableKeyRotation),
		"DisableKeyRotation":              kmsOp(k.DisableKeyRotation),
		"GetKeyRotationStatus":            kmsOp(k.GetKeyRotationStatus),
		"RotateKeyOnDemand":               kmsOp(k.RotateKeyOnDemand),
		"ListKeyRotations":                kmsOp(k.ListKeyRotations),
		"GetKeyPolicy":                    kmsOp(k.GetKeyPolicy),
		"PutKeyPolicy":                    kmsOp(k.PutKeyPolicy),
		"ListKeyPolicies":                 kmsOp(k.ListKeyPolicies),
		"CreateGrant":                     kmsOp(k.CreateGrant),
		"ListGrants":                      kmsOp(k.ListGrants),
		"ListRetirableGrants":             kmsOp(k.ListRetirableGrants),
		"RetireGrant":                     kmsOp(k.RetireGrant),
		"RevokeGrant":                     kmsOp(k.RevokeGrant),
		"GetKeyLastUsage":                 kmsOp(k.GetKeyLastUsage),
		// Asymmetric, HMAC and key agreement keys; imported key material.
		"Sign":                                kmsOp(k.Sign),
		"Verify":                              kmsOp(k.Verify),
		"GetPublicKey":                        kmsOp(k.GetPublicKey),
		"GenerateMac":                         kmsOp(k.GenerateMac),
		"VerifyMac":                           kmsOp(k.VerifyMac),
		"GenerateDataKeyPair":                 kmsOp(k.GenerateDataKeyPair),
		"GenerateDataKeyPairWithoutPlaintext": kmsOp(k.GenerateDataKeyPairWithoutPlaintext),
		"DeriveSharedSecret":                  kmsOp(k.DeriveSharedSecret),
		"GetParametersForImport":              kmsOp(k.GetParametersForImport),
		"ImportKeyMaterial":                   kmsOp(k.ImportKeyMaterial),
		"DeleteImportedKeyMaterial":           kmsOp(k.DeleteImportedKeyMaterial),
		// Custom key stores of type AWS_CLOUDHSM, over PKCS#11 tokens.
		"CreateCustomKeyStore":     kmsOp(k.CreateCustomKeyStore),
		"ConnectCustomKeyStore":    kmsOp(k.ConnectCustomKeyStore),
		"DisconnectCustomKeyStore": kmsOp(k.DisconnectCustomKeyStore),
		"DescribeCustomKeyStores":  kmsOp(k.DescribeCustomKeyStores),
		"UpdateCustomKeyStore":     kmsOp(k.UpdateCustomKeyStore),
		"DeleteCustomKeyStore":     kmsOp(k.DeleteCustomKeyStore),
		// Multi-Region keys among the Regions this deployment serves.
		"ReplicateKey":        kmsOp(k.ReplicateKey),
		"UpdatePrimaryRegion": kmsOp(k.UpdatePrimaryRegion),
	}
	for name := range kmsapi.Operations {
		if _, ok := m[name]; !ok {
			m[name] = unsupported(name)
		}
	}
	return m
}

func unsupported(name string) jsonHandler {
	return func(context.Context, call, []byte) (any, error) {
		return nil, kmsapi.NewUnsupportedOperationException(name + " is not supported by this Trent server yet.")
	}
}

// emptyInput is the request of operations the model gives no input shape.
type emptyInput struct{}

func (*emptyInput) Validate() error { return nil }

func orgOperations(d *iam.Directory) map[string]jsonHandler {
	return map[string]jsonHandler{
		"CreateOrganization": jsonOp(d.CreateOrganization),
		"DescribeOrganization": jsonOp(func(ctx context.Context, c iam.Call, _ *emptyInput) (*orgapi.DescribeOrganizationResponse, error) {
			return d.DescribeOrganization(ctx, c, nil)
		}),
		"CreateAccount":               jsonOp(d.CreateAccount),
		"DescribeCreateAccountStatus": jsonOp(d.DescribeCreateAccountStatus),
		"ListAccounts":                jsonOp(d.ListAccounts),
		// Roots, OUs and the policies that guard them (iam/orgunits.go,
		// iam/orgpolicies.go).
		"CreateOrganizationalUnit":         jsonOp(d.CreateOrganizationalUnit),
		"UpdateOrganizationalUnit":         jsonOp(d.UpdateOrganizationalUnit),
		"DeleteOrganizationalUnit":         jsonOp(d.DeleteOrganizationalUnit),
		"DescribeOrganizationalUnit":       jsonOp(d.DescribeOrganizationalUnit),
		"ListRoots":                        jsonOp(d.ListRoots),
		"ListOrganizationalUnitsForParent": jsonOp(d.ListOrganizationalUnitsForParent),
		"ListChildren":                     jsonOp(d.ListChildren),
		"ListParents":                      jsonOp(d.ListParents),
		"ListAccountsForParent":            jsonOp(d.ListAccountsForParent),
		"MoveAccount":                      jsonOp(d.MoveAccount),
		"CreatePolicy":                     jsonOp(d.CreateOrgPolicy),
		"UpdatePolicy":                     jsonOp(d.UpdateOrgPolicy),
		"DeletePolicy":                     jsonOp(d.DeleteOrgPolicy),
		"DescribePolicy":                   jsonOp(d.DescribeOrgPolicy),
		"ListPolicies":                     jsonOp(d.ListOrgPolicies),
		"AttachPolicy":                     jsonOp(d.AttachPolicy),
		"DetachPolicy":                     jsonOp(d.DetachPolicy),
		"ListPoliciesForTarget":            jsonOp(d.ListPoliciesForTarget),
		"ListTargetsForPolicy":             jsonOp(d.ListTargetsForPolicy),
		"EnablePolicyType":                 jsonOp(d.EnablePolicyType),
		"DisablePolicyType":                jsonOp(d.DisablePolicyType),
		// Tags of accounts, the root, OUs and policies (iam/orgtags.go).
		"TagResource":         jsonOp(d.TagResource),
		"UntagResource":       jsonOp(d.UntagResource),
		"ListTagsForResource": jsonOp(d.ListTagsForResource),
	}
}

func iamOperations(d *iam.Directory) map[string]queryHandler {
	return map[string]queryHandler{
		"CreateUser":                         queryOp(d.CreateUser),
		"GetUser":                            queryOp(d.GetUser),
		"ListUsers":                          queryOp(d.ListUsers),
		"DeleteUser":                         queryOp(d.DeleteUser),
		"TagUser":                            queryOp(d.TagUser),
		"UntagUser":                          queryOp(d.UntagUser),
		"ListUserTags":                       queryOp(d.ListUserTags),
		"CreateGroup":                        queryOp(d.CreateGroup),
		"GetGroup":                           queryOp(d.GetGroup),
		"ListGroups":                         queryOp(d.ListGroups),
		"DeleteGroup":                        queryOp(d.DeleteGroup),
		"AddUserToGroup":                     queryOp(d.AddUserToGroup),
		"RemoveUserFromGroup":                queryOp(d.RemoveUserFromGroup),
		"ListGroupsForUser":                  queryOp(d.ListGroupsForUser),
		"CreateRole":                         queryOp(d.CreateRole),
		"GetRole":                            queryOp(d.GetRole),
		"ListRoles":                          queryOp(d.ListRoles),
		"DeleteRole":                         queryOp(d.DeleteRole),
		"UpdateRole":                         queryOp(d.UpdateRole),
		"UpdateRoleDescription":              queryOp(d.UpdateRoleDescription),
		"UpdateAssumeRolePolicy":             queryOp(d.UpdateAssumeRolePolicy),
		"TagRole":                            queryOp(d.TagRole),
		"UntagRole":                          queryOp(d.UntagRole),
		"ListRoleTags":                       queryOp(d.ListRoleTags),
		"CreateServiceLinkedRole":            queryOp(d.CreateServiceLinkedRole),
		"DeleteServiceLinkedRole":            queryOp(d.DeleteServiceLinkedRole),
		"GetServiceLinkedRoleDeletionStatus": queryOp(d.GetServiceLinkedRoleDeletionStatus),
		"CreateAccessKey":                    queryOp(d.CreateAccessKey),
		"ListAccessKeys":                     queryOp(d.ListAccessKeys),
		"UpdateAccessKey":                    queryOp(d.UpdateAccessKey),
		"DeleteAccessKey":                    queryOp(d.DeleteAccessKey),
		"GetAccessKeyLastUsed":               queryOp(d.GetAccessKeyLastUsed),
		"PutUserPolicy":                      queryOp(d.PutUserPolicy),
		"PutGroupPolicy":                     queryOp(d.PutGroupPolicy),
		"PutRolePolicy":                      queryOp(d.PutRolePolicy),
		"GetUserPolicy":                      queryOp(d.GetUserPolicy),
		"GetGroupPolicy":                     queryOp(d.GetGroupPolicy),
		"GetRolePolicy":                      queryOp(d.GetRolePolicy),
		"DeleteUserPolicy":                   queryOp(d.DeleteUserPolicy),
		"DeleteGroupPolicy":                  queryOp(d.DeleteGroupPolicy),
		"DeleteRolePolicy":                   queryOp(d.DeleteRolePolicy),
		"ListUserPolicies":                   queryOp(d.ListUserPolicies),
		"ListGroupPolicies":                  queryOp(d.ListGroupPolicies),
		"ListRolePolicies":                   queryOp(d.ListRolePolicies),
		"CreatePolicy":                       queryOp(d.CreatePolicy),
		"GetPolicy":                          queryOp(d.GetPolicy),
		"ListPolicies":                       queryOp(d.ListPolicies),
		"DeletePolicy":                       queryOp(d.DeletePolicy),
		"CreatePolicyVersion":                queryOp(d.CreatePolicyVersion),
		"GetPolicyVersion":                   queryOp(d.GetPolicyVersion),
		"ListPolicyVersions":                 queryOp(d.ListPolicyVersions),
		"DeletePolicyVersion":                queryOp(d.DeletePolicyVersion),
		"SetDefaultPolicyVersion":            queryOp(d.SetDefaultPolicyVersion),
		"AttachUserPolicy":                   queryOp(d.AttachUserPolicy),
		"AttachGroupPolicy":                  queryOp(d.AttachGroupPolicy),
		"AttachRolePolicy":                   queryOp(d.AttachRolePolicy),
		"DetachUserPolicy":                   queryOp(d.DetachUserPolicy),
		"DetachGroupPolicy":                  queryOp(d.DetachGroupPolicy),
		"DetachRolePolicy":                   queryOp(d.DetachRolePolicy),
		"ListAttachedUserPolicies":           queryOp(d.ListAttachedUserPolicies),
		"ListAttachedGroupPolicies":          queryOp(d.ListAttachedGroupPolicies),
		"ListAttachedRolePolicies":           queryOp(d.ListAttachedRolePolicies),
		"PutUserPermissionsBoundary":         queryOp(d.PutUserPermissionsBoundary),
		"DeleteUserPermissionsBoundary":      queryOp(d.DeleteUserPermissionsBoundary),
		"PutRolePermissionsBoundary":         queryOp(d.PutRolePermissionsBoundary),
		"DeleteRolePermissionsBoundary":      queryOp(d.DeleteRolePermissionsBoundary),
		// The policy simulator (iam/simulate.go).
		"SimulatePrincipalPolicy":          queryOp(d.SimulatePrincipalPolicy),
		"SimulateCustomPolicy":             queryOp(d.SimulateCustomPolicy),
		"GetContextKeysForPrincipalPolicy": queryOp(d.GetContextKeysForPrincipalPolicy),
		"GetContextKeysForCustomPolicy":    queryOp(d.GetContextKeysForCustomPolicy),
		// Identity providers and MFA devices (internal/iam/federation.go).
		"CreateOpenIDConnectProvider":             queryOp(d.CreateOpenIDConnectProvider),
		"GetOpenIDConnectProvider":                queryOp(d.GetOpenIDConnectProvider),
		"ListOpenIDConnectProviders":              queryOp(d.ListOpenIDConnectProviders),
		"DeleteOpenIDConnectProvider":             queryOp(d.DeleteOpenIDConnectProvider),
		"AddClientIDToOpenIDConnectProvider":      queryOp(d.AddClientIDToOpenIDConnectProvider),
		"RemoveClientIDFromOpenIDConnectProvider": queryOp(d.RemoveClientIDFromOpenIDConnectProvider),
		"UpdateOpenIDConnectProviderThumbprint":   queryOp(d.UpdateOpenIDConnectProviderThumbprint),
		"TagOpenIDConnectProvider":                queryOp(d.TagOpenIDConnectProvider),
		"UntagOpenIDConnectProvider":              queryOp(d.UntagOpenIDConnectProvider),
		"ListOpenIDConnectProviderTags":           queryOp(d.ListOpenIDConnectProviderTags),
		"CreateSAMLProvider":                      queryOp(d.CreateSAMLProvider),
		"GetSAMLProvider":                         queryOp(d.GetSAMLProvider),
		"ListSAMLProviders":                       queryOp(d.ListSAMLProviders),
		"UpdateSAMLProvider":                      queryOp(d.UpdateSAMLProvider),
		"DeleteSAMLProvider":                      queryOp(d.DeleteSAMLProvider),
		"TagSAMLProvider":                         queryOp(d.TagSAMLProvider),
		"UntagSAMLProvider":                       queryOp(d.UntagSAMLProvider),
		"ListSAMLProviderTags":                    queryOp(d.ListSAMLProviderTags),
		"CreateVirtualMFADevice":                  queryOp(d.CreateVirtualMFADevice),
		"EnableMFADevice":                         queryOp(d.EnableMFADevice),
		"ResyncMFADevice":                         queryOp(d.ResyncMFADevice),
		"DeactivateMFADevice":                     queryOp(d.DeactivateMFADevice),
		"DeleteVirtualMFADevice":                  queryOp(d.DeleteVirtualMFADevice),
		"ListMFADevices":                          queryOp(d.ListMFADevices),
		"ListVirtualMFADevices":                   queryOp(d.ListVirtualMFADevices),
	}
}

func stsOperations(d *iam.Directory) map[string]queryHandler {
	return map[string]queryHandler{
		"GetCallerIdentity":  queryOp(d.GetCallerIdentity),
		"AssumeRole":         queryOp(d.AssumeRole),
		"GetSessionToken":    queryOp(d.GetSessionToken),
		"GetFederationToken": queryOp(d.GetFederationToken),
		// Served unsigned too (unsigned.go).
		"AssumeRoleWithWebIdentity": signedFederatedOp(d.AssumeRoleWithWebIdentity),
		"AssumeRoleWithSAML":        signedFederatedOp(d.AssumeRoleWithSAML),
	}
}
