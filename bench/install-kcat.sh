#!/bin/sh
# Installs Debian's kcat (the reference for bench/topics.ts) if it is not on PATH.
set -e
command -v kcat >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get install -y kcat || { $SUDO apt-get update && $SUDO apt-get install -y kcat; }
