# make bench: the figures of the guest's "bench: ..." lines (tests/guest/
# bench.sh), as tables on stdout and as JSON in the file -v json=FILE.
# Medians of the runs. Other variables: -v git=COMMIT -v date=DATE.
# For each row (op, wTransferSize, poll ms):
#   floor     download: the floor loop's time without any waiting (poll 0),
#             or its requests (the --wait loop's time minus its sleeps) plus
#             the sum of the bwPollTimeouts the device asked for (poll > 0);
#             upload: the floor loop's time
#   dfu.ko*   dfu.ko's time minus what starting cat costs (cat-start)
#   ratio*    floor / dfu.ko*, goal >= 0.97; ratio: floor / dfu.ko
#   over/blk  (dfu.ko* - floor) / blocks, against the overshoot of an
#             hrtimer sleep of poll ms (0 for poll 0), goal within 0.1 ms
#   CPU       user + system ms per MiB of the tool and its children
#             (getrusage), goal dfu.ko <= half of dfu-util's
function median(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	if (!n)
		return -1
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return a[int((n + 1) / 2)] + 0
}
# kv(NAME): the value of NAME=VALUE in this line
function kv(k,   i) {
	for (i = 1; i <= NF; i++)
		if (index($i, k "=") == 1)
			return substr($i, length(k) + 2)
	return ""
}
function add(k, v) { V[k] = V[k] " " v }
function q(s) { gsub(/["\\]/, "\\\\&", s); return "\"" s "\"" }
function num(x) { return sprintf("%.3f", x) + 0 }
{ sub(/\r$/, "") }
!/^bench: / { next }
{ $0 = substr($0, 8) }
$1 == "cpu" {
	k = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5
	if ($3 != "none") rows[$3 SUBSEP $4 SUBSEP $5] = 1
	add(k SUBSEP "wall", kv("wall_us") / 1000)
	add(k SUBSEP "user", kv("user_us") / 1000)
	add(k SUBSEP "sys", kv("sys_us") / 1000)
	next
}
$1 == "floor" || $1 == "floor-wait" {
	k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
	rows[$2 SUBSEP $3 SUBSEP $4] = 1
	add(k SUBSEP "total", kv("total_us") / 1000)
	add(k SUBSEP "xfer", (kv("total_us") - kv("slept_us")) / 1000)
	add(k SUBSEP "poll", kv("poll_ms"))
	add(k SUBSEP "early", kv("early"))
	add(k SUBSEP "requests", kv("requests"))
	blocks[$2 SUBSEP $3 SUBSEP $4] = kv("blocks")
	bytes[$2 SUBSEP $3 SUBSEP $4] = kv("bytes")
	next
}
$1 == "hrtimer" { hr_med[$2] = kv("median_us") / 1000; hr_p90[$2] = kv("p90_us") / 1000; next }
$1 == "mem-device" { add("memdev", kv("live_bytes")); add("memdrv", kv("driver_bytes")); memsites = kv("sites"); memxfer = kv("xfer"); next }
$1 == "mem-big" { for (i = 2; i <= NF; i++) { split($i, f, "="); big[f[1]] = f[2] } ; next }
$1 == "image" { image = $2; runs = $4; next }
$1 == "dfuse" { k = $3 SUBSEP $4; drows[k] = 1; add("dfuse" SUBSEP $2 SUBSEP k, $5); next }
$1 == "dfuse-stats" { dbusy[$3 SUBSEP $4] = kv("busy_ms") + 0; next }
END {
	cs_wall = median(V["cat-start" SUBSEP "none" SUBSEP 0 SUBSEP 0 SUBSEP "wall"])
	cs_cpu = median(V["cat-start" SUBSEP "none" SUBSEP 0 SUBSEP 0 SUBSEP "user"]) + \
		 median(V["cat-start" SUBSEP "none" SUBSEP 0 SUBSEP 0 SUBSEP "sys"])
	cs_n = cs_wall >= 0
	if (!cs_n) { cs_wall = 0; cs_cpu = 0 }
	n = 0
	for (r in rows) {
		split(r, f, SUBSEP)
		o[++n] = r
		sk[r] = sprintf("%s %06d %06d", f[1], 999999 - f[2], f[3])
	}
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (sk[o[j]] < sk[o[i]]) { t = o[i]; o[i] = o[j]; o[j] = t }
	if (n)
		printf "%-9s %6s %5s %9s %9s %9s %9s %7s %7s %5s %9s %8s %5s\n", "vs floor", "xfer", "poll",
			"floor ms", "dfu.ko ms", "dfu.ko*", "dfu-util", "ratio", "ratio*", "goal",
			"over/blk", "hrtimer", "goal"
	for (i = 1; i <= n; i++) {
		split(o[i], f, SUBSEP); op = f[1]; x = f[2]; p = f[3]; r = o[i]
		ko = median(V["dfu.ko" SUBSEP r SUBSEP "wall"])
		ut = median(V["dfu-util" SUBSEP r SUBSEP "wall"])
		fl = median(V["floor" SUBSEP r SUBSEP "total"])
		early = median(V["floor" SUBSEP r SUBSEP "early"])
		fw = fx = fp = -1
		if (op == "download" && p > 0 && V["floor-wait" SUBSEP r SUBSEP "total"] != "") {
			fw = median(V["floor-wait" SUBSEP r SUBSEP "total"])
			fx = median(V["floor-wait" SUBSEP r SUBSEP "xfer"])
			fp = median(V["floor-wait" SUBSEP r SUBSEP "poll"])
			ref = fx + fp
		} else
			ref = fl
		kon = ko >= 0 ? ko - cs_wall : -1
		hr = p > 0 ? (p in hr_med ? hr_med[p] : -1) : 0
		ratio = ko > 0 ? ref / ko : -1
		ration = kon > 0 ? ref / kon : -1
		g1 = ration < 0 ? "-" : (ration >= 0.97 ? "PASS" : "FAIL")
		ovh = (op == "download" && kon > 0 && blocks[r] > 0) ? (kon - ref) / blocks[r] : -1
		g2 = (ovh == -1 || hr < 0) ? "-" : (ovh <= hr + 0.1 ? "PASS" : "FAIL")
		mib = (bytes[r] > 0 ? bytes[r] : image) / 1048576
		cpu_ko = median(V["dfu.ko" SUBSEP r SUBSEP "user"]) + median(V["dfu.ko" SUBSEP r SUBSEP "sys"])
		cpu_ut = median(V["dfu-util" SUBSEP r SUBSEP "user"]) + median(V["dfu-util" SUBSEP r SUBSEP "sys"])
		printf "%-9s %6d %5d %9.1f %9.1f %9.1f %9.1f %7.3f %7.3f %5s", op, x, p, ref, ko, kon, ut,
			ratio, ration, g1
		if (ovh != -1)
			printf " %9.3f %8.3f %5s", ovh, hr, g2
		printf "\n"
		J[i] = sprintf("{\"op\":%s,\"xfer\":%d,\"poll_ms\":%d,\"blocks\":%d,\"bytes\":%d," \
			"\"floor_ms\":%s,\"floor_nowait_ms\":%s,\"floor_early_polls\":%s,\"floor_wait_ms\":%s," \
			"\"floor_requests_ms\":%s,\"poll_sum_ms\":%s,\"dfu_ko_ms\":%s,\"dfu_ko_net_ms\":%s," \
			"\"dfu_util_ms\":%s,\"ratio\":%s,\"ratio_net\":%s,\"ratio_goal\":%s," \
			"\"overhead_per_block_ms\":%s,\"hrtimer_overshoot_ms\":%s,\"overhead_goal\":%s," \
			"\"ms_per_mib\":{\"floor\":%s,\"dfu_ko\":%s,\"dfu_util\":%s}," \
			"\"cpu_ms_per_mib\":{\"dfu_ko\":{\"user\":%s,\"sys\":%s},\"dfu_util\":{\"user\":%s,\"sys\":%s}," \
			"\"ratio\":%s,\"goal\":%s}}",
			q(op), x, p, blocks[r], bytes[r], num(ref), num(fl), early, num(fw), num(fx), num(fp),
			num(ko), num(kon), num(ut), num(ratio), num(ration), q(g1), num(ovh), num(hr), q(g2),
			num(ref / mib), num(ko / mib), num(ut / mib),
			num(median(V["dfu.ko" SUBSEP r SUBSEP "user"]) / mib),
			num(median(V["dfu.ko" SUBSEP r SUBSEP "sys"]) / mib),
			num(median(V["dfu-util" SUBSEP r SUBSEP "user"]) / mib),
			num(median(V["dfu-util" SUBSEP r SUBSEP "sys"]) / mib),
			num(cpu_ut > 0 ? cpu_ko / cpu_ut : -1),
			q(cpu_ut > 0 ? (cpu_ko <= cpu_ut / 2 ? "PASS" : "FAIL") : "-"))
		C[i] = sprintf("%-9s %6d %5d %9.1f %9.1f %9.1f %9.1f %9.1f %7.2f  %s", op, x, p,
			median(V["dfu.ko" SUBSEP r SUBSEP "user"]) / mib, median(V["dfu.ko" SUBSEP r SUBSEP "sys"]) / mib,
			median(V["dfu-util" SUBSEP r SUBSEP "user"]) / mib, median(V["dfu-util" SUBSEP r SUBSEP "sys"]) / mib,
			(cpu_ko - cs_cpu) / mib, cpu_ut > 0 ? cpu_ko / cpu_ut : -1,
			cpu_ut > 0 ? (cpu_ko <= cpu_ut / 2 ? "PASS" : "FAIL") : "-")
	}
	if (n) {
		print "floor: download, poll 0: the floor loop, no waiting; poll > 0: its requests (timed with each"
		print "  bwPollTimeout slept, minus the sleeps) + the bwPollTimeouts asked for; upload: the floor loop"
		print "dfu.ko*: dfu.ko minus cat's start-up; ratio* = floor / dfu.ko*, goal >= 0.97;"
		print "  over/blk = (dfu.ko* - floor) / blocks, goal <= the hrtimer overshoot + 0.1 ms"
	}
	if (cs_n)
		printf "cat-start: starting cat costs %.1f ms and %.1f ms of CPU (median of 5; in dfu.ko, not in floor)\n", cs_wall, cs_cpu
	for (p in hr_med)
		printf "hrtimer: a %d ms sleep wakes %.3f ms late (median; 90%%: %.3f ms)\n", p, hr_med[p], hr_p90[p]
	if (n) {
		print ""
		printf "%-9s %6s %5s %9s %9s %9s %9s %9s %7s  %s\n", "CPU/MiB", "xfer", "poll",
			"dfu.ko u", "dfu.ko s", "util u", "util s", "dfu.ko-st", "ratio", "goal <= 0.5"
		print "(ms of CPU per MiB, user and system, of the tool and its children; dfu.ko-st: without cat's start-up)"
	}
	for (i = 1; i <= n; i++)
		print C[i]
	md = median(V["memdev"]); mdd = median(V["memdrv"])
	if (md >= 0)
		printf "\nmemory: one device (wTransferSize %d) costs dfu.ko %d bytes (kmalloc, URB), %d with its device and sysfs files: %s\n", memxfer, mdd, md, memsites
	if ("bytes" in big) {
		grow = big["slab_max"] - big["slab_before"]
		printf "memory: a %d-byte image (blocks of %d) in %.1f s; slab in use before %d, max %d, after %d bytes (+%d): %s\n",
			big["bytes"], big["xfer"], big["ms"] / 1000, big["slab_before"], big["slab_max"],
			big["slab_after"], grow, grow < 262144 ? "PASS (flat)" : "FAIL (grows)"
	}
	printf "{\"version\":1,\"git\":%s,\"date\":%s,\"image_bytes\":%d,\"runs\":%d,", q(git), q(date), image, runs >json
	printf "\"cat_start\":{\"wall_ms\":%s,\"cpu_ms\":%s},\"rows\":[", num(cs_wall), num(cs_cpu) >json
	for (i = 1; i <= n; i++)
		printf "%s%s", (i > 1 ? "," : ""), J[i] >json
	printf "],\"hrtimer\":{" >json
	sep = ""
	for (p in hr_med) {
		printf "%s\"%d\":{\"median_ms\":%s,\"p90_ms\":%s}", sep, p, num(hr_med[p]), num(hr_p90[p]) >json
		sep = ","
	}
	printf "},\"memory\":{" >json
	if (md >= 0)
		printf "\"per_device_driver_bytes\":%d,\"per_device_bytes\":%d,\"per_device_xfer\":%d,\"per_device_sites\":%s", mdd, md, memxfer, q(memsites) >json
	if ("bytes" in big) {
		printf "%s\"big\":{", (md >= 0 ? "," : "") >json
		sep = ""
		for (k in big) { printf "%s%s:%s", sep, q(k), big[k] + 0 >json; sep = "," }
		printf ",\"growth_bytes\":%d,\"goal\":%s}", grow, q(grow < 262144 ? "PASS" : "FAIL") >json
	}
	printf "},\"dfuse\":[" >json
	sep = ""
	for (k in drows) {
		split(k, f, SUBSEP)
		printf "%s{\"op\":%s,\"bytes\":%d,\"dfu_util_ms\":%s,\"dfu_ko_ms\":%s,\"busy_ms\":%d}", sep, q(f[1]), f[2],
			median(V["dfuse" SUBSEP "dfu-util" SUBSEP k]), median(V["dfuse" SUBSEP "dfu.ko" SUBSEP k]), dbusy[k] >json
		sep = ","
	}
	printf "]}\n" >json
}
