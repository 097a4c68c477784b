#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for jitsi-recorder and its lab:
#   1. Debian packages: chromium, ffmpeg, prosody, iproute2, nftables, ca-certificates
#   2. stop the distro's own Prosody daemon (the lab runs its own, per test)
#   3. the npm bundles the lab's web front serves (lib-jitsi-meet + jQuery)
#      into .cache/lib-jitsi-meet/ (see scripts/libjitsi.sh)
#   4. go build -o bin/ ./cmd/...
# Idempotent and non-interactive: run it as root or with sudo, as often as you like.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1; then
	as_root=(sudo -n) # -n: fail instead of prompting; there may be no terminal
else
	die "run as root, or install sudo"
fi
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

apt_install() {
	local missing=()
	for pkg in "$@"; do
		if installed "$pkg"; then info "$pkg: already installed"; else missing+=("$pkg"); fi
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	step "apt-get update"
	"${as_root[@]}" apt-get update -q </dev/null
	step "apt-get install ${missing[*]}"
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null
}

# stop_distro_prosody stops the daemon the prosody package starts on install,
# and keeps it from starting at boot: it would hold ports 5222/5269/5280 on
# all interfaces, and the lab starts its own Prosody on loopback per run.
stop_distro_prosody() {
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		"${as_root[@]}" systemctl disable --now prosody >/dev/null 2>&1 || true
	else
		"${as_root[@]}" service prosody stop >/dev/null 2>&1 || true
		"${as_root[@]}" update-rc.d prosody disable >/dev/null 2>&1 || true
	fi
	# Without an init system the package's daemon may still run; only the one
	# named by the distro's pidfile is touched, never the lab's.
	local pidfile=/run/prosody/prosody.pid pid
	if [ -r "$pidfile" ]; then
		pid="$(cat "$pidfile" 2>/dev/null || true)"
		if [ -n "$pid" ] && grep -qa prosody "/proc/$pid/cmdline" 2>/dev/null; then
			info "stopping distro prosody (pid $pid)"
			"${as_root[@]}" kill "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
			[ -d "/proc/$pid" ] && "${as_root[@]}" kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	info "distro prosody daemon stopped and disabled"
}

step "Debian packages"
# fonts-liberation: only a Recommends of chromium, which --no-install-recommends
# skips; the composite draws every participant's name with it.
# nftables: the fault tests drop packets with nft (the kernel has no netem).
apt_install chromium fonts-liberation ffmpeg prosody iproute2 nftables ca-certificates

step "Distro Prosody service"
stop_distro_prosody

step "lib-jitsi-meet and jQuery bundles"
if ! command -v npm >/dev/null 2>&1; then
	# Only `npm pack` is used (no `npm install`): it fetches a tarball and nothing else.
	apt_install npm
fi
"$repo/scripts/libjitsi.sh" "$repo/.cache/lib-jitsi-meet"

step "Build"
if [ -d "$repo/cmd" ]; then
	if command -v go >/dev/null 2>&1; then
		mkdir -p "$repo/bin"
		(cd "$repo" && go build -o bin/ ./cmd/...)
		info "built: $(cd "$repo/bin" && ls | tr '\n' ' ')"
	else
		info "go not found on PATH: skipped the build (install Go >= the version in go.mod)"
	fi
else
	info "no cmd/ directory yet: nothing to build"
fi

step "Done"
info "chromium: $(command -v chromium || echo missing)"
info "ffmpeg:   $(command -v ffmpeg || echo missing)"
info "prosody:  $(command -v prosody || echo missing)"
info "nft:      $(command -v nft || echo missing)"
info "bundles:  $repo/.cache/lib-jitsi-meet"
