# The allocator abstractions (issue: safe Rust abstractions): the report at
# load, address hiding, the module's slab cache in /proc/slabinfo, and that
# load/unload cycles leak nothing.
. ./lib.sh
ktap_plan 20

mark_log
check "modprobe mapdrv (default parameters)" modprobe mapdrv
check_log "the allocation report ends with 0 failed" 'mapdrv: allocation report: [0-9]+ checks, [0-9]+ passed, 0 failed'
check_log "the report has one line per probe" 'mapdrv: report: vmalloc size=64MiB .*: PASS'
# The report's zone ranges are the kernel's own (/proc/zoneinfo's start_pfn,
# spanned, present; an empty zone has spanned 0), whatever the architecture.
zones_agree() {
	dmesg | grep -m1 'mapdrv: report: layout: arch=' >/tmp/zones.line || return 1
	awk -v ps="$PAGE_SIZE" '
		function num(h,  i, n) { # "0x1f" or "16MiB" or "12KiB" or "100B", exactly (doubles)
			if (h ~ /^0x/) { n = 0; for (i = 3; i <= length(h); i++) n = n * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return n }
			n = h; sub(/[A-Za-z]+$/, "", n)
			return n * (h ~ /MiB$/ ? 1048576 : h ~ /KiB$/ ? 1024 : 1)
		}
		FNR == NR { for (i = 1; i <= NF; i++) if ($i ~ /^[A-Za-z0-9]+=/) { split($i, kv, "="); rep[kv[1]] = kv[2] }; next }
		/^Node/ { z = $4 } /spanned/ { sp[z] = $2 } /present/ { pr[z] = $2 } /start_pfn/ { st[z] = $2 }
		END {
			for (z in sp) {
				r = rep[z]
				if (sp[z] == 0) { ok = r == "empty" }
				else {
					# DMA=0xSTART..0xEND(SIZE)
					split(r, a, /\.\.|\(|\)/)
					ok = num(a[1]) == st[z] * ps && num(a[2]) == (st[z] + sp[z]) * ps && num(a[3]) == pr[z] * ps
				}
				if (!ok) { print z ": report " r ", /proc/zoneinfo start_pfn " st[z] " spanned " sp[z] " present " pr[z]; bad = 1 }
				n++
			}
			exit bad || n == 0
		}' /tmp/zones.line /proc/zoneinfo
}
check "the report's zones are /proc/zoneinfo's" zones_agree
check "a plain load prints no addresses" sh -c "! dmesg | sed -n '/mapdrv-test: mark $$-$LOG_MARK\$/,\$p' | grep -E 'mapdrv: report: .*(virt=|phys=|pfns=0x|_start=0x)'"
check "/proc/slabinfo lists mapdrv_object while loaded" grep -q '^mapdrv_object ' /proc/slabinfo
check "rmmod mapdrv" rmmod mapdrv
check "/proc/slabinfo has no ^mapdrv cache after rmmod" sh -c '! grep -q "^mapdrv" /proc/slabinfo'

mark_log
check "modprobe mapdrv show_addresses=1" modprobe mapdrv show_addresses=1
check_log "show_addresses=1 adds virt= and phys= to the report" 'mapdrv: report: alloc_pages order=0 .* virt=0x[0-9a-f]+ phys=0x[0-9a-f]+ pfns=0x'
check "rmmod after show_addresses=1" rmmod mapdrv

mark_log
check "modprobe mapdrv report=2 is refused" sh -c '! modprobe mapdrv report=2'
check_log "the refusal is explained in one line" 'mapdrv: invalid parameters report=2'
check "a refused load leaves no module behind" sh -c '! grep -q "^mapdrv " /proc/modules'
check "a refused load leaves no slab cache behind" sh -c '! grep -q "^mapdrv_object " /proc/slabinfo'

# Load/unload cycles: free memory and slab usage stay within noise.
meminfo() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
# 100 load/unload cycles on the normal kernel, whose free-memory thresholds
# need the count; 50 on the debug kernel (each load costs about ten times
# as much there, and kmemleak and the area count need no more).
CYCLES=100
[ "$MAPDRV_FLAVOR" = debug ] && CYCLES=50
modprobe mapdrv report=0 && rmmod mapdrv # warm up caches once
sync
free0=$(free_kb) slab0=$(meminfo Slab) vm0=$(wc -l </proc/vmallocinfo)
fails=0
i=0
quiet_console
while [ $i -lt $CYCLES ]; do
	modprobe mapdrv report=0 && rmmod mapdrv || fails=$((fails + 1))
	i=$((i + 1))
done
loud_console
free1=$(free_kb) slab1=$(meminfo Slab) vm1=$(wc -l </proc/vmallocinfo)
echo "# $CYCLES cycles: MemFree + per-CPU lists ${free0} -> ${free1} kB (delta $((free1 - free0))), Slab ${slab0} -> ${slab1} kB (delta $((slab1 - slab0)))"
check "$CYCLES modprobe/rmmod cycles all succeed" [ "$fails" -eq 0 ]
# Counted in both flavors: a buffer leaked per load would add one area each;
# a few come and go on their own (vmap'ed task stacks).
check "$CYCLES cycles leave no vmalloc area behind ($vm0 -> $vm1 areas)" [ $((vm1 - vm0)) -le 8 ]
check "$CYCLES cycles leave no ^mapdrv slab cache behind" sh -c '! grep -q "^mapdrv" /proc/slabinfo'
if dmesg | grep -q 'KernelAddressSanitizer initialized'; then
	# KASAN's quarantine keeps freed objects (up to 1/32 of RAM) and
	# kmemleak keeps metadata: free memory drifts by design, so these
	# thresholds would prove nothing here. The debug kernel judges leaks
	# by kmemleak (90-kmemleak.sh: slab and vmalloc), the vmalloc area
	# count above, and free memory around the page-allocator-only
	# injection run (40-reliability.sh).
	ktap_skip "MemFree + per-CPU free lists after 100 cycles within 512 pages of before" "KASAN's quarantine and kmemleak hold freed memory here"
	ktap_skip "Slab after 100 cycles within 128 pages of before" "KASAN's quarantine and kmemleak hold freed memory here"
else
	# Noise left once the per-CPU lists are counted: slab partials and
	# page tables come and go by some tens of pages. Both bounds count
	# pages, not bytes (a slab's order is in pages), so the bounds do
	# too: 2 MiB and 512 kB with 4 KiB pages, four times that with
	# 16 KiB pages.
	page_kb=$((PAGE_SIZE / 1024))
	check "MemFree + per-CPU free lists after 100 cycles within 512 pages of before" [ $((free0 - free1)) -lt $((512 * page_kb)) ]
	check "Slab after 100 cycles within 128 pages of before" [ $((slab1 - slab0)) -lt $((128 * page_kb)) ]
fi
