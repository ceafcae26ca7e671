#!/bin/sh
# /init of sebridge's initrd (busybox-static): load the drivers that reach the disk, pick the boot slot
# (docs/firmware.md: /data/boot/active and the one-shot /data/boot/try), mount that slot's squashfs read-only and
# switch to it. Everything that can fail falls back to something that boots; nothing here waits longer than needed.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
exec </dev/console >/dev/console 2>&1

say() { echo "initrd: $*"; }
rescue() {
  say "FATAL: $*"
  say "dropping to a shell on the console (the box cannot boot its system)"
  exec sh
}

# Drivers and file systems, in the order the build resolved them through modules.dep; the rarer disk controllers
# (IDE, USB, SD/eMMC) only when the disk is not there after the common ones.
load() {
  [ -r "$1" ] || return 0 # an initrd built without that list (Buildroot's kernels have the drivers built in)
  while read -r m; do
    [ -n "$m" ] && modprobe -q "$m" 2>/dev/null
  done < "$1"
}
load /etc/initrd-modules

# The disk: the partition labelled SEBOOT (FAT) or SEDATA (ext4). Block devices appear asynchronously.
disk_of() { # /dev/vda1 -> /dev/vda, /dev/nvme0n1p1 -> /dev/nvme0n1p, /dev/mmcblk0p1 -> /dev/mmcblk0p
  echo "$1" | sed -e 's/[0-9]*$//'
}
DISK=
i=0
while [ $i -lt 100 ]; do
  [ $i = 10 ] && load /etc/initrd-modules-late
  for label in SEBOOT SEDATA; do
    dev=$(findfs "LABEL=$label" 2>/dev/null) || continue
    base=$(disk_of "$dev")
    [ -b "${base}2" ] && [ -b "${base}4" ] && DISK=$base && break 2
  done
  i=$((i + 1))
  sleep 0.1
done
[ -n "$DISK" ] || rescue "no disk with a SEBOOT or SEDATA partition after 10 s (block devices: $(ls /sys/class/block | tr '\n' ' '))"
DATA_DEV=${DISK}4
dev_of_slot() { if [ "$1" = b ]; then echo "${DISK}3"; else echo "${DISK}2"; fi; }
other() { if [ "$1" = b ]; then echo a; else echo b; fi; }
valid_slot() { [ "$1" = a ] || [ "$1" = b ]; }

# Slot state. The data partition may be dirty (power cut): mounting replays its journal. If it cannot be mounted
# at all, boot slot a; the system's own start-up then checks, repairs or re-makes the partition.
ACTIVE=a
TRY=
mkdir -p /data
if mount -t ext4 -o noatime,nodev,nosuid,noexec "$DATA_DEV" /data 2>/dev/null; then
  a=$(cat /data/boot/active 2>/dev/null | tr -d ' \n')
  valid_slot "$a" && ACTIVE=$a
  t=$(cat /data/boot/try 2>/dev/null | tr -d ' \n')
  if [ -e /data/boot/try ]; then
    # One shot: gone from the disk before the tried slot runs, so a slot that never comes up is not tried again.
    rm -f /data/boot/try
    sync
    valid_slot "$t" && TRY=$t
    [ -n "$TRY" ] || say "ignoring /data/boot/try with invalid contents"
  fi
  umount /data || rescue "cannot unmount the data partition"
else
  say "WARNING: data partition $DATA_DEV cannot be mounted: booting slot $ACTIVE"
fi

SLOT=${TRY:-$ACTIVE}
TRIAL=0
[ -n "$TRY" ] && [ "$TRY" != "$ACTIVE" ] && TRIAL=1
mkdir -p /newroot
booted=
for s in "$SLOT" "$ACTIVE" "$(other "$ACTIVE")"; do
  dev=$(dev_of_slot "$s")
  if mount -t squashfs -o ro "$dev" /newroot 2>/dev/null && [ -x /newroot/sbin/init ]; then
    booted=$s
    break
  fi
  umount /newroot 2>/dev/null
  say "WARNING: slot $s ($dev) has no usable system"
done
[ -n "$booted" ] || rescue "neither slot holds a usable system"
if [ "$booted" != "$SLOT" ]; then
  say "WARNING: slot $SLOT did not mount; booted slot $booted instead"
  TRIAL=0
fi
say "booting slot $booted$( [ $TRIAL = 1 ] && echo ' (trial: once)') at $(cut -d' ' -f1 /proc/uptime) s"

mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m tmpfs /newroot/run
cat > /newroot/run/sebridge-boot.env <<ENV
SLOT=$booted
ACTIVE=$ACTIVE
TRIAL=$TRIAL
SLOT_DEV=$(dev_of_slot "$booted")
OTHER_DEV=$(dev_of_slot "$(other "$booted")")
DATA_DEV=$DATA_DEV
BOOT_DEV=${DISK}1
ENV
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot /sbin/init
