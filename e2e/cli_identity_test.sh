#!/usr/bin/env bash
# Drives Trent's IAM and STS through the AWS CLI v2 (Debian's awscli at
# /usr/bin/aws): a user with an access key, a role with a trust policy, a
# role session, and the errors a user would meet. TestAWSCLIIdentities in
# cli_test.go runs it against a test server with root credentials.
set -euo pipefail

: "${ENDPOINT:?ENDPOINT must be the URL of a running trent serve}"
: "${ACCOUNT:?ACCOUNT must be the account of the root credentials}"
AWS=/usr/bin/aws

iam() { "$AWS" --endpoint-url "$ENDPOINT" iam "$@"; }
sts() { "$AWS" --endpoint-url "$ENDPOINT" sts "$@"; }
step() { printf '== %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
want() { [[ "$2" == "$3" ]] || fail "$1 = '$2', want '$3'"; }
# expect_error CODE command…: the command must fail with the AWS error CODE.
expect_error() {
	local code=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded, want $code"
	fi
	[[ "$out" == *"($code)"* ]] || fail "'$*' failed with '$out', want $code"
}

step "sts get-caller-identity as root"
want "root ARN" "$(sts get-caller-identity --query Arn --output text)" "arn:aws:iam::${ACCOUNT}:root"

step "iam create-user and create-access-key"
iam create-user --user-name carol --tags Key=team,Value=kms >/dev/null
read -r key secret < <(iam create-access-key --user-name carol --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
[[ "$key" == AKIA* ]] || fail "access key id '$key'"
want "users" "$(iam list-users --query 'Users[].UserName' --output text)" "carol"

step "carol is denied until a policy allows"
as_carol() { AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_SHARED_CREDENTIALS_FILE=/dev/null "$@"; }
want "carol ARN" "$(as_carol sts get-caller-identity --query Arn --output text)" "arn:aws:iam::${ACCOUNT}:user/carol"
expect_error AccessDenied as_carol "$AWS" --endpoint-url "$ENDPOINT" iam list-roles
iam put-user-policy --user-name carol --policy-name roles \
	--policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListRoles","sts:AssumeRole"],"Resource":"*"}]}'
as_carol "$AWS" --endpoint-url "$ENDPOINT" iam list-roles >/dev/null
want "inline policies" "$(iam list-user-policies --user-name carol --query 'PolicyNames' --output text)" "roles"

step "create-role with a trust policy naming the account; carol assumes it"
iam create-role --role-name deployer --max-session-duration 7200 \
	--assume-role-policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"${ACCOUNT}\"},\"Action\":\"sts:AssumeRole\"}]}" >/dev/null
want "trust policy round trip" "$(iam get-role --role-name deployer --query 'Role.AssumeRolePolicyDocument.Statement[0].Principal.AWS' --output text)" "$ACCOUNT"
read -r skey ssecret stoken < <(as_carol "$AWS" --endpoint-url "$ENDPOINT" sts assume-role \
	--role-arn "arn:aws:iam::${ACCOUNT}:role/deployer" --role-session-name cli-session --duration-seconds 900 \
	--query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
[[ "$skey" == ASIA* ]] || fail "session key id '$skey'"
as_session() { AWS_ACCESS_KEY_ID=$skey AWS_SECRET_ACCESS_KEY=$ssecret AWS_SESSION_TOKEN=$stoken AWS_SHARED_CREDENTIALS_FILE=/dev/null "$@"; }
want "session ARN" "$(as_session "$AWS" --endpoint-url "$ENDPOINT" sts get-caller-identity --query Arn --output text)" \
	"arn:aws:sts::${ACCOUNT}:assumed-role/deployer/cli-session"
expect_error AccessDenied as_session "$AWS" --endpoint-url "$ENDPOINT" iam list-users

step "errors: duplicate user, a user with keys, an inactive key"
expect_error EntityAlreadyExists iam create-user --user-name carol
expect_error DeleteConflict iam delete-user --user-name carol
iam update-access-key --user-name carol --access-key-id "$key" --status Inactive
expect_error InvalidClientTokenId as_carol "$AWS" --endpoint-url "$ENDPOINT" sts get-caller-identity
echo "identities ok"
