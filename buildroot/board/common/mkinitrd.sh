#!/bin/sh
# mkinitrd.sh INIT OUTPUT: the initrd of docs/firmware.md from the target's own busybox. INIT is the initrd's
# /init (it picks the boot slot); busybox and the shared libraries it needs come from TARGET_DIR, found through
# their ELF headers. The kernel has every driver the initrd needs built in (board/common/linux.fragment), so the
# initrd carries no modules and an empty /etc/initrd-modules. The archive is made by the kernel's own
# gen_init_cpio: root-owned files and /dev/console without fakeroot; directories and links get SOURCE_DATE_EPOCH
# (Buildroot sets it for reproducible builds) as their time, files keep theirs.
set -eu

INIT="$1"
OUT="$2"
die() { echo "sebridge mkinitrd: $*" >&2; exit 1; }

[ -f "$INIT" ] || die "the initrd's init script ${INIT} is missing"
[ -x "${TARGET_DIR}/bin/busybox" ] || die "${TARGET_DIR}/bin/busybox is missing"
gen=$(find "${BUILD_DIR}" -maxdepth 3 -path "${BUILD_DIR}/linux-*/usr/gen_init_cpio" -type f | head -n 1)
[ -n "$gen" ] || die "no gen_init_cpio in ${BUILD_DIR}/linux-*/usr (the kernel needs CONFIG_BLK_DEV_INITRD=y)"
readelf=$(find "${HOST_DIR}/bin" -maxdepth 1 -name '*-readelf' | head -n 1)
[ -n "$readelf" ] || die "no cross readelf in ${HOST_DIR}/bin"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
list="${work}/list"
: > "${work}/initrd-modules"

{
	for d in /bin /dev /etc /lib /proc /sys /data /newroot; do
		echo "dir $d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /init ${INIT} 0755 0 0"
	echo "file /bin/busybox ${TARGET_DIR}/bin/busybox 0755 0 0"
	# /init is a #!/bin/sh script: the shell must be there before it installs the applet links
	echo "slink /bin/sh busybox 0777 0 0"
	echo "file /etc/initrd-modules ${work}/initrd-modules 0644 0 0"
} > "$list"

# The program interpreter at the path the ELF names (e.g. /lib64/ld-linux-x86-64.so.2), then the NEEDED
# libraries, transitively, into /lib. A static busybox has neither.
interp=$("$readelf" -l "${TARGET_DIR}/bin/busybox" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
todo=""
if [ -n "$interp" ]; then
	# As in Buildroot's root: everything in /lib, and /lib64 (where x86_64's interpreter is named) a link to it.
	[ "$(dirname "$interp")" = /lib ] || echo "slink $(dirname "$interp") lib 0777 0 0" >> "$list"
	echo "file /lib/$(basename "$interp") $(readlink -f "${TARGET_DIR}${interp}") 0755 0 0" >> "$list"
	todo="${TARGET_DIR}/bin/busybox"
fi
seen=" "
while [ -n "$todo" ]; do
	next=""
	for f in $todo; do
		for lib in $("$readelf" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case "$seen" in *" $lib "*) continue ;; esac
			seen="${seen}${lib} "
			[ "$lib" != "$(basename "$interp")" ] || continue
			src=""
			for d in lib usr/lib lib64 usr/lib64; do
				if [ -e "${TARGET_DIR}/${d}/${lib}" ]; then
					src=$(readlink -f "${TARGET_DIR}/${d}/${lib}")
					break
				fi
			done
			[ -n "$src" ] || die "busybox needs ${lib}, which is not in ${TARGET_DIR}"
			echo "file /lib/${lib} ${src} 0755 0 0" >> "$list"
			next="${next} ${src}"
		done
	done
	todo="$next"
done

"$gen" -t "${SOURCE_DATE_EPOCH:-0}" "$list" | gzip -9 -n > "${OUT}.tmp"
mv "${OUT}.tmp" "$OUT"
echo "sebridge mkinitrd: ${OUT} ($(wc -c < "$OUT") bytes)"
