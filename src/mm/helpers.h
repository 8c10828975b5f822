/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C helpers of src/mm/helpers.c, declared once, here. helpers.c includes
 * this file, so the compiler checks every definition against it; bindgen
 * turns it into the Rust declarations at build time (Kbuild:
 * helpers_generated.rs, included by src/mm/helpers.rs), as the kernel does
 * for rust/helpers. Each comment is the Rust doc of its function: what it
 * calls and its safety contract, which is the contract of the C API.
 */
#ifndef MAPDRV_HELPERS_H
#define MAPDRV_HELPERS_H

#include <linux/mempool.h>
#include <linux/mm_types.h>
#include <linux/slab.h>
#include <linux/types.h>

/**
 * `page_to_pfn()`. `page` must point to a valid `struct page`.
 */
unsigned long mapdrv_page_to_pfn(const struct page *page);
/**
 * `pfn_to_page()`. `pfn` must satisfy `pfn_valid()`.
 */
struct page *mapdrv_pfn_to_page(unsigned long pfn);
/**
 * `pfn_valid()`. Always safe.
 */
bool mapdrv_pfn_valid(unsigned long pfn);
/**
 * `virt_addr_valid()`: `addr` is in the direct map and backed by a
 * valid page. Always safe.
 */
bool mapdrv_virt_addr_valid(const void *addr);
/**
 * `virt_to_page()`. `addr` must satisfy `virt_addr_valid()`.
 */
struct page *mapdrv_virt_to_page(const void *addr);
/**
 * `page_address()`. `page` must point to a valid `struct page`.
 */
void *mapdrv_page_address(const struct page *page);
/**
 * `pfn_to_kaddr()`: plain arithmetic on the direct map. Always safe;
 * the result is meaningful only for a valid pfn.
 */
void *mapdrv_pfn_to_virt(unsigned long pfn);
/**
 * `page_zonenum()`. `page` must point to a valid `struct page`.
 */
int mapdrv_page_zonenum(const struct page *page);
/**
 * `page_count()`. `page` must point to a valid `struct page`.
 */
int mapdrv_page_count(const struct page *page);
/**
 * `PageReserved()`. `page` must point to a valid `struct page`.
 */
bool mapdrv_page_reserved(const struct page *page);
/**
 * `mark_page_reserved()`. The caller must own `page` (order 0).
 */
void mapdrv_mark_page_reserved(struct page *page);
/**
 * `get_page()`. The caller must hold a reference to `page` (or own
 * the memory it describes).
 */
void mapdrv_get_page(struct page *page);
/**
 * `__get_free_pages()`. `order <= MAX_PAGE_ORDER`; may sleep per `gfp`.
 */
unsigned long mapdrv_get_free_pages(gfp_t gfp, unsigned int order);
/**
 * `get_zeroed_page()`. May sleep per `gfp`.
 */
unsigned long mapdrv_get_zeroed_page(gfp_t gfp);
/**
 * `kmalloc()`. May sleep per `gfp`.
 */
void *mapdrv_kmalloc(size_t size, gfp_t gfp);
/**
 * `kmem_cache_create()`. `name` must outlive the cache. Sleeps.
 */
struct kmem_cache *mapdrv_kmem_cache_create(const char *name, unsigned int size, unsigned int align,
					    slab_flags_t flags, void (*ctor)(void *));
/**
 * `kmem_cache_alloc()`. `s` must be a live cache; may sleep per `gfp`.
 */
void *mapdrv_kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp);
/**
 * Takes (`mutex_lock()`) the mutex that serialises mapdrv's slab cache
 * name checks with cache creation and destruction. Sleeps.
 */
void mapdrv_cache_names_lock(void);
/**
 * Releases the mutex of `mapdrv_cache_names_lock()`, which the caller holds.
 */
void mapdrv_cache_names_unlock(void);
/**
 * `mempool_create()`. `data` must stay valid for the pool's life. Sleeps.
 */
mempool_t *mapdrv_mempool_create(int min_nr, mempool_alloc_t *alloc_fn, mempool_free_t *free_fn, void *data);
/**
 * `mempool_alloc()`. `pool` must be live; may sleep per `gfp`.
 */
void *mapdrv_mempool_alloc(mempool_t *pool, gfp_t gfp);
/**
 * `pool->curr_nr`: elements in the reserve now. `pool` must be live.
 */
int mapdrv_mempool_curr_nr(mempool_t *pool);
/**
 * `__vmalloc()` (`vmalloc()` is `__vmalloc(size, GFP_KERNEL)`). Sleeps.
 */
void *mapdrv_vmalloc(unsigned long size, gfp_t gfp);
/**
 * `vmalloc_user()`: a zeroed buffer whose area is marked
 * `VM_USERMAP`, as `remap_vmalloc_range()` requires. Sleeps.
 */
void *mapdrv_vmalloc_user(unsigned long size);
/**
 * `vfree()` (bindgen does not expose it). `addr` must be a live
 * vmalloc buffer the caller owns, or NULL. Sleeps.
 */
void mapdrv_vfree(const void *addr);
/**
 * `remap_vmalloc_range()` (exported, absent from the bindings).
 * `vma` must be a VMA being set up in `mmap` with the mmap lock held
 * for writing; `addr` a live `VM_USERMAP` vmalloc buffer. Sleeps.
 */
int mapdrv_remap_vmalloc_range(struct vm_area_struct *vma, void *addr, unsigned long pgoff);
/**
 * `PAGE_OFFSET`, the start of the direct map. Always safe.
 */
unsigned long mapdrv_page_offset(void);
/**
 * `VMALLOC_START`. Always safe.
 */
unsigned long mapdrv_vmalloc_start(void);
/**
 * `VMALLOC_END`. Always safe.
 */
unsigned long mapdrv_vmalloc_end(void);
/**
 * `global_zone_page_state(NR_FREE_PAGES)`. Always safe.
 */
unsigned long mapdrv_nr_free_pages(void);
/**
 * `totalram_pages()`. Always safe.
 */
unsigned long mapdrv_totalram_pages(void);
/**
 * Zone `zone` (an `enum zone_type`) of the first online node: its first
 * page frame in `*start` and one past its last in `*end` (`zone_start_pfn`,
 * `zone_end_pfn()`); returns its present pages, 0 (and 0..0) if the zone is
 * empty or `zone` is not a zone. `start` and `end` must be writable.
 */
unsigned long mapdrv_zone_span(int zone, unsigned long *start, unsigned long *end);
/*
 * The GFP masks src/mm/gfp.rs defines, as C computes them: one constant
 * mapdrv_c_NAME = NAME per mask, declared here and defined in helpers.c
 * from the same list, so KUnit compares each Rust mask with the C macro of
 * the same name (mm::gfp's masks_match_c).
 */
#define MAPDRV_GFP_MASKS(X)                                                     \
	X(GFP_KERNEL) X(GFP_ATOMIC) X(GFP_NOWAIT) X(GFP_NOIO) X(GFP_NOFS)       \
	X(GFP_USER) X(GFP_HIGHUSER) X(GFP_HIGHUSER_MOVABLE) X(GFP_DMA)          \
	X(GFP_DMA32) X(__GFP_ZERO) X(__GFP_NOWARN) X(__GFP_NORETRY)             \
	X(__GFP_RETRY_MAYFAIL) X(__GFP_HIGH) X(__GFP_MOVABLE) X(__GFP_HIGHMEM) \
	X(__GFP_ACCOUNT)
#define MAPDRV_DECLARE_GFP(name) extern const gfp_t mapdrv_c_##name;
MAPDRV_GFP_MASKS(MAPDRV_DECLARE_GFP)
#undef MAPDRV_DECLARE_GFP
/**
 * Whether `gfp`'s zone modifiers are in `GFP_ZONE_BAD`. Always safe.
 */
bool mapdrv_gfp_zone_bad(gfp_t gfp);
/**
 * `copy_to_user()`, with hardened usercopy's `check_copy_size()`.
 * `from` must be valid for reads of `n` bytes; `to` may be any user
 * address (faults are handled). Returns the bytes *not* copied. Sleeps.
 */
unsigned long mapdrv_copy_to_user(void __user *to, const void *from, unsigned long n);
/**
 * `copy_from_user()`, as above in the other direction: `to` must be
 * valid for writes of `n` bytes. Returns the bytes *not* copied. Sleeps.
 */
unsigned long mapdrv_copy_from_user(void *to, const void __user *from, unsigned long n);
/**
 * `cond_resched()`. Process context only.
 */
void mapdrv_cond_resched(void);
/**
 * `free_reserved_page()`. The caller must own `page`, marked with
 * `mark_page_reserved()`, with no other reference to it.
 */
void mapdrv_free_reserved_page(struct page *page);

#endif /* MAPDRV_HELPERS_H */
