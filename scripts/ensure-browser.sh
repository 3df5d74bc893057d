#!/usr/bin/env bash
# The console's browser tests drive Debian's Chromium through its chromedriver; install both
# when missing (root, or sudo without a password). Nothing else installs a browser.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -n"
echo "ensure-browser: installing chromium and chromium-driver from Debian's packages"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null \
  || { $sudo apt-get update -q >/dev/null && \
       $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; }
