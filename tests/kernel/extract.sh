#!/bin/bash
# tests/kernel/extract.sh DIR - extract Debian's linux-source-6.12 tarball
# into DIR/linux-source-6.12, once per tarball: a stamp file records the
# tarball's size and time, and a new tarball replaces the tree. Used by
# tests/intree.sh (build/intree) and tests/kernel/build.sh ($DFU_CACHE).
set -euo pipefail
dir=${1:?usage: tests/kernel/extract.sh DIR}
tarball=/usr/src/linux-source-6.12.tar.xz
tree=$dir/linux-source-6.12
stamp=$tree/.dfu-extracted
want=$(stat -c '%s %Y' "$tarball")
[ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || exit 0
echo "extract: $tarball into $tree" >&2
rm -rf "$tree"
mkdir -p "$dir"
tar -xJf "$tarball" -C "$dir"
[ -f "$tree/Makefile" ] || { echo "extract: $tarball has no linux-source-6.12/Makefile" >&2; exit 1; }
echo "$want" >"$stamp"
