################################################################################
#
# sebridge
#
################################################################################

# The single executable that `npm run pkg` (scripts/pkg.ts) builds in the
# checkout this br2-external tree lives in: Node.js 26, the bundled app, the
# web UI and the C addon in one ELF file. Its inputs come from the npm
# registry only, pinned by package-lock.json and by the sha512 integrity of
# the Node.js packages in scripts/pkg.ts; nothing is downloaded here (local
# site method), so there is no tarball hash to check (see sebridge.hash).
# Keep the version in step with package.json (test/buildroot checks it).
SEBRIDGE_VERSION = 0.1.0
SEBRIDGE_SITE = $(BR2_EXTERNAL_SEBRIDGE_PATH)/..
SEBRIDGE_SITE_METHOD = local
SEBRIDGE_LICENSE = Apache-2.0 (sebridge), MIT (Node.js and bundled npm packages)

ifeq ($(BR2_aarch64),y)
SEBRIDGE_EXE_ARCH = arm64
SEBRIDGE_ELF_MACHINE = 183
else ifeq ($(BR2_x86_64),y)
SEBRIDGE_EXE_ARCH = x64
SEBRIDGE_ELF_MACHINE = 62
endif

SEBRIDGE_EXE = dist/sebridge-linux-$(SEBRIDGE_EXE_ARCH)

# Copy only the executable for this architecture and package.json (the
# version), not the whole checkout with its node_modules.
SEBRIDGE_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--include=/dist/ \
	--include=/$(SEBRIDGE_EXE) \
	--include=/package.json \
	--exclude='*'

# Strip breaks the executable: the stripped file no longer finds the app
# inside it (README.md, "Single executable"). Refuse a configuration that
# would strip it rather than produce an image whose daemon never starts.
ifeq ($(BR2_PACKAGE_SEBRIDGE)$(BR2_STRIP_strip),yy)
ifeq ($(filter sebridge,$(call qstrip,$(BR2_STRIP_EXCLUDE_FILES))),)
$(error sebridge: add "sebridge" to BR2_STRIP_EXCLUDE_FILES, strip breaks the single executable)
endif
endif

# The file must exist, be an ELF file for the target's machine and carry an
# app (the SEA fuse Node's --build-sea flips).
define SEBRIDGE_BUILD_CMDS
	@test -f $(@D)/$(SEBRIDGE_EXE) || { \
		echo "sebridge: $(SEBRIDGE_SITE)/$(SEBRIDGE_EXE) is missing:" \
			"run 'npm ci && npm run pkg -- --arch $(SEBRIDGE_EXE_ARCH)'" \
			"in the sebridge checkout first"; \
		exit 1; }
	@test "$$(od -An -tx1 -N4 $(@D)/$(SEBRIDGE_EXE) | tr -d ' \n')" = 7f454c46 || { \
		echo "sebridge: $(SEBRIDGE_EXE) is not an ELF file"; exit 1; }
	@test "$$(od -An -tu1 -j18 -N1 $(@D)/$(SEBRIDGE_EXE) | tr -d ' \n')" = $(SEBRIDGE_ELF_MACHINE) || { \
		echo "sebridge: $(SEBRIDGE_EXE) is not built for $(SEBRIDGE_EXE_ARCH)" \
			"(ELF machine $(SEBRIDGE_ELF_MACHINE) expected)"; exit 1; }
	@grep -q -a 'NODE_SEA_FUSE_[0-9a-f]*:1' $(@D)/$(SEBRIDGE_EXE) || { \
		echo "sebridge: $(SEBRIDGE_EXE) is a plain node binary without the app"; exit 1; }
endef

define SEBRIDGE_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/$(SEBRIDGE_EXE) $(TARGET_DIR)/usr/bin/sebridge
endef

$(eval $(generic-package))
