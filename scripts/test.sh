#!/usr/bin/env bash
# Runs the whole test suite: formatting, vet, unit and end-to-end tests.
# End-to-end tests use real Chromium, FFmpeg and Prosody on loopback. When
# run as root, the tests run inside a private network namespace whose only
# interface is lo, so no test can send a packet anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== build"
go build ./...
# Compile the tests outside the namespace (the module cache may need the proxy).
go test -count=1 -run '^$' ./... >/dev/null

run() { "$@"; }
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
	echo "== tests (private network namespace: loopback only)"
	run() { unshare -n -- sh -c 'ip link set lo up && exec "$@"' sh "$@"; }
else
	echo "== tests (no private network namespace: not root; the lab still binds loopback only)"
fi
gotest() { run env GOFLAGS=-mod=mod GOPROXY=off go test -count=1 -timeout 20m "$@"; }
if [ "$#" -gt 0 ]; then
	gotest -p 2 "$@"
	exit
fi
# The end-to-end recordings (and the benchmark's smoke run, a whole lab
# recording too) measure frame rate and A/V sync and fail a recording that
# falls behind (exit 9): they run last, alone, so that other packages'
# browsers do not starve them of CPU. So do the page's tests: those of the
# in-browser composite (CAPTURE=composite) draw and encode 720p in the page
# and, beside another package's browsers, fell to 15-20 fps and grey tiles.
mapfile -t pkgs < <(go list ./... | grep -v '/internal/e2e$' | grep -v '/internal/lab/bench$' | grep -v '/internal/recorder/page$')
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
gotest -p 2 "${pkgs[@]}" 2>&1 | tee -a "$log" || status=$?
echo "== page tests and end-to-end recordings (alone)"
gotest -p 1 ./internal/recorder/page ./internal/lab/bench 2>&1 | tee -a "$log" || status=$?
# About 17 minutes when all is well: a timeout well above that, so a slow
# machine fails on what it measures, not on a panic that ends every test.
gotest -p 1 -timeout 35m -v ./internal/e2e 2>&1 | tee -a "$log" || status=$?
if [ "$status" != 0 ]; then
	# The full output is long (the recordings log their reports): repeat
	# what each failed test said, one line per message, at the end.
	echo "== failed tests, their messages"
	awk '
		/^=== (RUN|CONT|PAUSE|NAME)/ { split($0, f, " "); cur = f[3]; after = 0; next }
		/^--- FAIL: / {
			print; after = 1
			n = split(msgs[$3], m, "\n")
			for (i = (n > 40 ? n - 40 : 1); i <= n; i++) if (m[i] != "") print "    " m[i]
			delete msgs[$3]
			next
		}
		/^    [A-Za-z0-9_]+_test\.go:[0-9]+: / {
			if (after) print; else if (cur != "") msgs[cur] = msgs[cur] "\n" substr($0, 5)
			next
		}
		/^[^ ]/ { after = 0 }
	' "$log"
fi
exit "$status"
