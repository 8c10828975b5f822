/* SPDX-License-Identifier: GPL-2.0 */
/* Prototypes of src/mm/helpers.c; the Rust side is src/mm/helpers.rs. */
#ifndef MAPDRV_HELPERS_H
#define MAPDRV_HELPERS_H

#include <linux/mempool.h>
#include <linux/mm_types.h>
#include <linux/slab.h>
#include <linux/types.h>

unsigned long mapdrv_page_to_pfn(const struct page *page);
struct page *mapdrv_pfn_to_page(unsigned long pfn);
bool mapdrv_pfn_valid(unsigned long pfn);
bool mapdrv_virt_addr_valid(const void *addr);
struct page *mapdrv_virt_to_page(const void *addr);
void *mapdrv_page_address(const struct page *page);
void *mapdrv_pfn_to_virt(unsigned long pfn);
int mapdrv_page_zonenum(const struct page *page);
int mapdrv_page_count(const struct page *page);
bool mapdrv_page_reserved(const struct page *page);
void mapdrv_mark_page_reserved(struct page *page);
void mapdrv_get_page(struct page *page);
unsigned long mapdrv_get_free_pages(gfp_t gfp, unsigned int order);
unsigned long mapdrv_get_zeroed_page(gfp_t gfp);
void *mapdrv_kmalloc(size_t size, gfp_t gfp);
struct kmem_cache *mapdrv_kmem_cache_create(const char *name, unsigned int size, unsigned int align,
					    slab_flags_t flags, void (*ctor)(void *));
void *mapdrv_kmem_cache_alloc(struct kmem_cache *s, gfp_t gfp);
mempool_t *mapdrv_mempool_create(int min_nr, mempool_alloc_t *alloc_fn, mempool_free_t *free_fn, void *data);
void *mapdrv_mempool_alloc(mempool_t *pool, gfp_t gfp);
int mapdrv_mempool_curr_nr(mempool_t *pool);
void *mapdrv_vmalloc(unsigned long size, gfp_t gfp);
void *mapdrv_vmalloc_user(unsigned long size);
void mapdrv_vfree(const void *addr);
int mapdrv_remap_vmalloc_range(struct vm_area_struct *vma, void *addr, unsigned long pgoff);
unsigned long mapdrv_page_offset(void);
unsigned long mapdrv_vmalloc_start(void);
unsigned long mapdrv_vmalloc_end(void);
unsigned long mapdrv_nr_free_pages(void);
unsigned long mapdrv_totalram_pages(void);
gfp_t mapdrv_gfp_c_value(unsigned int which);
bool mapdrv_gfp_zone_bad(gfp_t gfp);
unsigned long mapdrv_copy_to_user(void __user *to, const void *from, unsigned long n);
unsigned long mapdrv_copy_from_user(void *to, const void __user *from, unsigned long n);
void mapdrv_cond_resched(void);
void mapdrv_free_reserved_page(struct page *page);

#endif /* MAPDRV_HELPERS_H */
