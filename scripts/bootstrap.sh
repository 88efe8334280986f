#!/usr/bin/env bash
# One idempotent set-up shared by `npm start`, `npm test` and `npm run bench`:
#   1. system packages (apt-get) — only those whose command or package is missing;
#   2. `npm ci` — only when package-lock.json changed since the last install;
#   3. the TypeScript build (incremental), the web UI bundle (esbuild), and the native helper (native/,
#      when its sources changed).
# Every step says what it does; a failure names the step and how to fix it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'taskq bootstrap: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- 1. system packages -----------------------------------------------------------------------------
# command-or-dpkg-name  package
want=(
  "cmd:redis-server redis-server"
  "cmd:aria2c aria2"
  "cmd:ffmpeg ffmpeg"
  "pkg:libpcap-dev libpcap-dev"
  "cmd:make make"
  "cmd:g++ g++"
  "cmd:python3 python3"
)
# `npm test` and `npm run bench` check the capture against tshark (the ground truth for URLs on the
# wire); the bench also compares with Celery (Debian's python3-celery, run by /usr/bin/python3).
if [ "${TASKQ_BOOTSTRAP_TEST:-}" = 1 ] || [ "${TASKQ_BOOTSTRAP_BENCH:-}" = 1 ]; then
  want+=("cmd:tshark tshark")
fi
# `npm test` drives the web UI in Debian's Chromium (playwright-core), and makes a TLS certificate
# with openssl for a Redis that speaks TLS.
if [ "${TASKQ_BOOTSTRAP_TEST:-}" = 1 ]; then
  want+=("cmd:chromium chromium" "cmd:openssl openssl")
fi
if [ "${TASKQ_BOOTSTRAP_BENCH:-}" = 1 ]; then
  want+=("pkg:python3-celery python3-celery" "pkg:python3-redis python3-redis")
fi
missing=()
for entry in "${want[@]}"; do
  probe=${entry%% *}; pkg=${entry#* }
  case $probe in
    cmd:*) command -v "${probe#cmd:}" >/dev/null 2>&1 || missing+=("$pkg") ;;
    pkg:*) dpkg-query -W -f='${Status}' "${probe#pkg:}" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg") ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get here: install them with your package manager, then re-run."
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}: run as root or install sudo (apt-get install ${missing[*]})."
    sudo="sudo"
  fi
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh image may have no package lists; refresh them once, then install.
  $sudo apt-get update -qq || die "apt-get update failed: check the machine's apt sources."
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed (see above)."
fi

# --- 2. node modules ----------------------------------------------------------------------------------
stamp=node_modules/.taskq-lock.sha256
want_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want_sum" ]; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed (see above)."
  echo "$want_sum" > "$stamp"
fi

# --- 3. build -----------------------------------------------------------------------------------------
npx --no-install tsc -p tsconfig.build.json || die "TypeScript build failed (see above)."
node scripts/build-ui.mjs || die "building the web UI (esbuild, ui/ → dist/ui/) failed (see above)."
bash scripts/build-native.sh || die "building the native helper failed (see above)."
