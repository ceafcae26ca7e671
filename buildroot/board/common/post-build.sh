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

# Mount points of the read-only root (the squashfs cannot grow them at run time). Logs live on the RAM disk.
mkdir -p "${TARGET}/data"
rm -rf "${TARGET}/var/log"
ln -s ../run/log "${TARGET}/var/log"

# What this build is. The firmware file records the same version; the daemon shows it.
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$(dirname "$built")/../package.json" | head -n 1)
[ -n "$version" ] || die "no version in the sebridge package's package.json"
mkdir -p "${TARGET}/etc/sebridge/firmware-keys"
echo "$version" > "${TARGET}/etc/sebridge/version"

# Trusted firmware signing key(s): SEBRIDGE_FIRMWARE_PUBKEY in make's environment names a PEM (SPKI) public key.
# Without one the image trusts no firmware file, so every upgrade is refused until a key is installed.
keynote="firmware signing key: none (upgrades are refused)"
if [ -n "${SEBRIDGE_FIRMWARE_PUBKEY:-}" ]; then
	grep -q -- '-----BEGIN PUBLIC KEY-----' "${SEBRIDGE_FIRMWARE_PUBKEY}" ||
		die "SEBRIDGE_FIRMWARE_PUBKEY=${SEBRIDGE_FIRMWARE_PUBKEY} is not a PEM public key"
	install -m 0644 "${SEBRIDGE_FIRMWARE_PUBKEY}" "${TARGET}/etc/sebridge/firmware-keys/release.pub"
	keynote="firmware signing key: $(basename "${SEBRIDGE_FIRMWARE_PUBKEY}")"
else
	echo "sebridge post-build: WARNING: SEBRIDGE_FIRMWARE_PUBKEY is not set: this image will refuse every firmware upgrade" >&2
fi
{
	echo "sebridge ${version}"
	echo "built by Buildroot ${BR2_VERSION_FULL:-?}, board $(basename "$2")"
	echo "$keynote"
} > "${TARGET}/etc/sebridge/build-info"
