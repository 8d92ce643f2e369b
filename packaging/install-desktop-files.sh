#!/usr/bin/env bash
# Registers Layerforge with a Linux desktop: application menu entry, icon, the .lfproj file type
# (double-click opens the project in Layerforge) and AppStream metadata for software centres.
#
#   install-desktop-files.sh [--exec PATH] [--prefix DIR] [--uninstall]
#
# --exec PATH   the layerforge program the menu entry starts (default: the bundle's own program when
#               this script sits in a bundle, else `layerforge` found on PATH, e.g. from the wheel)
# --prefix DIR  where to install (default: ${XDG_DATA_HOME:-~/.local/share}, for this user only;
#               /usr/local/share installs for everyone and needs root)
# --uninstall   remove what an earlier run installed under the same prefix
#
# Works from the repository (packaging/) and from a PyInstaller bundle (dist/layerforge/desktop/).
set -euo pipefail

APP_ID=io.github.layerforge.Layerforge
MIME_TYPE=application/x-layerforge-project
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { echo "install-desktop-files: $*" >&2; exit 1; }

exec_path="" prefix="${XDG_DATA_HOME:-$HOME/.local/share}" uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --exec) [ $# -ge 2 ] || fail "--exec needs the path of the layerforge program"; exec_path="$2"; shift 2 ;;
    --prefix) [ $# -ge 2 ] || fail "--prefix needs a folder, e.g. /usr/local/share"; prefix="$2"; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; fail "unknown option '$1'" ;;
  esac
done

# The icons live in resources/icons/app in the repository and in icons/ beside this script in a bundle.
if [ -f "$HERE/icons/layerforge.svg" ]; then icon_dir="$HERE/icons"; else icon_dir="$HERE/../resources/icons/app"; fi
[ -f "$icon_dir/layerforge.svg" ] || fail "the app icon is missing from $icon_dir; run this script from the repository's packaging/ folder or from the bundle's desktop/ folder"
for file in "$APP_ID.desktop" "$APP_ID.mime.xml" "$APP_ID.metainfo.xml"; do
  [ -f "$HERE/$file" ] || fail "$HERE/$file is missing; the packaging folder is incomplete"
done

icon_sizes=(16 24 32 48 64 128 256 512)
installed=(
  "applications/$APP_ID.desktop"
  "mime/packages/$APP_ID.xml"
  "metainfo/$APP_ID.metainfo.xml"
  "icons/hicolor/scalable/apps/$APP_ID.svg"
)
for size in "${icon_sizes[@]}"; do installed+=("icons/hicolor/${size}x${size}/apps/$APP_ID.png"); done

refresh_caches() {
  # Each tool is optional: a desktop without it simply rescans on next login.
  if command -v update-mime-database >/dev/null; then update-mime-database "$prefix/mime" >/dev/null || true; fi
  if command -v update-desktop-database >/dev/null; then update-desktop-database -q "$prefix/applications" || true; fi
  if command -v gtk-update-icon-cache >/dev/null && [ -f "$prefix/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t -f "$prefix/icons/hicolor" || true
  fi
}

if [ "$uninstall" = 1 ]; then
  for path in "${installed[@]}"; do rm -f "$prefix/$path"; done
  refresh_caches
  echo "Layerforge's desktop entry, icons and file type were removed from $prefix"
  exit 0
fi

if [ -z "$exec_path" ]; then
  if [ -x "$HERE/../layerforge" ] && [ -f "$HERE/../layerforge" ]; then
    exec_path="$(cd "$HERE/.." && pwd)/layerforge"            # inside a one-folder bundle
  elif command -v layerforge >/dev/null; then
    exec_path="$(command -v layerforge)"
  else
    fail "no layerforge program found: install the wheel (pip install layerforge) or pass --exec /path/to/layerforge"
  fi
fi
[ -x "$exec_path" ] || fail "--exec $exec_path is not an executable file"
exec_path="$(cd "$(dirname "$exec_path")" && pwd)/$(basename "$exec_path")"
case "$exec_path" in
  *[\"\`\$\\]*) fail "the program path $exec_path contains a quote, backquote, dollar or backslash; move it to a plainer folder" ;;
esac

mkdir -p "$prefix/applications" "$prefix/mime/packages" "$prefix/metainfo" "$prefix/icons/hicolor/scalable/apps"
# The desktop entry starts the program by its absolute path, so it works without PATH changes.
sed -e "s|^Exec=.*|Exec=\"$exec_path\" %f|" -e "s|^TryExec=.*|TryExec=$exec_path|" \
  "$HERE/$APP_ID.desktop" > "$prefix/applications/$APP_ID.desktop.tmp"
mv "$prefix/applications/$APP_ID.desktop.tmp" "$prefix/applications/$APP_ID.desktop"
install -m 644 "$HERE/$APP_ID.mime.xml" "$prefix/mime/packages/$APP_ID.xml"
install -m 644 "$HERE/$APP_ID.metainfo.xml" "$prefix/metainfo/$APP_ID.metainfo.xml"
install -m 644 "$icon_dir/layerforge.svg" "$prefix/icons/hicolor/scalable/apps/$APP_ID.svg"
for size in "${icon_sizes[@]}"; do
  mkdir -p "$prefix/icons/hicolor/${size}x${size}/apps"
  install -m 644 "$icon_dir/layerforge-$size.png" "$prefix/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
refresh_caches
# Make Layerforge the default for .lfproj files (only for the current user; needs xdg-utils).
if [ "$prefix" = "${XDG_DATA_HOME:-$HOME/.local/share}" ] && command -v xdg-mime >/dev/null; then
  xdg-mime default "$APP_ID.desktop" "$MIME_TYPE" || true
fi
echo "Layerforge is in the application menu; .lfproj files open in it (installed under $prefix, starts $exec_path)"
