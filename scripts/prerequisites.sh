#!/usr/bin/env bash
# What `make test` needs besides the Python venv, checked before anything runs; `.ci/run` uses the
# same script through `make test`, so a fresh clone and CI get the same machine.
#
#   - PostgreSQL: started when it is installed and does not answer (optional: without one the
#     suite runs on SQLite, and under CI=true tests/run_suite.py fails instead).
#   - Chromium and a Chinese font for the browser tests (Debian: chromium fonts-wqy-microhei).
#   - axe-core and the AsyncAPI schemas (package.json, pinned by package-lock.json) for the accessibility and AsyncAPI tests, via `npm ci`.
#
# What is missing is installed where it can be (root or password-less sudo, on Debian/apt);
# otherwise the script says exactly what to install and exits 1 before any test runs. On a ready
# machine every check is a file test or a quick command, well under a second.
#
# Environment:
#   YOUFU_CHROMIUM          the Chromium binary (default: `chromium` on PATH); tests/browser uses the same
#   YOUFU_PREREQS_NO_ROOT   1: act as neither root nor sudo (nothing installed with apt-get, pg_ctlcluster not
#                           run), to see what a user without them is told
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="chromium fonts-wqy-microhei"
missing=()   # lines telling the person what to install

say() { echo "make test: $*"; }

# How to run a command as root here, or nothing when we cannot (not root, no password-less sudo).
as_root=""
can_root=false
if [ "${YOUFU_PREREQS_NO_ROOT:-}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    can_root=true
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
    can_root=true
  fi
fi
debian=false
if [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then debian=true; fi

# ---- PostgreSQL: start an installed cluster that does not answer --------------------------------
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  cluster=$(ls -d /etc/postgresql/*/main 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$cluster" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    version=$(basename "$(dirname "$cluster")")
    if $can_root; then
      say "starting PostgreSQL $version"
      $as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || say "PostgreSQL $version did not start"
      for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break; sleep 1; done
    else
      # optional: tests/run_suite.py says it runs on SQLite (and fails under CI=true)
      say "PostgreSQL $version is installed but not running; to test on it: sudo pg_ctlcluster $version main start"
    fi
  fi
fi

# ---- Chromium and a CJK font for the browser tests ----------------------------------------------
chromium_present() {
  if [ -n "${YOUFU_CHROMIUM:-}" ]; then [ -x "$YOUFU_CHROMIUM" ]; else command -v chromium >/dev/null 2>&1; fi
}
cjk_font_present() {
  command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy\|noto sans cjk"
}

if ! chromium_present || ! cjk_font_present; then
  if $can_root && $debian; then
    say "installing Chromium and a CJK font for the browser tests (apt-get install -y $APT_PACKAGES)"
    # a failed install falls through to the check below, which says what is missing
    ($as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq $APT_PACKAGES >/dev/null) \
      || say "apt-get install $APT_PACKAGES failed"
  fi
  need=() what=()
  if ! chromium_present; then need+=(chromium); what+=("Chromium"); fi
  if ! cjk_font_present; then need+=(fonts-wqy-microhei); what+=("a Chinese font"); fi
  if [ ${#need[@]} -gt 0 ]; then
    if $debian; then
      missing+=("$(IFS=/; echo "${what[*]}") for the browser tests:  sudo apt-get install -y ${need[*]}")
    else
      if ! chromium_present; then
        missing+=("Chromium for the browser tests: a binary named chromium on PATH, or YOUFU_CHROMIUM set to its path")
      fi
      if ! cjk_font_present; then
        missing+=("a Chinese font for the browser tests: WenQuanYi Micro Hei or Noto Sans CJK")
      fi
    fi
    if [ -n "${YOUFU_CHROMIUM:-}" ] && ! chromium_present; then
      missing+=("  (YOUFU_CHROMIUM=$YOUFU_CHROMIUM is not an executable file)")
    fi
  fi
fi

# ---- axe-core for the accessibility test, from the committed package-lock.json ------------------
# node_modules/.package-lock.json is what npm ci wrote last; a newer package-lock.json means another install.
if [ ! -f node_modules/axe-core/axe.min.js ] || [ ! -f node_modules/@asyncapi/specs/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if command -v npm >/dev/null 2>&1; then
    say "installing the npm packages of package-lock.json (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error || say "npm ci failed"
  fi
  if [ ! -f node_modules/axe-core/axe.min.js ]; then
    if ! command -v npm >/dev/null 2>&1; then
      if $debian; then
        missing+=("Node.js and npm, to install axe-core for the accessibility test:  sudo apt-get install -y nodejs npm")
      else
        missing+=("Node.js and npm (https://nodejs.org), to install axe-core for the accessibility test")
      fi
    else
      missing+=("axe-core, for the accessibility test: \`npm ci\` in $(pwd) did not install it (is the npm registry reachable?)")
    fi
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if $can_root; then
    say "these are missing, and nothing has been run:"
  else
    say "these are missing and cannot be installed from here (not root, no password-less sudo); nothing has been run:"
  fi
  for line in "${missing[@]}"; do echo "  $line"; done
  echo "Install them, then run \`make test\` again."
  exit 1
fi
