#!/usr/bin/env bash
# The system packages the tests need beyond Python: xmlsec1 (the test IdP, pysaml2, signs with it),
# Chromium (the browser tests), node with npm (Mozilla's ical.js checks our calendars: the tests
# run `npm ci` in tests/icaljs, pinned by its package-lock.json) and java (the page-quality suite's
# Nu HTML Checker). As root with apt, installs them; otherwise stops at once with one line naming
# them and the command that installs them. Then installs the page-quality validators (axe-core
# and vnu-jar, pinned in tests/web/tools) with `npm ci`, only when their lock file changed.
set -euo pipefail
missing=()
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} with apt-get (needed by the tests)…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "make test needs ${missing[*]}: install with 'sudo apt-get install ${missing[*]}'" >&2
    exit 1
  fi
fi
tools="$(dirname "$0")/../tests/web/tools"
lock="$tools/package-lock.json"
stamp="$tools/node_modules/.installed-lock"
if ! cmp -s "$lock" "$stamp" 2>/dev/null; then
  (cd "$tools" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  cp "$lock" "$stamp"
fi
