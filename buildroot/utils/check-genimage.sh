#!/bin/bash
# check-genimage.sh: runs board/common/post-image.sh for every board of this tree, on stand-in build outputs (a
# real squashfs, zero-filled kernels and boot loader pieces, the host's busybox as the target's), with the host's
# genimage, and checks the disk it makes: four partitions in the order of docs/firmware.md, SEBOOT FAT with the
# kernel and initrd.img, slot A holding the squashfs, SEDATA ext4. It checks the scripts and the layout, not a
# boot: that needs a real Buildroot build (buildroot/README.md).
# Needs genimage, mtools, dosfstools, e2fsprogs, squashfs-tools, fdisk (sfdisk), util-linux (blkid), python3.
set -euo pipefail

EXT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
bad=0

# Stand-ins for what post-image.sh uses from Buildroot: support/scripts/genimage.sh (run from Buildroot's top
# directory, as Buildroot runs post-image scripts), the kernel's gen_init_cpio (here: the list itself is the
# "archive"), the cross readelf.
top="$WORK/buildroot-top"
mkdir -p "$top/support/scripts"
cat > "$top/support/scripts/genimage.sh" <<'SH'
#!/bin/bash
set -e
[ "$1" = -c ] || exit 2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
rm -rf "${BUILD_DIR}/genimage.tmp"
genimage --rootpath "$root" --tmppath "${BUILD_DIR}/genimage.tmp" --inputpath "${BINARIES_DIR}" \
	--outputpath "${BINARIES_DIR}" --config "$2"
SH
chmod +x "$top/support/scripts/genimage.sh"
printf '#!/bin/sh\n# stand-in for scripts/image/initrd-init.sh\n' > "$WORK/init"

fake_build() { # $1 = output dir (BASE_DIR), $2 = board
	local o="$1" b="$1/images"
	mkdir -p "$b/rpi-firmware/overlays" "$o/target/bin" "$o/target/lib/grub/i386-pc" "$o/host/bin" \
		"$o/build/linux-6.18.7/usr" "$o/build/linux-6.18.7/include/config" "$WORK/rootfs-src/usr/bin"
	echo "stand-in for /usr/bin/sebridge" > "$WORK/rootfs-src/usr/bin/sebridge"
	mksquashfs "$WORK/rootfs-src" "$b/rootfs.squashfs" -quiet -noappend -comp xz > /dev/null
	for f in bzImage Image grub.img u-boot.itb idbloader.img; do head -c 65536 /dev/zero > "$b/$f"; done
	case "$2" in
	pc-x86_64-efi)
		mkdir -p "$b/efi-part/EFI/BOOT"
		head -c 65536 /dev/zero > "$b/efi-part/EFI/BOOT/bootx64.efi"
		echo "grub2's default grub.cfg" > "$b/efi-part/EFI/BOOT/grub.cfg"
		;;
	raspberrypi4-64)
		for f in bcm2711-rpi-4-b.dtb rpi-firmware/start4.elf rpi-firmware/fixup4.dat \
			rpi-firmware/overlays/miniuart-bt.dtbo; do
			head -c 65536 /dev/zero > "$b/$f"
		done
		cp "$EXT/board/raspberrypi4-64/config.txt" "$b/rpi-firmware/config.txt"
		cp "$EXT/board/raspberrypi4-64/cmdline.txt" "$b/rpi-firmware/cmdline.txt"
		;;
	nanopi-r2s) head -c 65536 /dev/zero > "$b/rk3328-nanopi-r2s.dtb" ;;
	esac
	head -c 512 /dev/zero > "$o/target/lib/grub/i386-pc/boot.img"
	cp /bin/busybox "$o/target/bin/busybox"
	ln -s "$(command -v readelf)" "$o/host/bin/x86_64-buildroot-linux-gnu-readelf"
	# shellcheck disable=SC2016 # the stand-in's own $1
	printf '#!/bin/sh\n[ "$1" = -t ] && shift 2\ncat "$1"\n' > "$o/build/linux-6.18.7/usr/gen_init_cpio"
	chmod +x "$o/build/linux-6.18.7/usr/gen_init_cpio"
	echo 6.18.7 > "$o/build/linux-6.18.7/include/config/kernel.release"
}

for board_dir in "$EXT"/board/*/; do
	board=$(basename "$board_dir")
	[ "$board" = common ] && continue
	o="$WORK/$board"
	fake_build "$o" "$board"
	b="$o/images"
	if ! (cd "$top" && BINARIES_DIR="$b" TARGET_DIR="$o/target" BUILD_DIR="$o/build" HOST_DIR="$o/host" \
		BR2_EXTERNAL_SEBRIDGE_PATH="$EXT" "$EXT/board/common/post-image.sh" "$b" "${board_dir%/}" \
		"$WORK/init") > "$o/post-image.log" 2>&1; then
		echo "FAIL $board: post-image.sh:"
		cat "$o/post-image.log"
		bad=1
		continue
	fi
	disk="$b/disk.img"
	mapfile -t parts < <(sfdisk -J "$disk" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["partitiontable"]["partitions"]:
    print(p["start"] * 512, p["size"] * 512)')
	if [ "${#parts[@]}" -ne 4 ]; then
		echo "FAIL $board: ${#parts[@]} partitions, docs/firmware.md has 4"
		bad=1
		continue
	fi
	part() { # $1 = 1..4 → the partition's bytes in a file
		local start size
		read -r start size <<< "${parts[$(($1 - 1))]}"
		dd if="$disk" of="$o/p$1" bs=1M iflag=skip_bytes,count_bytes skip="$start" count="$size" status=none
		echo "$o/p$1"
	}
	p1=$(part 1)
	p2=$(part 2)
	p3=$(part 3)
	p4=$(part 4)
	label1=$(blkid -o value -s LABEL "$p1" || true)
	type1=$(blkid -o value -s TYPE "$p1" || true)
	label4=$(blkid -o value -s LABEL "$p4" || true)
	type4=$(blkid -o value -s TYPE "$p4" || true)
	slot=$(cmp -n "$(stat -c %s "$b/rootfs.squashfs")" "$p2" "$b/rootfs.squashfs" > /dev/null && echo ok || echo differs)
	sizes="$(stat -c %s "$p2") $(stat -c %s "$p3")"
	files=$(mdir -/ -b -i "$p1" :: | sed 's|^::||' | sort | tr '\n' ' ')
	# The bootloader configuration on SEBOOT is the board's own, not a package's default.
	cfg_ok=ok
	while IFS= read -r f; do
		rel=${f#"${board_dir}seboot/"}
		mtype -i "$p1" "::/$rel" | cmp -s - "$f" || cfg_ok="::/$rel is not the board's"
	done < <(find "${board_dir}seboot" -type f 2>/dev/null)
	if [ "$label1/$type1" = SEBOOT/vfat ] && [ "$label4/$type4" = SEDATA/ext4 ] && [ "$slot" = ok ] &&
		[ "${sizes% *}" = "${sizes#* }" ] && [[ " $files" == *" /initrd.img "* ]] && [ "$cfg_ok" = ok ] &&
		[ "$(cat "$b/kernel-release")" = 6.18.7 ]; then
		echo "ok   $board: $(sfdisk -d "$disk" | sed -n 's/^label: //p'), SEBOOT vfat [${files% }], slot A = rootfs.squashfs, slots $((${sizes% *} / 1048576)) MiB each, SEDATA ext4, disk $(($(stat -c %s "$disk") / 1048576)) MiB"
	else
		echo "FAIL $board: p1 ${label1:-?}/${type1:-?} [${files}] (${cfg_ok}), p2 ${slot}, slot sizes ${sizes}, p4 ${label4:-?}/${type4:-?}"
		bad=1
	fi
done
exit "$bad"
