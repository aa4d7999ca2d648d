#!/bin/sh
# The soak, in the guest (make bench; tests/guest/bench.sh runs it): one
# emulated DFU 1.1 device (serial SOAK, wTransferSize
# DFU_SOAK_TRANSFER_SIZE, default 4096, bwPollTimeout 0) bound by dfu.ko,
# flashed back to back with `cat IMAGE > /dev/dfuN`: DFU_SOAK_SMALL times
# (default 1000) a random 64 KiB image, then DFU_SOAK_LARGE times (default
# 100) a random 16 MiB one (DFU_SOAK_LARGE_BYTES). Every flash is verified:
# the device's --out, removed before each flash and rewritten by the
# emulator at each manifestation, equals the image byte for byte; a failed
# cat or a wrong or missing image fails the script (exit 1).
# The driver's memory: before the first flash, after it, after every
# DFU_SOAK_EVERY_SMALL-th (100) / DFU_SOAK_EVERY_LARGE-th (10) and after
# the last, the kernel's kmalloc caches (every cache dfu.ko allocates from:
# kzalloc/kmalloc/kcalloc and the URB; per open only its 88-byte stream,
# kmalloc-96) are shrunk (/sys/kernel/slab/kmalloc-*/shrink, so that the
# per-CPU slabs do not hide objects) and their active objects and bytes
# (/proc/slabinfo: objects x object size) and /proc/meminfo's SUnreclaim
# are recorded. Flat: from the sample after EVERY flashes (the caches have
# warmed up by then) to the last, the kmalloc objects grew by fewer than
# half the flashes in between (a leak of one object per flash fails it).
# Printed PASS/FAIL with the caches that changed; it does not fail the run.
# SUnreclaim is printed, not judged: it also holds vmap_area, which grows by
# about 300 KB over 1000 small flashes with the processes the loop forks
# (vmalloc'd kernel stacks, purged lazily); dfu.ko uses no vmalloc.
# Prints "bench: soak ..." lines, the caches that grew, and a JSON object
# written to /tmp/bench-soak.json and printed as one line
# "bench: soak-json {...}" for the host to take from the serial log.
# Needs in /payload: dfu-emu, dfu.ko (loaded and unloaded here).
set -eu
cd /payload
small=${DFU_SOAK_SMALL:-1000}
large=${DFU_SOAK_LARGE:-100}
small_bytes=${DFU_SOAK_SMALL_BYTES:-65536}
large_bytes=${DFU_SOAK_LARGE_BYTES:-16777216}
every_small=${DFU_SOAK_EVERY_SMALL:-100}
every_large=${DFU_SOAK_EVERY_LARGE:-10}
xfer=${DFU_SOAK_TRANSFER_SIZE:-4096}
d=/tmp/soak
emu=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
die() { echo "bench: soak: $*" >&2; exit 1; }
cleanup() {
	[ -z "$emu" ] || { kill "$emu" 2>/dev/null || true; wait "$emu" 2>/dev/null || true; }
	emu=
}
trap cleanup EXIT

rm -rf $d
mkdir -p $d
head -c "$small_bytes" /dev/urandom >$d/small
head -c "$large_bytes" /dev/urandom >$d/large
mem=$((large_bytes > small_bytes ? large_bytes : small_bytes))
./dfu-emu --serial SOAK --transfer-size "$xfer" --mem-size "$mem" \
	--out $d/out --ready $d/ready 2>$d/emu.err &
emu=$!
n=0
until [ -e $d/ready ]; do
	n=$((n + 1))
	[ $n -lt 1000 ] || die "the emulated device did not appear"
	sleep 0.01
done
insmod ./dfu.ko
n=0
until node=/dev/$(ls /sys/bus/usb/drivers/dfu/*/dfu 2>/dev/null) && [ -c "$node" ]; do
	n=$((n + 1))
	[ $n -lt 1000 ] || die "no /dev/dfuN"
	sleep 0.01
done

# sample FILE: "cache objects bytes" per kmalloc cache, then "SUnreclaim KB".
# SLUB counts the free objects of the slabs a CPU holds as active, and the
# reading itself allocates, so the counts run high by up to a slab or two
# per cache: each is the least of three readings, each after a shrink.
sample() {
	for t in 1 2 3; do
		for f in /sys/kernel/slab/kmalloc-*/shrink; do
			if [ -w "$f" ]; then echo 1 >"$f" 2>/dev/null || true; fi
		done
		awk '$1 ~ /^kmalloc-/ { print $1, $2, $2 * $4 }' /proc/slabinfo >"$1.$t"
	done
	awk '!($1 in o) || $2 < o[$1] { o[$1] = $2; b[$1] = $3 }
		END { for (k in o) print k, o[k], b[k] }' "$1.1" "$1.2" "$1.3" | sort >"$1"
	rm -f "$1.1" "$1.2" "$1.3"
	awk '$1 == "SUnreclaim:" { print "SUnreclaim", $2 }' /proc/meminfo >>"$1"
	# every cache, for the ones that grew most (SUnreclaim)
	awk 'NR > 2 { print $1, $2, $2 * $4 }' /proc/slabinfo >"$1.all"
}
# grew NAME FROM TO: the five caches of all whose bytes grew most, if by
# more than 16 KiB
grew() {
	awk 'NR == FNR { a[$1] = $3; next } $3 - a[$1] > 16384 { print $3 - a[$1], $1, a[$1], $3 }' \
		"$2.all" "$3.all" | sort -rn | head -5 |
	while read -r g c f t; do
		echo "bench: soak $1 grew: cache $c $f -> $t bytes (+$g)"
	done
}
# totals FILE: "objects bytes sunreclaim_kb"
totals() {
	awk '$1 == "SUnreclaim" { k = $2; next } { o += $2; b += $3 } END { print o + 0, b + 0, k + 0 }' "$1"
}
# changed NAME FROM TO: the caches whose objects changed
changed() {
	awk -v name="$1" 'NR == FNR { a[$1] = $2; next }
		$1 != "SUnreclaim" && $2 != a[$1] { printf "bench: soak %s cache %s %d -> %d objects\n", name, $1, a[$1], $2 }' \
		"$2" "$3"
}

# phase NAME IMAGE COUNT EVERY
# Samples: before the first flash (B), after the first (F), after every
# EVERY-th and after the last (L). Flat: from the first sample after
# EVERY flashes (W; F when that is L), when slab caches have warmed
# up, to L, the kmalloc objects grew by fewer than half the flashes in
# between (and F -> L is printed too).
phase() {
	name=$1 img=$2 count=$3 every=$4
	bytes=$(stat -c %s "$img")
	sample "$d/$name.before"
	files=
	t0=$(now_ms)
	i=0
	while [ "$i" -lt "$count" ]; do
		i=$((i + 1))
		rm -f $d/out
		cat "$img" >"$node" || die "$name flash $i: cat failed"
		[ -e $d/out ] || die "$name flash $i: no image manifested (no --out)"
		cmp -s "$img" $d/out || die "$name flash $i: the device's image differs from the one sent"
		if [ "$i" -eq 1 ] || [ $((i % every)) -eq 0 ] || [ "$i" -eq "$count" ]; then
			sample "$d/$name.$i"
			files="$files $i"
			# shellcheck disable=SC2046 # three numbers
			set -- $(totals "$d/$name.$i")
			echo "bench: soak $name after $i: kmalloc $1 objects $2 bytes, SUnreclaim $3 kB, $(( $(now_ms) - t0 )) ms"
		fi
	done
	ms=$(( $(now_ms) - t0 ))
	warm=1
	for f in $files; do
		if [ "$f" -ge "$every" ] && [ "$f" -lt "$count" ]; then warm=$f; break; fi
	done
	# shellcheck disable=SC2046 # three numbers
	set -- $(totals "$d/$name.1")
	fo=$1 fb=$2 fk=$3
	# shellcheck disable=SC2046
	set -- $(totals "$d/$name.$warm")
	wo=$1
	# shellcheck disable=SC2046
	set -- $(totals "$d/$name.$count")
	lo=$1 lb=$2 lk=$3
	go=$((lo - wo))
	if [ $((go * 2)) -lt $((count - warm)) ] || [ "$go" -le 0 ]; then flat=PASS; else flat=FAIL; fi
	echo "bench: soak $name: $count flashes of $bytes bytes, each verified, in $ms ms ($((ms / count)) ms each, $((bytes * count * 1000 / 1024 / (ms + 1))) KiB/s)"
	echo "bench: soak $name memory: kmalloc objects $fo after the first flash, $lo after the last ($((lo - fo))), bytes $fb -> $lb ($((lb - fb))), SUnreclaim $fk -> $lk kB"
	echo "bench: soak $name flat: kmalloc objects after flash $warm $wo, after flash $count $lo: $go (want under $(( (count - warm) / 2 ))): $flat"
	changed "$name" "$d/$name.1" "$d/$name.$count"
	grew "$name" "$d/$name.1" "$d/$name.$count"
	# shellcheck disable=SC2046
	set -- $(totals "$d/$name.before")
	js="\"$name\":{\"count\":$count,\"image_bytes\":$bytes,\"ms\":$ms,\"ms_per_flash\":$((ms / count)),"
	js="$js\"before\":{\"kmalloc_objs\":$1,\"kmalloc_bytes\":$2,\"sunreclaim_kb\":$3},\"samples\":["
	sep=
	for f in $files; do
		# shellcheck disable=SC2046
		set -- $(totals "$d/$name.$f")
		js="$js$sep{\"after\":$f,\"kmalloc_objs\":$1,\"kmalloc_bytes\":$2,\"sunreclaim_kb\":$3}"
		sep=,
	done
	js="$js],\"growth_objs_first_last\":$((lo - fo)),\"growth_bytes_first_last\":$((lb - fb)),"
	js="$js\"warm_after\":$warm,\"growth_objs_warm_last\":$go,\"flat\":$([ $flat = PASS ] && echo true || echo false)}"
	echo "$js" >"$d/$name.json"
}

tstart=$(now_ms)
[ "$small" -le 0 ] || phase small $d/small "$small" "$every_small"
[ "$large" -le 0 ] || phase large $d/large "$large" "$every_large"
cleanup
rmmod dfu
total=$(( $(now_ms) - tstart ))
js="{\"transfer_size\":$xfer,\"total_ms\":$total"
for p in small large; do
	[ ! -e $d/$p.json ] || js="$js,$(cat $d/$p.json)"
done
echo "$js}" >/tmp/bench-soak.json
echo "bench: soak took $total ms"
echo "bench: soak-json $(cat /tmp/bench-soak.json)"
