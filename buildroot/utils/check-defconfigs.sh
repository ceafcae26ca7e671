#!/bin/sh
# check-defconfigs.sh BUILDROOT_DIR: loads every defconfig of this tree with Buildroot's own Kconfig (offline:
# `make O=… BR2_EXTERNAL=… NAME_defconfig` downloads nothing) and checks that every line of it survived into the
# resulting .config. Kconfig silently drops an option whose dependencies are not met (a toolchain without C++
# would drop BR2_PACKAGE_SEBRIDGE, a misspelt option is ignored with a warning), so this is how to know the
# defconfig means what it says; and the files a defconfig names inside Buildroot (board/…) exist there.
# Exit status 1 on any dropped or unknown option or missing file.
set -eu

BR="${1:?usage: $0 BUILDROOT_DIR}"
EXT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
bad=0

for def in "$EXT"/configs/*_defconfig; do
	name=$(basename "$def")
	o="$OUT/${name%_defconfig}"
	if ! make -s -C "$BR" O="$o" BR2_EXTERNAL="$EXT" "$name" > "$o.log" 2>&1; then
		echo "FAIL $name: make $name failed:"
		cat "$o.log"
		bad=1
		continue
	fi
	if grep -i 'warning' "$o.log"; then
		echo "FAIL $name: Kconfig warnings (above)"
		bad=1
	fi
	missing=0
	while IFS= read -r line; do
		case "$line" in
		'# BR2_'*' is not set')
			sym=${line#\# }
			sym=${sym%% *}
			if grep -q "^${sym}=" "$o/.config"; then
				echo "FAIL $name: $sym should be unset but is $(grep "^${sym}=" "$o/.config")"
				missing=$((missing + 1))
			fi
			;;
		BR2_*)
			if ! grep -qxF "$line" "$o/.config"; then
				sym=${line%%=*}
				echo "FAIL $name: $line dropped ($(grep "^${sym}=" "$o/.config" || echo "$sym not set"))"
				missing=$((missing + 1))
			fi
			;;
		esac
	done < "$def"
	# Files named relative to Buildroot's top directory (its board/ files: patches, kernel configs) exist there.
	# shellcheck disable=SC2013 # words are wanted: a value may list several files
	for word in $(sed -n 's/^BR2_[A-Z0-9_]*="\(.*\)"$/\1/p' "$def"); do
		case "$word" in
		board/* | package/* | support/* | configs/*)
			if [ ! -e "$BR/$word" ]; then
				echo "FAIL $name: $word is not in $BR"
				missing=$((missing + 1))
			fi
			;;
		esac
	done
	if [ "$missing" -eq 0 ]; then
		echo "ok   $name: $(grep -c '^BR2_' "$def") options, all in .config"
	else
		bad=1
	fi
done
exit "$bad"
