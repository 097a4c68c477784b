#!/usr/bin/env bash
# Fetch the browser bundles the lab's web front serves as
# /libs/lib-jitsi-meet.min.js, into DEST (default: <repo>/.cache/lib-jitsi-meet):
#   lib-jitsi-meet.min.js  from @lyno/lib-jitsi-meet (a UMD build of upstream, ~Dec 2021)
#   jquery.min.js          from jquery (the bundle expects a global `jquery`)
#   VERSIONS               what was fetched
# Uses `npm pack` (download one tarball) rather than `npm install`, which hangs
# on the package's github: dependencies. Skips the download when DEST already
# holds these versions. Set LIBJITSI_TARBALLS=<dir> to use tarballs you already
# have (as written by `npm pack`) instead of downloading.
set -euo pipefail

LIB_PKG="@lyno/lib-jitsi-meet@2.6726.2"
JQUERY_PKG="jquery@3.6.0"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo/.cache/lib-jitsi-meet}"
want_versions="$(printf '%s\n%s\n' "$LIB_PKG" "$JQUERY_PKG")"

if [ -s "$dest/lib-jitsi-meet.min.js" ] && [ -s "$dest/jquery.min.js" ] &&
	[ "$(cat "$dest/VERSIONS" 2>/dev/null)" = "$want_versions" ]; then
	echo "    bundles already present in $dest ($LIB_PKG, $JQUERY_PKG)"
	exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# tarball_name turns "@scope/name@1.2.3" into npm pack's "scope-name-1.2.3.tgz".
tarball_name() {
	local spec="${1#@}"
	local name="${spec%@*}" version="${spec##*@}"
	printf '%s-%s.tgz' "${name//\//-}" "$version"
}

for spec in "$LIB_PKG" "$JQUERY_PKG"; do
	file="$(tarball_name "$spec")"
	if [ -n "${LIBJITSI_TARBALLS:-}" ] && [ -s "$LIBJITSI_TARBALLS/$file" ]; then
		echo "    using $LIBJITSI_TARBALLS/$file"
		cp "$LIBJITSI_TARBALLS/$file" "$tmp/$file"
	else
		command -v npm >/dev/null 2>&1 || { echo "libjitsi: npm is required (apt-get install npm)" >&2; exit 1; }
		echo "    npm pack $spec"
		(cd "$tmp" && npm pack --silent --ignore-scripts "$spec" </dev/null >/dev/null)
	fi
	[ -s "$tmp/$file" ] || { echo "libjitsi: expected $tmp/$file after fetching $spec" >&2; exit 1; }
	mkdir -p "$tmp/${file%.tgz}"
	tar -xzf "$tmp/$file" -C "$tmp/${file%.tgz}"
done

lib_dir="$tmp/$(tarball_name "$LIB_PKG")" && lib_dir="${lib_dir%.tgz}/package"
jq_dir="$tmp/$(tarball_name "$JQUERY_PKG")" && jq_dir="${jq_dir%.tgz}/package"
[ -s "$lib_dir/lib-jitsi-meet.min.js" ] || { echo "libjitsi: $LIB_PKG has no lib-jitsi-meet.min.js" >&2; exit 1; }
[ -s "$jq_dir/dist/jquery.min.js" ] || { echo "libjitsi: $JQUERY_PKG has no dist/jquery.min.js" >&2; exit 1; }

mkdir -p "$dest"
cp "$lib_dir/lib-jitsi-meet.min.js" "$dest/lib-jitsi-meet.min.js"
cp "$jq_dir/dist/jquery.min.js" "$dest/jquery.min.js"
[ -f "$lib_dir/LICENSE" ] && cp "$lib_dir/LICENSE" "$dest/LICENSE.lib-jitsi-meet"
[ -f "$jq_dir/LICENSE.txt" ] && cp "$jq_dir/LICENSE.txt" "$dest/LICENSE.jquery"
printf '%s\n' "$want_versions" >"$dest/VERSIONS"
echo "    wrote $dest: $(cd "$dest" && ls | tr '\n' ' ')"
