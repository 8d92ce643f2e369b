#!/usr/bin/env bash
# Builds the layerforge wheel from a clean copy of the source tree and prints the wheel's path.
#
#   packaging/build-wheel.sh OUT_DIR
#
# A clean copy (the files git tracks, plus new files git does not ignore) keeps whatever lies around
# in the working tree out of the wheel: bytecode caches, an old build/ folder, virtual environments.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: packaging/build-wheel.sh OUT_DIR" >&2; exit 2; }
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
PYTHON="${PYTHON:-python3}"

source_copy="$(mktemp -d)"
trap 'rm -rf "$source_copy"' EXIT
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard) |
    while IFS= read -r -d '' path; do [ -f "$REPO/$path" ] && printf '%s\0' "$path"; done |
    tar -C "$REPO" --null -T - -cf - | tar -C "$source_copy" -xf -
else  # an unpacked source archive: leave out what a run or a build leaves behind
  tar -C "$REPO" --exclude=__pycache__ --exclude='*.py[co]' --exclude=build --exclude=dist \
    --exclude='*.egg-info' --exclude='.*' -cf - . | tar -C "$source_copy" -xf -
fi

# Build isolation fetches the build backend named in pyproject.toml, as any user's pip would.
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$source_copy/wheelhouse" "$source_copy" >&2
wheel="$(ls "$source_copy"/wheelhouse/layerforge-*.whl)"
cp "$wheel" "$OUT/"
echo "$OUT/$(basename "$wheel")"
