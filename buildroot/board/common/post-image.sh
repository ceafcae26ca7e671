#!/bin/bash
# Post-image script of every sebridge defconfig: $1 = BINARIES_DIR, $2 = the board's directory in this tree,
# $3 = the initrd's /init script (scripts/image/initrd-init.sh of the sebridge checkout, shared with the offline
# image assembler). Makes the A/B disk of docs/firmware.md with genimage:
#   1 SEBOOT (FAT: bootloader files, kernel, initrd.img) · 2 slot A (rootfs.squashfs) · 3 slot B (empty until
#   the first upgrade) · 4 SEDATA (ext4, empty: the system fills it on first boot).
# The board's directory holds genimage.cfg (or genimage.cfg.in, see below) and optionally seboot/, files copied
# onto the FAT partition as they are (bootloader configuration).
set -euo pipefail

BOARD_DIR="$2"
INIT="$3"
die() { echo "sebridge post-image: $*" >&2; exit 1; }

# The initrd: busybox from the target, the shared slot-selection /init.
"${BR2_EXTERNAL_SEBRIDGE_PATH}/board/common/mkinitrd.sh" "$INIT" "${BINARIES_DIR}/initrd.img"

# What the boot partition holds besides kernel and initrd: the board's seboot/ over what the bootloader package
# put in efi-part/ (grub2's EFI image), so our grub.cfg wins.
rm -rf "${BINARIES_DIR}/seboot"
mkdir -p "${BINARIES_DIR}/seboot"
if [ -d "${BINARIES_DIR}/efi-part" ]; then
	cp -a "${BINARIES_DIR}/efi-part/." "${BINARIES_DIR}/seboot/"
fi
if [ -d "${BOARD_DIR}/seboot" ]; then
	cp -a "${BOARD_DIR}/seboot/." "${BINARIES_DIR}/seboot/"
fi

# GRUB for BIOS boots from the MBR: its first stage comes from the target's grub files.
if [ -f "${TARGET_DIR}/lib/grub/i386-pc/boot.img" ]; then
	cp -f "${TARGET_DIR}/lib/grub/i386-pc/boot.img" "${BINARIES_DIR}/boot.img"
fi

# The kernel release the root's modules belong to: a firmware file made from rootfs.squashfs must record it
# (docs/firmware.md), and the upgrade refuses a root for another kernel.
release=$(find "${BUILD_DIR}" -maxdepth 4 -path "${BUILD_DIR}/linux-*/include/config/kernel.release" -type f | head -n 1)
[ -n "$release" ] || die "no include/config/kernel.release in ${BUILD_DIR}/linux-*"
cp -f "$release" "${BINARIES_DIR}/kernel-release"

# genimage.cfg.in: #BOOT_FILES# becomes the device trees and the Raspberry Pi firmware files that the build put
# into BINARIES_DIR (their names depend on the firmware package's options), as Buildroot's own raspberrypi
# post-image does.
cfg="${BOARD_DIR}/genimage.cfg"
if [ -f "${BOARD_DIR}/genimage.cfg.in" ]; then
	cfg="${BINARIES_DIR}/genimage.cfg"
	files=()
	for f in "${BINARIES_DIR}"/*.dtb "${BINARIES_DIR}"/rpi-firmware/*; do
		[ -e "$f" ] && files+=("${f#"${BINARIES_DIR}"/}")
	done
	[ "${#files[@]}" -gt 0 ] || die "no device trees or firmware files in ${BINARIES_DIR}"
	boot_files=$(printf '\\t\\t\\t"%s",\\n' "${files[@]}")
	sed "s|#BOOT_FILES#|${boot_files}|" "${BOARD_DIR}/genimage.cfg.in" > "$cfg"
fi
[ -f "$cfg" ] || die "${BOARD_DIR} has no genimage.cfg"

support/scripts/genimage.sh -c "$cfg"
echo "sebridge post-image: ${BINARIES_DIR}/disk.img, kernel $(cat "${BINARIES_DIR}/kernel-release")"
