#!/usr/bin/env bash
# run.sh - the transparency log checked both ways against Go's own
# golang.org/x/mod/sumdb/note and tlog (Debian: golang-go,
# golang-golang-x-mod-dev), offline: libpcproto writes a log that Go checks,
# Go writes one that libpcproto checks. Any failed check fails the test.
#   run.sh TLOG_FILES MAIN_GO WORKDIR
set -euo pipefail
files=$1 main=$2 work=$3

gosrc=/usr/share/gocode/src/golang.org/x/mod/sumdb
if ! command -v go >/dev/null || [ ! -d "$gosrc/tlog" ]; then
	echo "interop: FAIL: needs Go and x/mod: apt-get install golang-go golang-golang-x-mod-dev" >&2
	exit 1
fi
rm -rf "$work/c" "$work/go"
mkdir -p "$work"
# GOPATH mode on Debian's sources: no module download, no network
export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOENV=off GOPROXY=off \
	GOCACHE="$work/gocache" CGO_ENABLED=0
go build -o "$work/tlog_check" "$main"

"$files" write "$work/c"
"$work/tlog_check" check "$work/c"
"$work/tlog_check" write "$work/go"
"$files" verify "$work/go"
echo "interop: libpcproto and Go's sumdb agree both ways"
