#!/usr/bin/env bash
# System packages installed from the distribution so that nothing is ever downloaded by the
# running product or its tests: the CJK font embedded in labels, and Chromium, which the web
# UI tests drive through Playwright (`playwright install` cannot download browsers here).
# With --bench (`make bench`): Valgrind too, which counts the instructions of `pwb issue`.
set -euo pipefail

FONT=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
CHROMIUM=/usr/bin/chromium
packages=()
[[ -f $FONT || -n ${PWB_LABEL_FONT:-} ]] || packages+=(fonts-wqy-zenhei)
[[ -x $CHROMIUM ]] || packages+=(chromium)
[[ ${1:-} != --bench ]] || command -v valgrind >/dev/null 2>&1 || packages+=(valgrind)

python3 - <<'PY' || { echo "privacy-waybill needs Python >= 3.11 as python3" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

((${#packages[@]})) || exit 0
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "Installing system packages: ${packages[*]}"
  $SUDO apt-get update -qq
  # debconf notes that apt-utils is missing on minimal images; that line is noise, errors are not.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${packages[@]}" >/dev/null 2> >(grep -v '^debconf: delaying' >&2)
else
  echo "Please install these packages with your system's package manager: ${packages[*]}" >&2
  echo "(or set PWB_LABEL_FONT to a TrueType CJK font file)" >&2
  exit 1
fi
