#!/usr/bin/env bash
# Builds the one-folder desktop app: packaging/dist/layerforge/ (run packaging/dist/layerforge/layerforge).
#
#   packaging/build.sh [--wheel PATH] [--venv DIR]
#
# --wheel PATH  bundle this wheel (default: build one from the source tree with build-wheel.sh)
# --venv DIR    the throwaway venv to build in (default: a new one in a temporary folder, deleted
#               afterwards). The wheel and PyInstaller are installed into it; PyInstaller is a build
#               tool only, never a dependency of Layerforge. Created if it does not exist.
#
# Works the same on Linux, macOS (also makes packaging/dist/Layerforge.app) and Windows (Git Bash);
# see packaging/README.md for the per-OS steps.
set -euo pipefail

PACKAGING="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYINSTALLER_VERSION="${PYINSTALLER_VERSION:-6.22.3}"
PYTHON="${PYTHON:-python3}"
fail() { echo "build.sh: $*" >&2; exit 1; }

wheel="" venv=""
while [ $# -gt 0 ]; do
  case "$1" in
    --wheel) [ $# -ge 2 ] || fail "--wheel needs a path"; wheel="$2"; shift 2 ;;
    --venv) [ $# -ge 2 ] || fail "--venv needs a folder"; venv="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown option '$1' (see --help)" ;;
  esac
done

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
if [ -z "$wheel" ]; then
  echo "== building the wheel"
  wheel="$("$PACKAGING/build-wheel.sh" "$scratch/wheel")"
fi
[ -f "$wheel" ] || fail "no wheel at $wheel"
[ -n "$venv" ] || venv="$scratch/venv"
[ -e "$venv/bin/python" ] || [ -e "$venv/Scripts/python.exe" ] || "$PYTHON" -m venv "$venv"
if [ -x "$venv/bin/python" ]; then py="$venv/bin/python"; else py="$venv/Scripts/python.exe"; fi
[ -x "$py" ] || fail "$venv is not a virtual environment (no bin/python or Scripts/python.exe)"

echo "== installing $(basename "$wheel") and PyInstaller $PYINSTALLER_VERSION into $venv"
"$py" -m pip install --quiet "$wheel" "pyinstaller==$PYINSTALLER_VERSION"
# pip keeps an installed layerforge of the same version: a reused venv must get this very wheel.
"$py" -m pip install --quiet --no-deps --force-reinstall "$wheel"

echo "== running PyInstaller"
rm -rf "$PACKAGING/build" "$PACKAGING/dist"
# Run from outside the source tree so the analysis imports the installed wheel, not src/.
(cd "$scratch" && "$py" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$PACKAGING/dist" --workpath "$PACKAGING/build" "$PACKAGING/layerforge.spec")

bundle="$PACKAGING/dist/layerforge"
# A Python built from source (pyenv, some CI images) keeps debug symbols in libpython and its
# extension modules: a fifth of the bundle. Only these are stripped (see the note in the spec).
if command -v strip >/dev/null && [ "$(uname -s)" = Linux ]; then
  find "$bundle/_internal" -maxdepth 3 \( -name 'libpython3*.so*' -o -path '*/lib-dynload/*.so' \) -type f \
    -exec strip --strip-debug {} +
fi
# Desktop integration travels with the bundle: dist/layerforge/desktop/install-desktop-files.sh
mkdir -p "$bundle/desktop/icons"
cp "$PACKAGING"/io.github.layerforge.Layerforge.{desktop,mime.xml,metainfo.xml} "$PACKAGING/install-desktop-files.sh" \
  "$bundle/desktop/"
cp "$PACKAGING"/../resources/icons/app/layerforge.svg "$PACKAGING"/../resources/icons/app/layerforge-*.png "$bundle/desktop/icons/"
rm -rf "$PACKAGING/build"

echo "== bundle: $bundle ($(du -sh "$bundle" | cut -f1))"
