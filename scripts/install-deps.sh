#!/usr/bin/env bash
# Installs the Debian 12 packages this project needs to build and run (and, with --test,
# to test), if missing.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

# To build and run the server.
packages=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libssl-dev
  libsqlite3-dev libpq-dev libhiredis-dev
)
# To test it: test frameworks, and the PostgreSQL and Redis servers the tests start
# themselves on free loopback ports; for the deployment checks (tests/deploy), yamllint,
# PyYAML and kubectl (whose built-in kustomize renders k8s/); the browser tests
# (tests/browser) run Debian's chromium through playwright-core from npm.
if [[ "${1:-}" == "--test" ]]; then
  packages+=(libgtest-dev libgmock-dev libbenchmark-dev postgresql-15 redis-server chromium)
  packages+=(yamllint python3-yaml)
  # Debian's kubectl, unless one is installed already: another package's /usr/bin/kubectl
  # (Google Cloud SDK's, say) conflicts with kubernetes-client, and either one will do.
  command -v kubectl >/dev/null || packages+=(kubernetes-client)
  # Node.js from Debian, unless a node and npm are already installed (e.g. NodeSource's
  # nodejs, which bundles npm and conflicts with Debian's npm package).
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    packages+=(nodejs npm)
  fi
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
