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
# PyYAML and kubectl (whose built-in kustomize renders k8s/), and promtool (below); the
# browser tests (tests/browser) run Debian's chromium through playwright-core from npm;
# the TURN tests (tests/turn) start coturn (below: its service is not started); the fuzz
# targets (tests/fuzz) build with clang 15 and its libFuzzer.
if [[ "${1:-}" == "--test" ]]; then
  packages+=(libgtest-dev libgmock-dev libbenchmark-dev postgresql-15 redis-server chromium)
  packages+=(yamllint python3-yaml)
  packages+=(clang-15 libfuzzer-15-dev)
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

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# promtool (the rule and dashboard checks of tests/deploy) comes only in Debian 12's
# `prometheus` package, whose postinst starts and enables a Prometheus daemon; coturn's
# (tests/turn start its turnserver on loopback themselves) starts a system TURN server. The
# tests need the programs, not services: a policy-rc.d (invoke-rc.d's and
# deb-systemd-invoke's "may this start?" hook; 101 = no) refuses the start during the
# install, unless one is in place already, and the unit is disabled so that it does not
# start at the next boot.
install_without_service() {  # package, a program it installs
  local package=$1 program=$2
  command -v "$program" >/dev/null && return 0
  echo "install-deps: installing $package (for $program; its service is not started)"
  local policy=/usr/sbin/policy-rc.d own_policy="" status=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    own_policy=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "$package" || status=$?
  [[ -z $own_policy ]] || $SUDO rm -f "$policy"
  ((status == 0)) || exit "$status"
  $SUDO update-rc.d "$package" disable >/dev/null 2>&1 || true
  if command -v systemctl >/dev/null; then $SUDO systemctl disable "$package" >/dev/null 2>&1 || true; fi
}
if [[ "${1:-}" == "--test" ]]; then
  install_without_service prometheus promtool
  install_without_service coturn turnserver
fi
