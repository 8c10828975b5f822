// SPDX-License-Identifier: GPL-2.0

//! `kmalloc()` / `kzalloc()` / `kfree()`: small, physically contiguous
//! allocations from the slab allocator's size classes.
//!
//! C API: `include/linux/slab.h` (`kmalloc()`, `kzalloc()`, `ksize()`,
//! `kfree()`, `KMALLOC_MAX_SIZE`).
//!
//! `kmalloc()` rounds a request up to a size class (8, 16, 32, 64, 96, 128,
//! 192, 256, ... 8192 bytes on x86-64 with SLUB) served from the
//! `kmalloc-<size>` caches of `/proc/slabinfo`; above 8 KiB it goes straight
//! to the page allocator. Either way the memory lies in the direct map and
//! is physically contiguous, so it is limited to what one buddy block can
//! hold: `KMALLOC_MAX_SIZE` (4 MiB with 4 KiB pages, 32 MiB with 16 KiB). [`KmallocBuf`] owns one such object and
//! `kfree()`s it on `Drop`. `ksize()` reports the size class actually
//! reserved; only the requested `size()` is exposed.
//!
//! The `kernel` crate's `KBox<T>` (allocator `Kmalloc`) is the typed,
//! everyday way to kmalloc in Rust; this type is the byte-level view:
//! the object, its usable size (`ksize()`) and the pages behind it.
//!
//! # Examples
//!
//! ```no_run
//! use crate::mm::{gfp::Gfp, kmalloc::KmallocBuf};
//! let buf = KmallocBuf::zalloc(100, Gfp::GFP_KERNEL)?;   // kzalloc(100, GFP_KERNEL)
//! assert_eq!(buf.size(), 100);                            // `KmallocBuf<Init>`
//! assert_eq!(buf.ksize(), 128);                           // the kmalloc-128 class
//! assert!(buf.as_slice().iter().all(|&b| b == 0));
//! assert!(KmallocBuf::alloc(64 << 20, Gfp::GFP_KERNEL).is_err()); // > KMALLOC_MAX_SIZE
//! ```

use crate::mm::gfp::Gfp;
use crate::mm::helpers::*;
use crate::mm::owned::{Contents, Init, Owned, Release, Uninit};
use crate::mm::page::PAGE_SIZE;
use crate::mm::pfn::PageRef;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;

/// The largest request `kmalloc()` can ever satisfy (`KMALLOC_MAX_SIZE`).
pub(crate) const KMALLOC_MAX_SIZE: usize = bindings::KMALLOC_MAX_SIZE as usize;

/// Gives a `kmalloc()` object back with `kfree()`.
pub(crate) struct Kfree;

// SAFETY: `KmallocBuf`'s constructors hand `Owned` only `kmalloc()` objects,
// which `kfree()` frees from any thread and any context.
unsafe impl Release for Kfree {
    #[inline]
    unsafe fn release(&self, ptr: NonNull<u8>, _size: usize) {
        // SAFETY: a `kmalloc()` object being dropped (the trait's contract).
        unsafe { bindings::kfree(ptr.as_ptr().cast()) };
    }
}

/// One `kmalloc()`ed object of the requested size, `kfree()`d on `Drop`.
///
/// `S` says what is known of the contents: [`KmallocBuf::alloc`] gives
/// [`Uninit`] (`MaybeUninit<u8>` views), [`KmallocBuf::zalloc`] and
/// [`Owned::fill`] give [`Init`] (`u8` views). `size()` is the size
/// requested, `0 < size <= KMALLOC_MAX_SIZE`; [`KmallocBuf::ksize`] the
/// size class behind it.
pub(crate) type KmallocBuf<S = Uninit> = Owned<Kfree, S>;

/// `EINVAL` unless `0 < len <= KMALLOC_MAX_SIZE`: the sizes `kmalloc()`
/// serves without `WARN` and without `ZERO_SIZE_PTR` (more is vmalloc's).
pub(crate) fn check_len(len: usize) -> Result {
    if len == 0 || len > KMALLOC_MAX_SIZE {
        return Err(EINVAL);
    }
    Ok(())
}

impl KmallocBuf<Uninit> {
    /// `kmalloc(len, gfp)`. `EINVAL` for `len == 0` or `len >
    /// KMALLOC_MAX_SIZE` (checked first: the kernel would `WARN` on the
    /// latter) and for masks slab cannot serve ([`Gfp::for_slab`]),
    /// `ENOMEM` when the allocator fails.
    pub(crate) fn alloc(len: usize, gfp: Gfp) -> Result<Self> {
        check_len(len)?;
        let raw = gfp.for_slab()?;
        // SAFETY: `len` and the mask are valid; sleeping is the caller's
        // choice via `gfp`.
        let ptr = unsafe { mapdrv_kmalloc(len, raw) };
        let ptr = NonNull::new(ptr.cast()).ok_or(ENOMEM)?;
        // SAFETY: a non-NULL result is an object of `len` bytes that we own,
        // in the direct map and kernel-private, freed by `kfree()`.
        Ok(unsafe { Owned::from_raw(ptr, len, Kfree) })
    }
}

impl KmallocBuf<Init> {
    /// `kzalloc(len, gfp)`: like [`KmallocBuf::alloc`], zeroed. (`kzalloc()`
    /// is `kmalloc()` with `__GFP_ZERO`, in C as here.)
    pub(crate) fn zalloc(len: usize, gfp: Gfp) -> Result<Self> {
        let buf = KmallocBuf::alloc(len, gfp | Gfp::__GFP_ZERO)?;
        // SAFETY: `__GFP_ZERO` zeroed the object.
        Ok(unsafe { buf.assume_init() })
    }
}

impl<S: Contents> KmallocBuf<S> {
    /// The size actually reserved: the size class (`ksize()`).
    pub(crate) fn ksize(&self) -> usize {
        // SAFETY: a live kmalloc object (`Owned`'s invariant, `Kfree`).
        unsafe { bindings::ksize(self.as_ptr().cast()) }
    }

    /// The pages the object spans, first to last.
    pub(crate) fn pages(&self) -> impl Iterator<Item = PageRef<'_>> + '_ {
        let start = self.as_ptr() as usize & !(PAGE_SIZE - 1);
        let end = self.as_ptr() as usize + self.size();
        (start..end).step_by(PAGE_SIZE).map(|va| {
            // SAFETY: kmalloc memory lies in the direct map, so
            // `virt_to_page()` is valid for every page the object spans,
            // and those pages outlive the object.
            unsafe {
                PageRef::from_raw(NonNull::new_unchecked(mapdrv_virt_to_page(va as *const _)))
            }
        })
    }
}

#[kunit_tests(mapdrv_kmalloc)]
mod tests {
    use super::*;

    /// `kzalloc()` memory is zero, even when the slot was dirty before.
    #[test]
    fn kzalloc_is_zero() -> Result {
        for len in [1usize, 64, 100, 4096, 3 * PAGE_SIZE + 5] {
            let dirty = KmallocBuf::alloc(len, Gfp::GFP_KERNEL)?.fill(0xff);
            assert!(dirty.as_slice().iter().all(|&b| b == 0xff));
            drop(dirty);
            let z = KmallocBuf::zalloc(len, Gfp::GFP_KERNEL)?;
            assert!(z.as_slice().iter().all(|&b| b == 0));
        }
        Ok(())
    }

    /// `ksize()` is the size class: at least the request, a power of two or
    /// one of the 96/192 classes, and exactly the request for class sizes.
    #[test]
    fn ksize_is_the_size_class() -> Result {
        for (len, class) in [
            (1usize, 8usize),
            (8, 8),
            (9, 16),
            (65, 96),
            (100, 128),
            (129, 192),
            (4000, 4096),
        ] {
            let b = KmallocBuf::alloc(len, Gfp::GFP_KERNEL)?;
            assert_eq!(b.ksize(), class);
        }
        let big = KmallocBuf::alloc(5 * PAGE_SIZE, Gfp::GFP_KERNEL)?;
        assert!(big.ksize() >= 5 * PAGE_SIZE);
        Ok(())
    }

    /// A multi-page kmalloc is physically contiguous: consecutive pfns.
    #[test]
    fn multi_page_kmalloc_is_contiguous() -> Result {
        for len in [2 * PAGE_SIZE, 16 * PAGE_SIZE + 1, KMALLOC_MAX_SIZE] {
            let b = KmallocBuf::alloc(len, Gfp::GFP_KERNEL | Gfp::__GFP_NOWARN)?;
            let mut prev: Option<usize> = None;
            let mut n = 0;
            for p in b.pages() {
                if let Some(q) = prev {
                    assert_eq!(p.pfn().0, q + 1);
                }
                prev = Some(p.pfn().0);
                n += 1;
            }
            assert!(n >= len / PAGE_SIZE);
        }
        Ok(())
    }

    /// Zero and over-KMALLOC_MAX_SIZE requests fail with EINVAL before
    /// reaching the allocator; raw `kmalloc()` of 64 MiB with `__GFP_NOWARN`
    /// fails too, quietly.
    #[test]
    fn limits() {
        assert_eq!(KmallocBuf::alloc(0, Gfp::GFP_KERNEL).err(), Some(EINVAL));
        assert_eq!(
            KmallocBuf::alloc(KMALLOC_MAX_SIZE + 1, Gfp::GFP_KERNEL).err(),
            Some(EINVAL)
        );
        assert_eq!(
            KmallocBuf::zalloc(64 << 20, Gfp::GFP_KERNEL).err(),
            Some(EINVAL)
        );
        // Masks slab cannot serve are refused before kmalloc()'s
        // `kmalloc_fix_flags()` stack dump.
        assert_eq!(KmallocBuf::alloc(64, Gfp::GFP_HIGHUSER).err(), Some(EINVAL));
        assert_eq!(
            KmallocBuf::alloc(64, Gfp::GFP_KERNEL | Gfp::GFP_DMA32).err(),
            Some(EINVAL)
        );
        assert_eq!(
            KmallocBuf::zalloc(64, Gfp::GFP_KERNEL | Gfp::GFP_DMA | Gfp::GFP_DMA32).err(),
            Some(EINVAL)
        );
        // SAFETY: a plain kmalloc call; NULL is expected and nothing is freed.
        let raw =
            unsafe { mapdrv_kmalloc(64 << 20, (Gfp::GFP_KERNEL | Gfp::__GFP_NOWARN).as_raw()) };
        assert!(raw.is_null());
    }

    /// Small objects come from the slab (the page is a slab page, not a
    /// page-allocator block): the object lies inside one page.
    #[test]
    fn small_objects_share_pages() -> Result {
        let a = KmallocBuf::alloc(64, Gfp::GFP_KERNEL)?;
        let b = KmallocBuf::alloc(64, Gfp::GFP_KERNEL)?;
        assert_eq!(a.pages().count(), 1);
        assert!(a.as_ptr() != b.as_ptr());
        assert_eq!(a.as_ptr() as usize % 8, 0);
        Ok(())
    }
}
