#!/usr/bin/env bash
# Builds native/taskq_native.node (execve for HUP restarts in place, the parent-death signal of pool
# children) with the node-gyp that ships with npm, against this Node's own headers: no download.
# Skips the build when the addon is newer than its sources.
set -euo pipefail
cd "$(dirname "$0")/../native"
out=build/Release/taskq_native.node
if [ -f "$out" ] && [ "$out" -nt taskq_native.c ] && [ "$out" -nt binding.gyp ]; then exit 0; fi
say() { printf 'taskq build-native: %s\n' "$*" >&2; }
gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || { say "error: node-gyp (bundled with npm) is not at $gyp: install npm 7 or later."; exit 1; }
# The headers of the node that runs us (…/include/node), so node-gyp needs no network.
prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
args=()
[ -f "$prefix/include/node/node_api.h" ] && args+=("--nodedir=$prefix")
say "building the native helper"
node "$gyp" rebuild "${args[@]}" >build.log 2>&1 || { cat build.log >&2; say "error: the build failed (above); it needs make, g++ and python3."; exit 1; }
rm -f build.log
