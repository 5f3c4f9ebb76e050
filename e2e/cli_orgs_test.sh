#!/usr/bin/env bash
# Drives Trent's AWS Organizations roots, OUs and policies through the AWS
# CLI v2 (Debian's awscli at /usr/bin/aws), as an administrator of the
# management account would: an organization, a member account moved into
# an OU, SCPs and RCPs created, attached, listed and detached, and the
# errors on the way, and the tags of OUs and accounts. TestAWSCLIOrganizations in orgs_test.go runs it against
# a test server with root credentials.
set -euo pipefail

: "${ENDPOINT:?ENDPOINT must be the URL of a running trent serve}"
: "${ACCOUNT:?ACCOUNT must be the account of the root credentials}"
AWS=/usr/bin/aws

orgs() { "$AWS" --endpoint-url "$ENDPOINT" organizations "$@"; }
step() { printf '== %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
want() { [[ "$2" == "$3" ]] || fail "$1 = '$2', want '$3'"; }
expect_error() {
	local code=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded, want $code"
	fi
	[[ "$out" == *"($code)"* ]] || fail "'$*' failed with '$out', want $code"
}

step "create-organization, create-account, list-roots"
org=$(orgs create-organization --feature-set ALL --query Organization.Id --output text)
member=$(orgs create-account --account-name dev --email dev@example.com --query CreateAccountStatus.AccountId --output text)
root=$(orgs list-roots --query 'Roots[0].Id' --output text)
[[ "$root" == r-* ]] || fail "root id '$root'"
want "policy types of a new root" "$(orgs list-roots --query 'length(Roots[0].PolicyTypes || `[]`)' --output text)" "0"

step "create-organizational-unit; move-account into it"
prod=$(orgs create-organizational-unit --parent-id "$root" --name prod --query OrganizationalUnit.Id --output text)
team=$(orgs create-organizational-unit --parent-id "$prod" --name team --query OrganizationalUnit.Id --output text)
want "OU ARN" "$(orgs describe-organizational-unit --organizational-unit-id "$team" --query OrganizationalUnit.Arn --output text)" "arn:aws:organizations::$ACCOUNT:ou/$org/$team"
expect_error DuplicateOrganizationalUnitException orgs create-organizational-unit --parent-id "$root" --name prod
orgs move-account --account-id "$member" --source-parent-id "$root" --destination-parent-id "$team"
want "parent" "$(orgs list-parents --child-id "$member" --query 'Parents[0].Id' --output text)" "$team"
want "accounts of team" "$(orgs list-accounts-for-parent --parent-id "$team" --query 'Accounts[].Id' --output text)" "$member"
want "OU children of root" "$(orgs list-children --parent-id "$root" --child-type ORGANIZATIONAL_UNIT --query 'Children[].Id' --output text)" "$prod"
want "OUs of prod" "$(orgs list-organizational-units-for-parent --parent-id "$prod" --query 'OrganizationalUnits[].Name' --output text)" "team"
expect_error OrganizationalUnitNotEmptyException orgs delete-organizational-unit --organizational-unit-id "$team"
orgs update-organizational-unit --organizational-unit-id "$prod" --name production >/dev/null
want "renamed" "$(orgs describe-organizational-unit --organizational-unit-id "$prod" --query OrganizationalUnit.Name --output text)" "production"

step "tag-resource, list-tags-for-resource, untag-resource"
orgs tag-resource --resource-id "$prod" --tags Key=env,Value=prod Key=owner,Value=sec
orgs tag-resource --resource-id "$member" --tags Key=env,Value=dev
want "tags of prod" "$(orgs list-tags-for-resource --resource-id "$prod" --query 'Tags[].[Key,Value]' --output text)" "env	prod
owner	sec"
orgs untag-resource --resource-id "$prod" --tag-keys owner
want "tags of prod untagged" "$(orgs list-tags-for-resource --resource-id "$prod" --query 'Tags[].Key' --output text)" "env"
want "tags of the member" "$(orgs list-tags-for-resource --resource-id "$member" --query 'Tags[0].Value' --output text)" "dev"
expect_error TargetNotFoundException orgs list-tags-for-resource --resource-id ou-abcd-12345678

step "enable SCPs: FullAWSAccess everywhere"
orgs enable-policy-type --root-id "$root" --policy-type SERVICE_CONTROL_POLICY >/dev/null
want "enabled types" "$(orgs list-roots --query 'Roots[0].PolicyTypes[].Type' --output text)" "SERVICE_CONTROL_POLICY"
want "SCPs of the member" "$(orgs list-policies-for-target --target-id "$member" --filter SERVICE_CONTROL_POLICY --query 'Policies[].Name' --output text)" "FullAWSAccess"
expect_error PolicyTypeAlreadyEnabledException orgs enable-policy-type --root-id "$root" --policy-type SERVICE_CONTROL_POLICY

step "create-policy, attach-policy, detach FullAWSAccess"
scp=$(orgs create-policy --type SERVICE_CONTROL_POLICY --name no-kms-deletion --description "keys stay" \
	--content '{"Version":"2012-10-17","Statement":[{"Sid":"NoDeletion","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}' \
	--query Policy.PolicySummary.Id --output text)
[[ "$scp" == p-* ]] || fail "policy id '$scp'"
expect_error MalformedPolicyDocumentException orgs create-policy --type SERVICE_CONTROL_POLICY --name bad --description "" --content '{"Statement":[]}'
expect_error DuplicatePolicyException orgs create-policy --type SERVICE_CONTROL_POLICY --name no-kms-deletion --description "" \
	--content '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}'
orgs attach-policy --policy-id "$scp" --target-id "$prod"
expect_error DuplicatePolicyAttachmentException orgs attach-policy --policy-id "$scp" --target-id "$prod"
want "targets" "$(orgs list-targets-for-policy --policy-id "$scp" --query 'Targets[].[TargetId,Type]' --output text)" "$prod	ORGANIZATIONAL_UNIT"
expect_error PolicyInUseException orgs delete-policy --policy-id "$scp"
# team has FullAWSAccess only: its last SCP stays.
expect_error ConstraintViolationException orgs detach-policy --policy-id p-FullAWSAccess --target-id "$team"
orgs attach-policy --policy-id "$scp" --target-id "$team"
orgs detach-policy --policy-id p-FullAWSAccess --target-id "$team"
want "SCPs of team" "$(orgs list-policies-for-target --target-id "$team" --filter SERVICE_CONTROL_POLICY --query 'Policies[].Id' --output text)" "$scp"
want "SCPs listed" "$(orgs list-policies --filter SERVICE_CONTROL_POLICY --query 'Policies[].Name' --output text)" "FullAWSAccess	no-kms-deletion"
want "document" "$(orgs describe-policy --policy-id "$scp" --query 'Policy.PolicySummary.Description' --output text)" "keys stay"

step "RCPs: RCPFullAWSAccess cannot be detached"
orgs enable-policy-type --root-id "$root" --policy-type RESOURCE_CONTROL_POLICY >/dev/null
rcp=$(orgs create-policy --type RESOURCE_CONTROL_POLICY --name perimeter --description "" \
	--content "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"StringNotEqualsIfExists\":{\"aws:PrincipalOrgID\":\"$org\"}}}]}" \
	--query Policy.PolicySummary.Id --output text)
orgs attach-policy --policy-id "$rcp" --target-id "$root"
want "RCPs of root" "$(orgs list-policies-for-target --target-id "$root" --filter RESOURCE_CONTROL_POLICY --query 'Policies[].Name' --output text)" "RCPFullAWSAccess	perimeter"
expect_error InvalidInputException orgs detach-policy --policy-id p-RCPFullAWSAccess --target-id "$root"
expect_error InvalidInputException orgs update-policy --policy-id p-FullAWSAccess --name mine

step "detach, delete, disable"
orgs detach-policy --policy-id "$rcp" --target-id "$root"
orgs delete-policy --policy-id "$rcp"
expect_error PolicyNotFoundException orgs describe-policy --policy-id "$rcp"
orgs disable-policy-type --root-id "$root" --policy-type SERVICE_CONTROL_POLICY >/dev/null
want "SCPs once disabled" "$(orgs list-policies-for-target --target-id "$team" --filter SERVICE_CONTROL_POLICY --query 'length(Policies)' --output text)" "0"
orgs move-account --account-id "$member" --source-parent-id "$team" --destination-parent-id "$root"
orgs delete-organizational-unit --organizational-unit-id "$team"
expect_error OrganizationalUnitNotFoundException orgs describe-organizational-unit --organizational-unit-id "$team"
step "the IAM policy simulator"
iam() { "$AWS" --endpoint-url "$ENDPOINT" iam "$@"; }
want "simulate-custom-policy" "$(iam simulate-custom-policy \
	--policy-input-list '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}' \
	--action-names kms:Encrypt kms:Decrypt --context-entries ContextKeyName=aws:RequestedRegion,ContextKeyValues=us-east-1,ContextKeyType=string \
	--query 'EvaluationResults[].[EvalActionName,EvalDecision]' --output text)" "kms:Encrypt	allowed
kms:Decrypt	implicitDeny"
iam create-user --user-name sim >/dev/null
iam put-user-policy --user-name sim --policy-name p --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}'
want "simulate-principal-policy" "$(iam simulate-principal-policy --policy-source-arn "arn:aws:iam::${ACCOUNT}:user/sim" --action-names kms:Decrypt \
	--query 'EvaluationResults[0].[EvalDecision,MissingContextValues[0]]' --output text)" "implicitDeny	aws:SecureTransport"
want "get-context-keys-for-principal-policy" "$(iam get-context-keys-for-principal-policy --policy-source-arn "arn:aws:iam::${ACCOUNT}:user/sim" --query 'ContextKeyNames' --output text)" "aws:SecureTransport"
echo "organizations CLI: ok"
