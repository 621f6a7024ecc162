#!/usr/bin/env bash
# Installs uv for `make` where it is missing: pip --user where that is allowed, else a private
# virtual environment (Debian's system Python refuses `pip install --user`: externally managed).
set -euo pipefail
bin="$HOME/.local/bin"
said() {
  echo "make: installed uv into $bin (the README's ./changecast needs nothing more; for its \`uv run\` lines: export PATH=\"\$HOME/.local/bin:\$PATH\")" >&2
}
if python3 -m pip install --quiet --user uv 2>/dev/null; then
  said
  exit 0
fi
venv="$HOME/.local/share/changecast-uv"
python3 -m venv "$venv" || {
  echo "make: cannot create a virtual environment for uv; install python3-venv (apt-get install python3-venv) or uv itself" >&2
  exit 1
}
"$venv/bin/pip" install --quiet uv
mkdir -p "$bin"
ln -sf "$venv/bin/uv" "$bin/uv"
said
