#!/bin/sh
# The demo, in the guest: flash a real firmware image with cat, read it back.
set -eu
image=/payload/images/u-boot.bin
insmod ./dfu.ko
./dfu-emu --serial DEMO --transfer-size 4096 --out /tmp/device-image \
	--stats /tmp/device-stats --poll-ms 1 &
emu=$!
n=0
until node=$(grep -l '^DEMO$' /sys/class/dfu/dfu*/device/../serial 2>/dev/null); do
	n=$((n + 1))
	[ $n -lt 1000 ] || { echo "demo: the emulated device did not appear" >&2; exit 1; }
	sleep 0.01
done
node=/dev/$(echo "$node" | cut -d/ -f5)
size=$(stat -c %s "$image")
echo "demo: emulated DFU device at $node: $(cat /sys/class/dfu/${node#/dev/}/transfer_size) bytes per block"
echo "demo: cat $image > $node"
t0=$(date +%s%N)
cat "$image" > "$node"
t1=$(date +%s%N)
echo "demo: cat $node > /tmp/backup.bin"
cat "$node" > /tmp/backup.bin
t2=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
ums=$(( (t2 - t1) / 1000000 ))
echo "demo: flashed $size bytes in $ms ms ($(( size * 1000 / (ms > 0 ? ms : 1) / 1024 )) KiB/s)," \
	"read back in $ums ms ($(( size * 1000 / (ums > 0 ? ums : 1) / 1024 )) KiB/s)"
echo "demo: device reports: $(cat /sys/class/dfu/${node#/dev/}/last_result)"
cmp "$image" /tmp/device-image
cmp "$image" /tmp/backup.bin
echo "demo: $(sha256sum < "$image" | cut -c1-16)... verified: the device holds the image byte for byte, and the read-back matches"
kill $emu
wait $emu || true
rmmod dfu
