#!/bin/sh
# Post-build script of every sebridge defconfig: $1 = TARGET_DIR, $2 = the board's directory in this tree.
# Checks that the single executable reached the root unchanged (strip breaks it) and writes what the running
# system and the firmware upgrade read about this build (docs/firmware.md).
set -eu

TARGET="$1"
die() { echo "sebridge post-build: $*" >&2; exit 1; }

# The executable in the root must be byte for byte the one the package installed: Buildroot strips every ELF
# file not named in BR2_STRIP_EXCLUDE_FILES after the packages are installed.
exe="${TARGET}/usr/bin/sebridge"
[ -f "$exe" ] || die "${exe} is missing (BR2_PACKAGE_SEBRIDGE is not enabled?)"
built=$(find "${BUILD_DIR}" -maxdepth 3 -path "${BUILD_DIR}/sebridge-*/dist/sebridge-linux-*" -type f | head -n 1)
[ -n "$built" ] || die "the sebridge package's copy of the executable is not in ${BUILD_DIR}/sebridge-*/dist/"
[ "$(sha256sum < "$exe")" = "$(sha256sum < "$built")" ] ||
	die "${exe} differs from ${built}: was it stripped? (BR2_STRIP_EXCLUDE_FILES must name sebridge)"

# rootfs/README.md documents the overlay; it is not part of the root (scripts/image/ leaves it out too).
rm -f "${TARGET}/README.md"

# Mount points of the read-only root (the squashfs cannot grow them at run time), and the writable places moved
# to the RAM disk, as scripts/image/ lays out its root: logs in /run/log, OpenNTPD's drift file under
# /run/openntpd (Buildroot's OpenNTPD keeps it in /var/db; its privilege-separation chroot is /var/empty).
mkdir -p "${TARGET}/data" "${TARGET}/var/empty" "${TARGET}/etc/sebridge/firmware-keys"
chmod 0755 "${TARGET}/var/empty"
for l in var/log:../run/log var/db:../run/openntpd/db; do
	rm -rf "${TARGET:?}/${l%%:*}"
	ln -s "${l#*:}" "${TARGET}/${l%%:*}"
done

# What this build is (the same fields as scripts/image/'s build-info). The firmware file made from this root
# records the same version and kernel release (docs/firmware.md).
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$(dirname "$built")/../package.json" | head -n 1)
[ -n "$version" ] || die "no version in the sebridge package's package.json"
release=$(find "${BUILD_DIR}" -maxdepth 4 -path "${BUILD_DIR}/linux-*/include/config/kernel.release" -type f | head -n 1)
[ -n "$release" ] || die "no include/config/kernel.release in ${BUILD_DIR}/linux-*: is the kernel built?"
case "$(od -An -tu1 -j18 -N1 "$exe" | tr -d ' ')" in
183) arch=aarch64 ;;
62) arch=x86_64 ;;
*) die "${exe}: neither an x86_64 nor an aarch64 ELF file" ;;
esac
echo "$version" > "${TARGET}/etc/sebridge/version"

# Trusted firmware signing key: SEBRIDGE_FIRMWARE_PUBKEY in make's environment names a PEM (SPKI) Ed25519 public
# key. Without one the image trusts no firmware file, so every upgrade is refused until a key is installed.
rm -f "${TARGET}/etc/sebridge/firmware-keys/release.pub"
if [ -n "${SEBRIDGE_FIRMWARE_PUBKEY:-}" ]; then
	grep -q -- '-----BEGIN PUBLIC KEY-----' "${SEBRIDGE_FIRMWARE_PUBKEY}" ||
		die "SEBRIDGE_FIRMWARE_PUBKEY=${SEBRIDGE_FIRMWARE_PUBKEY} is not a PEM public key"
	install -m 0644 "${SEBRIDGE_FIRMWARE_PUBKEY}" "${TARGET}/etc/sebridge/firmware-keys/release.pub"
	keynote="release ($(basename "${SEBRIDGE_FIRMWARE_PUBKEY}"))"
else
	keynote="none (SEBRIDGE_FIRMWARE_PUBKEY was not set: every firmware upgrade is refused)"
	echo "sebridge post-build: WARNING: SEBRIDGE_FIRMWARE_PUBKEY is not set: this image will refuse every firmware upgrade" >&2
fi
{
	echo "VERSION=${version}"
	echo "ARCH=${arch}"
	echo "KERNEL=$(cat "$release")"
	echo "BUILDROOT=${BR2_VERSION_FULL:-?}"
	echo "BOARD=$(basename "$2")"
	echo "SIGNING_KEY=${keynote}"
} > "${TARGET}/etc/sebridge/build-info"
