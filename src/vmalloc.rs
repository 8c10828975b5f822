// SPDX-License-Identifier: GPL-2.0

//! `vmalloc()` / `vzalloc()` (`__vmalloc()`) / `vfree()`: virtually contiguous memory built
//! from scattered pages.
//!
//! C API: `include/linux/vmalloc.h` (`vmalloc()`, `vzalloc()`, `vmalloc_user()`, `vfree()`,
//! `vmalloc_to_page()`, `is_vmalloc_addr()`, `remap_vmalloc_range()`).
//!
//! `vmalloc()` gathers pages wherever the buddy allocator has them and maps
//! them one after the other into the vmalloc area
//! (`VMALLOC_START..VMALLOC_END`), a region of kernel virtual addresses
//! separate from the direct map. The buffer is guaranteed contiguous only
//! virtually. (7.2's `vm_area_alloc_pages()` first takes the largest blocks
//! it can get without direct reclaim and splits them, so on an idle machine
//! the pages often happen to be physically contiguous too;
//! [`VmallocBuf::phys_runs`] tells.) `virt_to_page()` does not work on it, `vmalloc_to_page()` walks the page
//! tables instead. That is why such a buffer cannot be mapped to user space
//! with one `remap_pfn_range()` and is mapped page by page on fault (see
//! `src/device.rs`). In exchange it can be far larger than `kmalloc()`'s
//! 4 MiB limit.
//!
//! The `kernel` crate's `VBox<T>` / `VVec<T>` (allocator `Vmalloc`) are the
//! typed way to vmalloc in Rust; [`VmallocBuf`] is the page-level view the
//! seeds describe.
//!
//! # Examples
//!
//! ```ignore
//! use crate::vmalloc::VmallocBuf;
//! let buf = VmallocBuf::zalloc(64 << 20)?;        // 64 MiB: far above KMALLOC_MAX_SIZE
//! assert!(buf.is_vmalloc_addr());
//! assert_eq!(buf.page_count(), (64 << 20) / 4096);
//! let runs = buf.phys_runs();  // 1 on a fresh system, many once memory has been churned
//! ```

use crate::gfp::Gfp;
use crate::helpers::*;
use crate::pages::{PageRef, PAGE_SIZE};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::mm::virt::VmaNew;
use kernel::prelude::*;

/// A `vmalloc()`ed buffer of whole pages, `vfree()`d on `Drop`.
///
/// # Invariants
///
/// `ptr` was returned by `vmalloc()`/`vzalloc()` (or, when `user` is set,
/// `vmalloc_user()`, whose area is marked `VM_USERMAP`) for `size` bytes,
/// `size` is a non-zero multiple of `PAGE_SIZE`, and the buffer is
/// exclusively owned.
pub struct VmallocBuf {
    ptr: NonNull<u8>,
    size: usize,
    user: bool,
}

// SAFETY: owned memory; `vfree()` may be called from any sleepable context,
// and `Drop` runs in one (mapdrv never drops a buffer in atomic context).
unsafe impl Send for VmallocBuf {}
// SAFETY: `&self` methods only read the memory or the page tables.
unsafe impl Sync for VmallocBuf {}

/// `len` rounded up to whole pages, or `EINVAL` for 0 or an absurd size.
fn page_len(len: usize) -> Result<usize> {
    if len == 0 {
        pr_warn!("refusing a vmalloc of 0 bytes\n");
        return Err(EINVAL);
    }
    len.checked_next_multiple_of(PAGE_SIZE).ok_or(EINVAL)
}

impl VmallocBuf {
    /// `vmalloc(len)`, `len` rounded up to whole pages. Sleeps.
    ///
    /// `EINVAL` for `len == 0`; `ENOMEM` on failure, including requests
    /// larger than RAM or the vmalloc area. `vmalloc(size)` is
    /// `__vmalloc(size, GFP_KERNEL)`; mapdrv calls `__vmalloc(size,
    /// GFP_KERNEL | __GFP_NOWARN)` so that a failure is an `ENOMEM` for the
    /// caller rather than a stack dump in the log.
    pub fn alloc(len: usize) -> Result<Self> {
        Self::with_gfp(len, Gfp::GFP_KERNEL | Gfp::__GFP_NOWARN)
    }

    /// `vzalloc(len)`: like [`VmallocBuf::alloc`], zeroed
    /// (`__GFP_ZERO` added to the mask).
    pub fn zalloc(len: usize) -> Result<Self> {
        Self::with_gfp(len, Gfp::GFP_KERNEL | Gfp::__GFP_NOWARN | Gfp::__GFP_ZERO)
    }

    /// `vmalloc_user(len)`: a zeroed buffer meant to be mapped into user
    /// space. Its area is marked `VM_USERMAP`, which
    /// [`VmallocBuf::map_to_user`] (`remap_vmalloc_range()`) requires, and
    /// it is aligned to `SHMLBA`. Its mask is fixed, `GFP_KERNEL |
    /// __GFP_ZERO`, without `__GFP_NOWARN` (the function that takes a mask
    /// and `VM_USERMAP`, `__vmalloc_node_range()`, is not exported to
    /// modules), so a failure logs an allocation warning before `ENOMEM`.
    pub fn zalloc_user(len: usize) -> Result<Self> {
        let size = page_len(len)?;
        // SAFETY: may sleep; callers are in process context.
        let ptr = unsafe { mapdrv_vmalloc_user(size as c_ulong) };
        Self::owned(ptr, size, true)
    }

    fn with_gfp(len: usize, gfp: Gfp) -> Result<Self> {
        let size = page_len(len)?;
        // SAFETY: `__vmalloc()` with `GFP_KERNEL` may sleep; callers are in
        // process context.
        let ptr = unsafe { mapdrv_vmalloc(size as c_ulong, gfp.as_raw()) };
        Self::owned(ptr, size, false)
    }

    /// Takes ownership of what an allocation of `size` bytes returned
    /// (`vmalloc_user()`'s if `user`); `ENOMEM` for NULL.
    fn owned(ptr: *mut core::ffi::c_void, size: usize, user: bool) -> Result<Self> {
        let ptr = NonNull::new(ptr.cast()).ok_or(ENOMEM)?;
        // INVARIANT: a non-NULL result is an owned buffer of `size` bytes,
        // `VM_USERMAP` when it came from `vmalloc_user()`.
        Ok(VmallocBuf { ptr, size, user })
    }

    /// Maps the whole new VMA `vma` to the buffer's pages from page `pgoff`
    /// on, right now (`remap_vmalloc_range()`): the eager alternative to
    /// mapping page by page on fault. Every page gets a page table entry
    /// and a reference; the VMA becomes `VM_MIXEDMAP | VM_DONTEXPAND |
    /// VM_DONTDUMP`.
    ///
    /// `EINVAL` if the buffer was not allocated with
    /// [`VmallocBuf::zalloc_user`] or the VMA reaches past its end;
    /// `ENOMEM` if a page table cannot be allocated.
    pub fn map_to_user(&self, vma: &VmaNew, pgoff: usize) -> Result {
        let fits = pgoff
            .checked_mul(PAGE_SIZE)
            .and_then(|off| off.checked_add(vma.end() - vma.start()))
            .is_some_and(|end| end <= self.size);
        if !self.user || !fits {
            return Err(EINVAL);
        }
        // The pages stay valid while mapped: each entry holds a reference.
        // SAFETY: a new VMA in `mmap`, mmap lock held for writing (as
        // `vm_insert_page()` needs); a live `VM_USERMAP` area, range inside.
        let ret = unsafe {
            mapdrv_remap_vmalloc_range(vma.as_ptr(), self.ptr.as_ptr().cast(), pgoff as c_ulong)
        };
        kernel::error::to_result(ret)
    }

    /// The size in bytes (whole pages).
    #[inline]
    pub fn size(&self) -> usize {
        self.size
    }

    /// The number of pages.
    #[inline]
    pub fn page_count(&self) -> usize {
        self.size / PAGE_SIZE
    }

    /// The buffer's address in the vmalloc area.
    #[inline]
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Whether the address lies in the vmalloc area (`is_vmalloc_addr()`).
    pub fn is_vmalloc_addr(&self) -> bool {
        // SAFETY: `is_vmalloc_addr()` only compares the address with the
        // bounds of the area.
        unsafe { bindings::is_vmalloc_addr(self.ptr.as_ptr().cast()) }
    }

    /// The buffer's memory (see [`crate::pages::Pages::as_slice`] on the
    /// contents of memory allocated without zeroing).
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `size` owned, mapped bytes; `&self` excludes writers.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.size) }
    }

    /// The buffer's memory, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` makes the access unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.size) }
    }

    /// The page behind page number `index` (`vmalloc_to_page()`), or `None`
    /// past the end.
    pub fn page(&self, index: usize) -> Option<PageRef<'_>> {
        if index >= self.page_count() {
            return None;
        }
        // SAFETY: the address lies inside our live vmalloc buffer.
        let p =
            unsafe { bindings::vmalloc_to_page(self.ptr.as_ptr().add(index * PAGE_SIZE).cast()) };
        // SAFETY: the page backs our buffer and lives as long as it.
        NonNull::new(p).map(|p| unsafe { PageRef::from_raw(p) })
    }

    /// The pages behind the buffer, in virtual order.
    pub fn pages(&self) -> impl Iterator<Item = PageRef<'_>> + '_ {
        (0..self.page_count()).filter_map(move |i| self.page(i))
    }

    /// How many physically contiguous runs the buffer's pages form: 1 means
    /// one contiguous block, `page_count()` means no two neighbours are
    /// adjacent in physical memory.
    pub fn phys_runs(&self) -> usize {
        let mut runs = 0;
        let mut prev: Option<usize> = None;
        for p in self.pages() {
            let pfn = p.pfn().0;
            if prev.is_none_or(|q| q + 1 != pfn) {
                runs += 1;
            }
            prev = Some(pfn);
        }
        runs
    }
}

impl Drop for VmallocBuf {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own this vmalloc buffer; this is
        // the only place it is freed.
        unsafe { mapdrv_vfree(self.ptr.as_ptr().cast()) };
    }
}

/// The bounds of the vmalloc area, `VMALLOC_START..VMALLOC_END`.
pub fn vmalloc_area() -> core::ops::Range<usize> {
    // SAFETY: both read boot-time constants.
    unsafe { mapdrv_vmalloc_start() as usize..mapdrv_vmalloc_end() as usize }
}

#[kunit_tests(mapdrv_vmalloc)]
mod tests {
    use super::*;
    use crate::kmalloc::KmallocBuf;

    /// `vmalloc_user()`: zeroed, in the vmalloc area, page-granular.
    #[test]
    fn user_buffers_are_zeroed_vmalloc() -> Result {
        let b = VmallocBuf::zalloc_user(3 * PAGE_SIZE + 5)?;
        assert!(b.is_vmalloc_addr());
        assert_eq!(b.page_count(), 4);
        assert!(b.as_slice().iter().all(|&x| x == 0));
        assert_eq!(VmallocBuf::zalloc_user(0).err(), Some(EINVAL));
        Ok(())
    }

    /// A vmalloc buffer lives in the vmalloc area, not the direct map.
    #[test]
    fn lives_in_the_vmalloc_area() -> Result {
        let b = VmallocBuf::alloc(3 * PAGE_SIZE)?;
        assert!(b.is_vmalloc_addr());
        assert!(vmalloc_area().contains(&(b.as_ptr() as usize)));
        assert!(PageRef::from_virt(b.as_ptr()).is_none());
        let k = KmallocBuf::alloc(64, Gfp::GFP_KERNEL)?;
        // SAFETY: only compares the address with the area's bounds.
        assert!(!unsafe { bindings::is_vmalloc_addr(k.as_ptr().cast()) });
        Ok(())
    }

    /// Sizes round up to whole pages; 0 is EINVAL; `vzalloc` is zero.
    #[test]
    fn sizes_and_zeroing() -> Result {
        let b = VmallocBuf::zalloc(PAGE_SIZE + 1)?;
        assert_eq!(b.size(), 2 * PAGE_SIZE);
        assert_eq!(b.page_count(), 2);
        assert!(b.as_slice().iter().all(|&x| x == 0));
        assert_eq!(VmallocBuf::alloc(0).err(), Some(EINVAL));
        assert_eq!(VmallocBuf::alloc(usize::MAX).err(), Some(EINVAL));
        Ok(())
    }

    /// `vmalloc_to_page()` finds the page each virtual page is backed by:
    /// writing through the vmalloc address shows up in the direct map.
    #[test]
    fn vmalloc_to_page_is_the_backing_page() -> Result {
        let mut b = VmallocBuf::alloc(4 * PAGE_SIZE)?;
        for i in 0..4 {
            b.as_mut_slice()[i * PAGE_SIZE + 17] = 0x40 + i as u8;
        }
        for i in 0..4 {
            let p = b.page(i).ok_or(EINVAL)?;
            // SAFETY: the page backs our live buffer; its direct-map alias
            // is readable, and we only read one byte we wrote above.
            let v = unsafe { *p.direct_map_addr().add(17) };
            assert_eq!(v, 0x40 + i as u8);
        }
        assert!(b.page(4).is_none());
        Ok(())
    }

    /// 64 MiB: vmalloc succeeds where kmalloc cannot.
    #[test]
    fn sixty_four_mib() -> Result {
        let b = VmallocBuf::alloc(64 << 20)?;
        assert_eq!(b.page_count(), 16384);
        assert!(b.phys_runs() >= 1 && b.phys_runs() <= b.page_count());
        assert!(KmallocBuf::alloc(64 << 20, Gfp::GFP_KERNEL).is_err());
        Ok(())
    }

    /// The run count agrees with a direct pfn walk.
    #[test]
    fn phys_runs_counts_breaks() -> Result {
        let b = VmallocBuf::alloc(32 * PAGE_SIZE)?;
        let pfns: KVec<usize> = {
            let mut v = KVec::new();
            for p in b.pages() {
                v.push(p.pfn().0, kernel::alloc::flags::GFP_KERNEL)?;
            }
            v
        };
        assert_eq!(pfns.len(), 32);
        let breaks = pfns.windows(2).filter(|w| w[1] != w[0] + 1).count();
        assert_eq!(b.phys_runs(), breaks + 1);
        Ok(())
    }
}
