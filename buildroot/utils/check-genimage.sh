#!/bin/bash
# check-genimage.sh: runs every board's genimage configuration of this tree with the host's genimage on stand-in
# input files (a real squashfs, zero-filled kernels and boot loader pieces) and checks the disk it makes: four
# partitions in the order of docs/firmware.md, SEBOOT FAT and SEDATA ext4 by label, slot A holding the squashfs.
# It checks the layout, not a boot: that needs a real Buildroot build (buildroot/README.md).
# Needs genimage, mtools, dosfstools, e2fsprogs, squashfs-tools, fdisk (sfdisk), blkid.
set -euo pipefail

EXT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
bad=0

fake_inputs() { # $1 = BINARIES_DIR
	local b="$1"
	mkdir -p "$b/rootfs-src/usr/bin" "$b/rpi-firmware/overlays" "$b/efi-part/EFI/BOOT"
	echo "stand-in for /usr/bin/sebridge" > "$b/rootfs-src/usr/bin/sebridge"
	mksquashfs "$b/rootfs-src" "$b/rootfs.squashfs" -quiet -noappend -comp xz > /dev/null
	for f in bzImage Image initrd.img grub.img u-boot.itb idbloader.img rk3328-nanopi-r2s.dtb \
		bcm2711-rpi-4-b.dtb rpi-firmware/start4.elf rpi-firmware/fixup4.dat rpi-firmware/overlays/miniuart-bt.dtbo \
		efi-part/EFI/BOOT/bootx64.efi; do
		head -c 65536 /dev/zero > "$b/$f"
	done
	head -c 512 /dev/zero > "$b/boot.img"
	cp "$EXT/board/raspberrypi4-64/config.txt" "$b/rpi-firmware/config.txt"
	cp "$EXT/board/raspberrypi4-64/cmdline.txt" "$b/rpi-firmware/cmdline.txt"
}

for board_dir in "$EXT"/board/*/; do
	board=$(basename "$board_dir")
	[ -f "$board_dir/genimage.cfg" ] || [ -f "$board_dir/genimage.cfg.in" ] || continue
	b="$WORK/$board/images"
	mkdir -p "$b"
	fake_inputs "$b"
	# What post-image.sh does before genimage: the seboot tree and the expanded template.
	mkdir -p "$b/seboot"
	cp -a "$b/efi-part/." "$b/seboot/"
	[ -d "$board_dir/seboot" ] && cp -a "$board_dir/seboot/." "$b/seboot/"
	cfg="$board_dir/genimage.cfg"
	if [ -f "$board_dir/genimage.cfg.in" ]; then
		cfg="$b/genimage.cfg"
		files=()
		for f in "$b"/*.dtb "$b"/rpi-firmware/*; do files+=("${f#"$b"/}"); done
		boot_files=$(printf '\\t\\t\\t"%s",\\n' "${files[@]}")
		sed "s|#BOOT_FILES#|${boot_files}|" "$board_dir/genimage.cfg.in" > "$cfg"
	fi
	root=$(mktemp -d)
	if ! genimage --rootpath "$root" --tmppath "$WORK/$board/tmp" --inputpath "$b" --outputpath "$b" \
		--config "$cfg" > "$WORK/$board/genimage.log" 2>&1; then
		echo "FAIL $board: genimage:"
		cat "$WORK/$board/genimage.log"
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
		dd if="$disk" of="$WORK/$board/p$1" bs=1M iflag=skip_bytes,count_bytes skip="$start" count="$size" status=none
		echo "$WORK/$board/p$1"
	}
	p1=$(part 1)
	p2=$(part 2)
	p4=$(part 4)
	label1=$(blkid -o value -s LABEL "$p1" || true)
	type1=$(blkid -o value -s TYPE "$p1" || true)
	label4=$(blkid -o value -s LABEL "$p4" || true)
	type4=$(blkid -o value -s TYPE "$p4" || true)
	slot=$(cmp -n "$(stat -c %s "$b/rootfs.squashfs")" "$p2" "$b/rootfs.squashfs" > /dev/null && echo ok || echo differs)
	kernel=$(mdir -b -i "$p1" :: | tr '\n' ' ')
	if [ "$label1/$type1" = SEBOOT/vfat ] && [ "$label4/$type4" = SEDATA/ext4 ] && [ "$slot" = ok ] &&
		[[ " $kernel" == *"/initrd.img "* ]]; then
		echo "ok   $board: $(sfdisk -d "$disk" | sed -n 's/^label: //p'), p1 SEBOOT vfat [${kernel% }], p2 = rootfs.squashfs, p4 SEDATA ext4, $(( $(stat -c %s "$disk") / 1048576 )) MiB"
	else
		echo "FAIL $board: p1 ${label1:-?}/${type1:-?} [${kernel}], p2 ${slot}, p4 ${label4:-?}/${type4:-?}"
		bad=1
	fi
done
exit "$bad"
