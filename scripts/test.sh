#!/usr/bin/env bash
# The whole test suite, runnable on a fresh Debian machine with Go: it installs
# what the tests need (the AWS CLI v2 at /usr/bin/aws, SoftHSM2), checks formatting and
# vet, then runs every Go test, end-to-end tests included.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/aws ] || need+=(awscli)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# SoftHSM2 is the PKCS#11 token behind the custom key store tests.
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "test.sh: not gofmt-formatted:"; echo "$unformatted"; exit 1
fi
go vet ./...
# -p 1: the end-to-end tests start servers; on 2 cores one package at a time
# keeps them from starving each other.
go test -count=1 -p 1 -timeout 30m "$@" ./...
# Every benchmark once, so a benchmark whose setup or assertion broke fails here
# instead of rotting until someone measures (-run '^$': the tests ran above).
go test -count=1 -p 1 -timeout 30m -run '^$' -bench . -benchtime 1x ./...
