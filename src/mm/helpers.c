// SPDX-License-Identifier: GPL-2.0
/*
 * mapdrv's C helpers: the kernel memory APIs that exist only as macros or
 * static inline functions, which Rust cannot call through bindgen.
 *
 * Each helper calls the real thing and nothing more, so that what runs is
 * exactly what a C driver would run (including the inline fast paths, e.g.
 * kmalloc()'s size-class selection); each is one line, plus the one
 * statically initialised mutex (a DEFINE_MUTEX) that two of them take
 * and release. Their Rust declarations, with the safety
 * contract of each, are in src/mm/helpers.h. Nothing else lives here.
 */

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mempool.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>

#include "helpers.h"

/* pfn <-> struct page <-> direct-map virtual address (include/linux/mm.h). */
unsigned long mapdrv_page_to_pfn(const struct page *page) { return page_to_pfn(page); }
struct page *mapdrv_pfn_to_page(unsigned long pfn) { return pfn_to_page(pfn); }
bool mapdrv_pfn_valid(unsigned long pfn) { return pfn_valid(pfn); }
bool mapdrv_virt_addr_valid(const void *addr) { return virt_addr_valid(addr); }
struct page *mapdrv_virt_to_page(const void *addr) { return virt_to_page(addr); }
void *mapdrv_page_address(const struct page *page) { return page_address(page); }
void *mapdrv_pfn_to_virt(unsigned long pfn) { return pfn_to_kaddr(pfn); }

/* struct page state. */
int mapdrv_page_zonenum(const struct page *page) { return page_zonenum(page); }
int mapdrv_page_count(const struct page *page) { return page_count(page); }
bool mapdrv_page_reserved(const struct page *page) { return PageReserved(page); }
void mapdrv_mark_page_reserved(struct page *page) { mark_page_reserved(page); }
void mapdrv_get_page(struct page *page) { get_page(page); }

/* The page allocator's address-form entry points (include/linux/gfp.h). */
unsigned long mapdrv_get_free_pages(gfp_t gfp, unsigned int order) { return __get_free_pages(gfp, order); }
unsigned long mapdrv_get_zeroed_page(gfp_t gfp) { return get_zeroed_page(gfp); }

/* kmalloc family (include/linux/slab.h). */
void *mapdrv_kmalloc(size_t size, gfp_t gfp) { return kmalloc(size, gfp); }

/* Slab caches. */
struct kmem_cache *mapdrv_kmem_cache_create(const char *name, unsigned int size, unsigned int align,
					    slab_flags_t flags, void (*ctor)(void *))
{
	return kmem_cache_create(name, size, align, flags, ctor);
}
void *mapdrv_kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp) { return kmem_cache_alloc(s, gfp); }

/*
 * A statically initialised mutex (DEFINE_MUTEX is a macro; slab_mutex is not
 * exported): mapdrv checks that a cache name is free and creates the cache
 * under it, so two of its own callers cannot race to the same name.
 */
static DEFINE_MUTEX(mapdrv_cache_names);
void mapdrv_cache_names_lock(void) { mutex_lock(&mapdrv_cache_names); }
void mapdrv_cache_names_unlock(void) { mutex_unlock(&mapdrv_cache_names); }

/* Memory pools (include/linux/mempool.h). */
mempool_t *mapdrv_mempool_create(int min_nr, mempool_alloc_t *alloc_fn, mempool_free_t *free_fn, void *data)
{
	return mempool_create(min_nr, alloc_fn, free_fn, data);
}
void *mapdrv_mempool_alloc(mempool_t *pool, gfp_t gfp) { return mempool_alloc(pool, gfp); }
int mapdrv_mempool_curr_nr(mempool_t *pool) { return READ_ONCE(pool->curr_nr); }

/* vmalloc (include/linux/vmalloc.h). */
void *mapdrv_vmalloc(unsigned long size, gfp_t gfp) { return __vmalloc(size, gfp); }
void *mapdrv_vmalloc_user(unsigned long size) { return vmalloc_user(size); }
void mapdrv_vfree(const void *addr) { vfree(addr); }
/* Exported, but not in the kernel crate's bindings; wrapped so that C checks the prototype. */
int mapdrv_remap_vmalloc_range(struct vm_area_struct *vma, void *addr, unsigned long pgoff)
{
	return remap_vmalloc_range(vma, addr, pgoff);
}

/* The kernel's address-space layout and page counters, for the report. */
unsigned long mapdrv_page_offset(void) { return PAGE_OFFSET; }
unsigned long mapdrv_vmalloc_start(void) { return VMALLOC_START; }
unsigned long mapdrv_vmalloc_end(void) { return VMALLOC_END; }
unsigned long mapdrv_nr_free_pages(void) { return global_zone_page_state(NR_FREE_PAGES); }
unsigned long mapdrv_totalram_pages(void) { return totalram_pages(); }

unsigned long mapdrv_zone_span(int zone, unsigned long *start, unsigned long *end)
{
	struct zone *z;

	*start = 0;
	*end = 0;
	if (zone < 0 || zone >= MAX_NR_ZONES)
		return 0;
	/*
	 * The zone array lives as long as the kernel (node data is never
	 * freed). Its span is read as /proc/zoneinfo reads it, without the
	 * span seqlock, which only memory hotplug (not in mapdrv's kernels)
	 * writes under.
	 */
	z = &NODE_DATA(first_online_node)->node_zones[zone];
	if (!populated_zone(z))
		return 0;
	*start = z->zone_start_pfn;
	*end = zone_end_pfn(z);
	return z->present_pages;
}

/* The C values of the GFP masks, to check src/mm/gfp.rs against (KUnit). */
#define MAPDRV_DEFINE_GFP(name) const gfp_t mapdrv_c_##name = name;
MAPDRV_GFP_MASKS(MAPDRV_DEFINE_GFP)

/* gfp_zone()'s table of invalid zone-modifier combinations (include/linux/gfp.h). */
bool mapdrv_gfp_zone_bad(gfp_t gfp)
{
	return (GFP_ZONE_BAD >> ((__force unsigned int)gfp & GFP_ZONEMASK)) & 1;
}

/*
 * copy_to_user()/copy_from_user() are static inline: they run
 * check_copy_size() (hardened usercopy: the kernel range must lie inside
 * one object, here one vmalloc area) before the out-of-line copy.
 */
unsigned long mapdrv_copy_to_user(void __user *to, const void *from, unsigned long n)
{
	return copy_to_user(to, from, n);
}

/*
 * Not copy_from_user(): on a fault it zero-fills the bytes it could not
 * copy, which is right for a private kernel buffer (no stale data) and
 * wrong for one that user space maps: a write() from a bad address would
 * wipe bytes of the shared buffer that it never wrote. This copies what it
 * can and leaves the rest as it was (write(2): a short count, or EFAULT).
 *
 * The kernel has no exported "copy, keep the tail" primitive, so this is
 * copy_from_user()'s own path (_inline_copy_from_user() in
 * include/linux/uaccess.h) without its final memset(), hardening included:
 * usercopy fault injection, the user address masked (or access_ok() then
 * barrier_nospec(), so a mispredicted access_ok() cannot steer a
 * speculative load: without it write(2) would be a Spectre-v1 gadget), and
 * __copy_from_user()'s might_fault(), KASAN/KMSAN instrumentation and
 * check_object_size() (hardened usercopy).
 */
unsigned long mapdrv_copy_from_user(void *to, const void __user *from, unsigned long n)
{
	if (should_fail_usercopy())
		return n;
	if (can_do_masked_user_access()) {
		from = mask_user_address(from);
	} else {
		if (!access_ok(from, n))
			return n;
		barrier_nospec();
	}
	return __copy_from_user(to, from, n);
}

void mapdrv_cond_resched(void) { cond_resched(); }

/* An exported function in 7.2, static inline over free_reserved_pages() in 7.3. */
void mapdrv_free_reserved_page(struct page *page) { free_reserved_page(page); }
