#!/usr/bin/env bash
# Drives a running Trent through the AWS CLI v2 (Debian's awscli at
# /usr/bin/aws): key, alias, Encrypt/Decrypt with an encryption context,
# rotation, GenerateDataKey and scheduled deletion. TestAWSCLI in
# cli_test.go runs it against a test server; by hand:
#
#   ENDPOINT=http://127.0.0.1:PORT AWS_DEFAULT_REGION=us-east-1 \
#   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… bash e2e/cli_test.sh
#
# Each step prints what it checks; the first failed check exits non-zero.
set -euo pipefail

: "${ENDPOINT:?ENDPOINT must be the URL of a running trent serve}"
AWS=/usr/bin/aws

kms() { "$AWS" --endpoint-url "$ENDPOINT" kms "$@"; }
step() { printf '== %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
# want NAME GOT WANT
want() { [[ "$2" == "$3" ]] || fail "$1 = '$2', want '$3'"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$AWS" --version

step "create-key with a description and a tag"
key_id=$(kms create-key --description "trent cli e2e" --tags TagKey=team,TagValue=ops \
	--query KeyMetadata.KeyId --output text)
[[ "$key_id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
	fail "create-key KeyId '$key_id' is not a UUID"
key_arn=$(kms describe-key --key-id "$key_id" --query KeyMetadata.Arn --output text)
want "key ARN" "$key_arn" "arn:aws:kms:${AWS_DEFAULT_REGION}:${ACCOUNT:-111122223333}:key/$key_id"
want "description" "$(kms describe-key --key-id "$key_id" --query KeyMetadata.Description --output text)" "trent cli e2e"
want "tag team" "$(kms list-resource-tags --key-id "$key_id" --query "Tags[?TagKey=='team'].TagValue" --output text)" "ops"
echo "key $key_arn"

alias_name="alias/trent-cli-e2e-$$"
step "create-alias $alias_name"
kms create-alias --alias-name "$alias_name" --target-key-id "$key_id"
want "describe-key via alias" "$(kms describe-key --key-id "$alias_name" --query KeyMetadata.KeyId --output text)" "$key_id"

step "encrypt a file (fileb://) via the alias with an encryption context"
head -c 3000 /dev/urandom >"$work/plain.bin"
ec="purpose=cli-e2e,tenant=acme"
kms encrypt --key-id "$alias_name" --plaintext "fileb://$work/plain.bin" --encryption-context "$ec" \
	--query CiphertextBlob --output text | base64 -d >"$work/cipher.bin"
[[ -s "$work/cipher.bin" ]] || fail "encrypt returned an empty CiphertextBlob"
if cmp -s "$work/plain.bin" "$work/cipher.bin"; then fail "ciphertext equals the plaintext"; fi

# decrypt_to IN OUT [ARGS…]: Decrypt the blob in file IN, plaintext into OUT.
decrypt_to() {
	local in=$1 out=$2
	shift 2
	kms decrypt --ciphertext-blob "fileb://$in" "$@" --query Plaintext --output text | base64 -d >"$out"
}

step "decrypt gives back the same bytes, and names the key"
decrypt_to "$work/cipher.bin" "$work/plain.out" --encryption-context "$ec"
cmp "$work/plain.bin" "$work/plain.out" || fail "decrypted bytes differ from the plaintext"
want "decrypt KeyId" "$(kms decrypt --ciphertext-blob "fileb://$work/cipher.bin" --encryption-context "$ec" \
	--query KeyId --output text)" "$key_arn"

step "decrypt with a wrong encryption context fails with InvalidCiphertextException"
if kms decrypt --ciphertext-blob "fileb://$work/cipher.bin" --encryption-context "purpose=cli-e2e,tenant=evil" \
	>"$work/out.txt" 2>"$work/err.txt"; then
	fail "decrypt with a wrong encryption context succeeded: $(cat "$work/out.txt")"
fi
grep -q InvalidCiphertextException "$work/err.txt" ||
	fail "decrypt with a wrong encryption context: want InvalidCiphertextException, got: $(cat "$work/err.txt")"

step "decrypt without the encryption context fails with InvalidCiphertextException"
if kms decrypt --ciphertext-blob "fileb://$work/cipher.bin" >"$work/out.txt" 2>"$work/err.txt"; then
	fail "decrypt without the encryption context succeeded"
fi
grep -q InvalidCiphertextException "$work/err.txt" ||
	fail "decrypt without the encryption context: want InvalidCiphertextException, got: $(cat "$work/err.txt")"

step "enable-key-rotation, then get-key-rotation-status is true"
want "rotation status before" "$(kms get-key-rotation-status --key-id "$key_id" --query KeyRotationEnabled --output text)" "False"
kms enable-key-rotation --key-id "$key_id"
want "rotation status" "$(kms get-key-rotation-status --key-id "$key_id" --query KeyRotationEnabled --output text)" "True"

# Debian's awscli 2.9.19 predates RotateKeyOnDemand (2024); newer CLIs have it.
# (The help text goes to a file: grep -q closing a pipe early would fail it
# under pipefail.)
"$AWS" kms help >"$work/kms-help.txt" 2>&1 || true
if grep -q 'rotate-key-on-demand' "$work/kms-help.txt"; then
	step "rotate-key-on-demand, then list-key-rotations shows one rotation"
	kms rotate-key-on-demand --key-id "$key_id" >/dev/null
	want "rotations" "$(kms list-key-rotations --key-id "$key_id" --query 'length(Rotations)' --output text)" "1"
else
	step "SKIP rotate-key-on-demand: $("$AWS" --version 2>&1 | cut -d' ' -f1) does not have it"
fi

step "the ciphertext from before rotation still decrypts to the same bytes"
decrypt_to "$work/cipher.bin" "$work/plain.out" --encryption-context "$ec"
cmp "$work/plain.bin" "$work/plain.out" || fail "old ciphertext decrypts to other bytes after rotation"

step "list-aliases shows $alias_name -> $key_id"
want "alias target" "$(kms list-aliases --query "Aliases[?AliasName=='$alias_name'].TargetKeyId" --output text)" "$key_id"
want "alias target (by key)" "$(kms list-aliases --key-id "$key_id" --query 'Aliases[].AliasName' --output text)" "$alias_name"

step "list-keys shows $key_id"
want "list-keys" "$(kms list-keys --query "Keys[?KeyId=='$key_id'].KeyArn" --output text)" "$key_arn"

step "generate-data-key AES_256, and decrypt of its CiphertextBlob gives its Plaintext"
kms generate-data-key --key-id "$key_id" --key-spec AES_256 --encryption-context "$ec" \
	--query '[Plaintext,CiphertextBlob,KeyId]' --output text >"$work/gdk.txt"
read -r dk_plain dk_cipher dk_key <"$work/gdk.txt"
want "generate-data-key KeyId" "$dk_key" "$key_arn"
base64 -d <<<"$dk_plain" >"$work/dk.bin"
base64 -d <<<"$dk_cipher" >"$work/dk.cipher"
want "data key length" "$(wc -c <"$work/dk.bin" | tr -d ' ')" "32"
decrypt_to "$work/dk.cipher" "$work/dk.out" --encryption-context "$ec"
cmp "$work/dk.bin" "$work/dk.out" || fail "decrypted data key differs from generate-data-key's Plaintext"

step "schedule-key-deletion --pending-window-in-days 7"
kms schedule-key-deletion --key-id "$key_id" --pending-window-in-days 7 \
	--query '[KeyState,PendingWindowInDays]' --output text >"$work/sched.txt"
read -r state window <"$work/sched.txt"
want "schedule-key-deletion KeyState" "$state" "PendingDeletion"
want "schedule-key-deletion PendingWindowInDays" "$window" "7"
want "describe-key KeyState" "$(kms describe-key --key-id "$key_id" --query KeyMetadata.KeyState --output text)" "PendingDeletion"
[[ "$(kms describe-key --key-id "$key_id" --query KeyMetadata.DeletionDate --output text)" != None ]] ||
	fail "describe-key of a key pending deletion has no DeletionDate"

step "cancel-key-deletion leaves the key Disabled"
want "cancel-key-deletion KeyId" "$(kms cancel-key-deletion --key-id "$key_id" --query KeyId --output text)" "$key_arn"
want "describe-key KeyState after cancel" "$(kms describe-key --key-id "$key_id" --query KeyMetadata.KeyState --output text)" "Disabled"

echo "PASS"
