#!/usr/bin/env bash
# Install headless Chromium + chromedriver (Debian packages) for the dashboard browser test.
#
# Idempotent: does nothing when /usr/bin/chromium and /usr/bin/chromedriver already exist.
# Otherwise runs `apt-get update` once and installs `chromium` and `chromium-driver`.
# Must run as root (CI containers do); uses sudo when available otherwise.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

if [[ -x "$CHROMIUM" && -x "$CHROMEDRIVER" ]]; then
    echo "install-browser: chromium and chromedriver already installed, nothing to do."
    exit 0
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-browser: must run as root (or with sudo available)." >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-browser: installing chromium and chromium-driver via apt-get..."
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium chromium-driver

for bin in "$CHROMIUM" "$CHROMEDRIVER"; do
    if [[ ! -x "$bin" ]]; then
        echo "install-browser: $bin missing after installation." >&2
        exit 1
    fi
done
echo "install-browser: $("$CHROMIUM" --version 2>/dev/null || echo chromium) / $("$CHROMEDRIVER" --version 2>/dev/null | head -1)"
