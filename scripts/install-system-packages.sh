#!/usr/bin/env bash
# System packages the product needs at run time, installed from the distribution so that
# nothing is ever downloaded by the running product: the CJK font embedded in labels.
set -euo pipefail

FONT=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
packages=()
[[ -f $FONT || -n ${PWB_LABEL_FONT:-} ]] || packages+=(fonts-wqy-zenhei)

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
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${packages[@]}" >/dev/null
else
  echo "Please install these packages with your system's package manager: ${packages[*]}" >&2
  echo "(or set PWB_LABEL_FONT to a TrueType CJK font file)" >&2
  exit 1
fi
