#!/usr/bin/env bash
# Set-up for the Python package's suite (scripts/test.d/python.sh): a python3 (>= 3.9) that can make
# virtual environments. The machines ship one; a bare Debian gets Debian's.
set -euo pipefail

if ! python3 -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 9)' 2>/dev/null; then
    echo "installing python3 with venv (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y python3 python3-venv python3-pip
fi
python3 --version
