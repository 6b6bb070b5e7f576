#!/usr/bin/env bash
# Installs the tools the repository benchmark compares against (Debian's restic; tar and gzip are base).
set -euo pipefail
if ! command -v restic >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic
fi
restic version
