#!/usr/bin/env bash
# The system packages the tests need beyond Python: xmlsec1 (the test IdP, pysaml2, signs with it),
# Chromium (the browser tests) and node with npm (Mozilla's ical.js checks our calendars: the tests
# run `npm ci` in tests/icaljs, pinned by its package-lock.json). As root with apt, installs them; otherwise stops at once with
# one line naming them and the command that installs them.
set -euo pipefail
missing=()
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
((${#missing[@]})) || exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get (needed by the tests)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "make test needs ${missing[*]}: install with 'sudo apt-get install ${missing[*]}'" >&2
exit 1
