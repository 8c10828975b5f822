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
//! [`VmallocBuf::phys_runs`] tells.) `virt_to_page()` does not work on it;
//! `vmalloc_to_page()` walks the page tables instead. That is why such a
//! buffer cannot be mapped to user space with one `remap_pfn_range()` and
//! is mapped page by page on fault (see [`crate::mm::virt`]).
//!
//! Three types, by what the memory is for: [`VmallocBuf`] is kernel-private
//! (byte views once initialised); [`UserVmalloc`] is a `vmalloc_user()`
//! buffer being initialised by its owner; [`SharedUserVmalloc`], made from
//! it by a consuming [`UserVmalloc::share`], is the one user space may map,
//! and it has no `&[u8]` view, only raw copies. In exchange it can be far larger than `kmalloc()`'s
//! limit (`KMALLOC_MAX_SIZE`, one top-order block).
//!
//! The `kernel` crate's `VBox<T>` / `VVec<T>` (allocator `Vmalloc`) are the
//! typed way to vmalloc in Rust; [`VmallocBuf`] is the page-level view:
//! the buffer, its pages and the physical runs they form.
//!
//! # Examples
//!
//! ```no_run
//! use crate::mm::vmalloc::VmallocBuf;
//! let buf = VmallocBuf::zalloc(64 << 20)?;        // 64 MiB: far above KMALLOC_MAX_SIZE
//! assert!(buf.is_vmalloc_addr());
//! assert_eq!(buf.page_count(), (64 << 20) / crate::mm::page::PAGE_SIZE);
//! let runs = buf.phys_runs();  // 1 on a fresh system, many once memory has been churned
//! ```

use crate::mm::gfp::Gfp;
use crate::mm::helpers::*;
use crate::mm::owned::{Contents, Init, Owned, Release, Uninit};
use crate::mm::page::{UserPage, PAGE_SIZE};
use crate::mm::pfn::{pfn_runs, PageRef};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::mm::virt::VmaNew;
use kernel::prelude::*;
use kernel::uaccess::UserPtr;

/// Gives a `vmalloc()` buffer back with `vfree()`.
pub(crate) struct Vfree;

// SAFETY: `VmallocBuf`'s constructors hand `Owned` only `__vmalloc()`
// buffers. Any thread may `vfree()` one. (As with upstream's `VBox`, a drop
// in atomic context is a `might_sleep()` report, not memory unsafety; from
// interrupt context `vfree()` defers.)
unsafe impl Release for Vfree {
    #[inline]
    unsafe fn release(&self, ptr: NonNull<u8>, _size: usize) {
        // SAFETY: a vmalloc buffer being dropped (the trait's contract).
        unsafe { mapdrv_vfree(ptr.as_ptr().cast()) };
    }
}

/// A kernel-private `vmalloc()`ed buffer of whole pages, `vfree()`d on
/// `Drop`.
///
/// `S` says what is known of the contents ([`VmallocBuf::alloc`]:
/// [`Uninit`], [`VmallocBuf::zalloc`] and [`Owned::fill`]: [`Init`]).
/// Nothing here maps the buffer into user space, which is why it may offer
/// `&[u8]` views; a buffer for user space is a [`UserVmalloc`]. `size()` is
/// a non-zero multiple of `PAGE_SIZE`.
pub(crate) type VmallocBuf<S = Uninit> = Owned<Vfree, S>;

/// `len` rounded up to whole pages, or `EINVAL` for 0 or an absurd size.
fn page_len(len: usize) -> Result<usize> {
    if len == 0 {
        return Err(EINVAL);
    }
    len.checked_next_multiple_of(PAGE_SIZE).ok_or(EINVAL)
}

/// The page behind `ptr + index * PAGE_SIZE` (`vmalloc_to_page()`).
///
/// # Safety
///
/// `ptr` must be a live vmalloc buffer of more than `index` pages.
unsafe fn vmalloc_page(ptr: NonNull<u8>, index: usize) -> Option<NonNull<bindings::page>> {
    // SAFETY: the address lies inside a live vmalloc buffer (the contract).
    NonNull::new(unsafe { bindings::vmalloc_to_page(ptr.as_ptr().add(index * PAGE_SIZE).cast()) })
}

impl VmallocBuf<Uninit> {
    /// `vmalloc(len)`, `len` rounded up to whole pages. Sleeps.
    ///
    /// `EINVAL` for `len == 0`; `ENOMEM` on failure, including requests
    /// larger than RAM or the vmalloc area. `vmalloc(size)` is
    /// `__vmalloc(size, GFP_KERNEL)`; mapdrv calls `__vmalloc(size,
    /// GFP_KERNEL | __GFP_NOWARN)` so that a failure is an `ENOMEM` for the
    /// caller rather than a stack dump in the log.
    pub(crate) fn alloc(len: usize) -> Result<Self> {
        Self::with_gfp(len, Gfp::GFP_KERNEL | Gfp::__GFP_NOWARN)
    }

    fn with_gfp(len: usize, gfp: Gfp) -> Result<Self> {
        let size = page_len(len)?;
        let raw = gfp.for_pages()?;
        // SAFETY: `__vmalloc()` with `GFP_KERNEL` may sleep; callers are in
        // process context.
        let ptr = unsafe { mapdrv_vmalloc(size as c_ulong, raw) };
        let ptr = NonNull::new(ptr.cast()).ok_or(ENOMEM)?;
        // SAFETY: a non-NULL result is a buffer of `size` bytes that we own,
        // mapped only in the vmalloc area, freed by `vfree()`.
        Ok(unsafe { Owned::from_raw(ptr, size, Vfree) })
    }
}

impl VmallocBuf<Init> {
    /// `vzalloc(len)`: like [`VmallocBuf::alloc`], zeroed
    /// (`__GFP_ZERO` added to the mask).
    pub(crate) fn zalloc(len: usize) -> Result<Self> {
        let buf = VmallocBuf::with_gfp(len, Gfp::GFP_KERNEL | Gfp::__GFP_NOWARN | Gfp::__GFP_ZERO)?;
        // SAFETY: `__GFP_ZERO` zeroed every page.
        Ok(unsafe { buf.assume_init() })
    }
}

impl<S: Contents> VmallocBuf<S> {
    /// The number of pages.
    #[inline]
    pub(crate) fn page_count(&self) -> usize {
        self.size() / PAGE_SIZE
    }

    /// Whether the address lies in the vmalloc area (`is_vmalloc_addr()`).
    pub(crate) fn is_vmalloc_addr(&self) -> bool {
        // SAFETY: `is_vmalloc_addr()` only compares the address with the
        // bounds of the area.
        unsafe { bindings::is_vmalloc_addr(self.as_ptr().cast()) }
    }

    /// The page behind page number `index` (`vmalloc_to_page()`), for
    /// inspection, or `None` past the end.
    pub(crate) fn page(&self, index: usize) -> Option<PageRef<'_>> {
        if index >= self.page_count() {
            return None;
        }
        // SAFETY: `as_ptr()` is the non-null address of our live buffer
        // (`Owned`'s invariant), and `index` is inside it (checked above).
        let p = unsafe { vmalloc_page(NonNull::new_unchecked(self.as_ptr()), index) }?;
        // SAFETY: the page backs our buffer and lives as long as it.
        Some(unsafe { PageRef::from_raw(p) })
    }

    /// The pages behind the buffer, in virtual order.
    pub(crate) fn pages(&self) -> impl Iterator<Item = PageRef<'_>> + '_ {
        (0..self.page_count()).map_while(move |i| self.page(i))
    }

    /// How many physically contiguous runs the buffer's pages form: 1 means
    /// one contiguous block, `page_count()` means no two neighbours are
    /// adjacent in physical memory.
    pub(crate) fn phys_runs(&self) -> usize {
        pfn_runs(self.pages()).count()
    }
}

/// A `struct page *` of a `vmalloc_user()` buffer, as [`PageArray`] keeps it.
#[derive(Clone, Copy)]
struct PagePtr(NonNull<bindings::page>);

// SAFETY: a pointer to a `struct page`, which lives in the kernel's memory
// map, not in any thread; sending or sharing the pointer does nothing to
// the page (what may be done with it is decided by `PageArray`'s owner).
unsafe impl Send for PagePtr {}
// SAFETY: as above; `&PagePtr` only copies the pointer.
unsafe impl Sync for PagePtr {}

/// The pages of a `vmalloc_user()` buffer, in order, looked up once when it
/// is allocated, so that a fault finds its page by index instead of walking
/// the kernel page tables (`vmalloc_to_page()`) every time (README,
/// "Performance": what that saves per fault).
///
/// The kernel keeps the same array in the area's `vm_struct` (`pages`), but
/// `find_vm_area()` is not exported to modules, so the buffer keeps its
/// own: one pointer per page (0.2 % of the buffer with 4 KiB pages), in a
/// `KVVec` (kvmalloc).
///
/// # Invariants
///
/// `pages[i]` is the page `vmalloc_to_page()` returned for page `i` of the
/// buffer this array belongs to. That page stays the buffer's until
/// `vfree()`: a vmalloc area's pages are set once by
/// `vm_area_alloc_pages()` and released (the array entries cleared) only by
/// `vm_area_free_pages()`, which `vfree()` calls, or by `vrealloc()`
/// shrinking a buffer, which nothing does to these (mm/vmalloc.c); vmalloc
/// pages are not movable, so nothing migrates them.
struct PageArray {
    pages: KVVec<PagePtr>,
}

impl PageArray {
    /// Looks up every page of the live vmalloc buffer `ptr` of `count`
    /// pages.
    ///
    /// # Safety
    ///
    /// `ptr` must be a live vmalloc buffer of `count` pages.
    unsafe fn new(ptr: NonNull<u8>, count: usize) -> Result<Self> {
        let mut pages = KVVec::with_capacity(count, GFP_KERNEL)?;
        for i in 0..count {
            // SAFETY: `i < count`, inside the live buffer (the contract).
            let p = unsafe { vmalloc_page(ptr, i) }.ok_or(ENOMEM)?;
            pages.push(PagePtr(p), GFP_KERNEL)?;
        }
        // INVARIANT: entry `i` is `vmalloc_to_page()` of page `i`.
        Ok(PageArray { pages })
    }

    #[inline]
    fn get(&self, index: usize) -> Option<NonNull<bindings::page>> {
        self.pages.get(index).map(|p| p.0)
    }
}

/// Gives a `vmalloc_user()` buffer back with `vfree()`, and carries its
/// [`PageArray`] to the [`SharedUserVmalloc`] it becomes. A type of its own
/// (not [`Vfree`]) so that [`UserVmalloc`], the only owner that can become
/// a [`SharedUserVmalloc`], is not a [`VmallocBuf`]: only `vmalloc_user()`
/// buffers are zeroed and marked `VM_USERMAP`.
pub(crate) struct VfreeUser {
    pages: PageArray,
}

// SAFETY: `UserVmalloc::zalloc` hands `Owned` only `vmalloc_user()`
// buffers, which `vfree()` frees from any thread (as for `Vfree`); the
// array is plain memory (`PagePtr` is `Send + Sync`) freed with it.
unsafe impl Release for VfreeUser {
    #[inline]
    unsafe fn release(&self, ptr: NonNull<u8>, _size: usize) {
        // SAFETY: a vmalloc buffer being dropped (the trait's contract).
        unsafe { mapdrv_vfree(ptr.as_ptr().cast()) };
    }
}

/// A zeroed `vmalloc_user()` buffer meant for user space, while it is still
/// private to its creator: the initialisation phase.
///
/// It may be written through `&mut [u8]` (nothing else can see it yet);
/// [`UserVmalloc::share`] then turns it into a [`SharedUserVmalloc`], the
/// only type in this crate that hands out [`UserPage`]s. The order is
/// enforced by the types: a shared buffer has no slice views at all. The
/// buffer is zeroed, `SHMLBA`-aligned, its area marked `VM_USERMAP`, and
/// `size()` a non-zero multiple of `PAGE_SIZE`.
pub(crate) type UserVmalloc = Owned<VfreeUser, Init>;

impl UserVmalloc {
    /// `vmalloc_user(len)`, `len` rounded up to whole pages: zeroed,
    /// `SHMLBA`-aligned, its area marked `VM_USERMAP` (which
    /// [`SharedUserVmalloc::map_to_user`] needs). The mask is fixed,
    /// `GFP_KERNEL | __GFP_ZERO`, without `__GFP_NOWARN` (the function that
    /// takes a mask and `VM_USERMAP`, `__vmalloc_node_range()`, is not
    /// exported to modules), so a failure logs an allocation warning
    /// before `ENOMEM`. Sleeps.
    pub(crate) fn zalloc(len: usize) -> Result<Self> {
        let size = page_len(len)?;
        // SAFETY: may sleep; callers are in process context.
        let ptr = unsafe { mapdrv_vmalloc_user(size as c_ulong) };
        let ptr = NonNull::new(ptr.cast()).ok_or(ENOMEM)?;
        // SAFETY: `ptr` is the live buffer of `size / PAGE_SIZE` pages just
        // allocated.
        let pages = match unsafe { PageArray::new(ptr, size / PAGE_SIZE) } {
            Ok(pages) => pages,
            Err(e) => {
                // SAFETY: ours, never handed out; freed once, here.
                unsafe { mapdrv_vfree(ptr.as_ptr().cast()) };
                return Err(e);
            }
        };
        // SAFETY: a fresh, zeroed (hence `Init`) buffer of `size` bytes that
        // we own, not mapped into user space yet, freed by `vfree()`.
        Ok(unsafe { Owned::from_raw(ptr, size, VfreeUser { pages }) })
    }

    /// Ends the private phase: from now on the pages may be mapped into user
    /// space, and the kernel touches the memory only through raw copies.
    pub(crate) fn share(self) -> SharedUserVmalloc {
        let (ptr, size, VfreeUser { pages }) = self.into_raw();
        // INVARIANT: the same owned `vmalloc_user()` buffer, taken over from
        // the `Owned` (which no longer frees it), with its own page array;
        // no reference to its memory survives (the slice borrows ended with
        // `self`).
        SharedUserVmalloc { ptr, size, pages }
    }
}

/// The most one copy to or from user space moves: `check_copy_size()`
/// (`include/linux/ucopysize.h`) `WARN`s on more than `INT_MAX` bytes. The
/// VFS never asks for more (`MAX_RW_COUNT`), other callers get a short copy.
const MAX_COPY: usize = i32::MAX as usize;

/// How many bytes of `offset..offset + len` a copy moves in a buffer of
/// `size` bytes: clamped to the buffer and to [`MAX_COPY`].
fn copy_len(size: usize, offset: usize, len: usize) -> usize {
    len.min(size.saturating_sub(offset)).min(MAX_COPY)
}

/// A `vmalloc_user()` buffer that user space may map: [`UserPage`]s for
/// fault handlers, [`SharedUserVmalloc::map_to_user`] for eager mappings,
/// and raw copies to and from user space for `read`/`write`.
///
/// User space can write the memory at any time, from any CPU, through a
/// mapping; a Rust reference to it (`&[u8]`, `&mut [u8]`, even
/// `&[MaybeUninit<u8>]`) would assert that it does not change, which is
/// false. So this type has no slice view: the kernel side copies with
/// `copy_to_user()`/`copy_from_user()` (byte copies that tolerate
/// concurrent writers, through hardened usercopy's checks) or reads single
/// bytes with volatile loads.
///
/// Lifetime: `vfree()` in `Drop` drops the buffer's own reference to each
/// page. A page still mapped somewhere keeps the reference its page table
/// entry took and is freed when it is unmapped, so dropping the buffer
/// under a live mapping is sound (the mapping merely stops being shared
/// with anything).
///
/// # Invariants
///
/// `ptr` was returned by `vmalloc_user()` for `size` bytes (a non-zero
/// multiple of `PAGE_SIZE`), is owned by this value, and is never behind a
/// Rust reference. Its pages are order-0, non-compound pages that
/// `vm_area_alloc_pages()` took from the page allocator (split if they came
/// as a larger block), each holding one reference owned by the area until
/// `vfree()`. `pages` is this buffer's [`PageArray`].
pub(crate) struct SharedUserVmalloc {
    ptr: NonNull<u8>,
    size: usize,
    pages: PageArray,
}

// SAFETY: owned memory, freed with `vfree()` in a sleepable context.
unsafe impl Send for SharedUserVmalloc {}
// SAFETY: `&self` methods only copy bytes with raw accesses, or read page
// tables and page metadata; none assumes the memory is unchanging.
unsafe impl Sync for SharedUserVmalloc {}

impl SharedUserVmalloc {
    /// The size in bytes (whole pages).
    #[inline]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The number of pages.
    #[inline]
    pub(crate) fn page_count(&self) -> usize {
        self.size / PAGE_SIZE
    }

    /// The buffer's address in the vmalloc area (raw: for printing and
    /// address arithmetic, not for making references).
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The page behind page number `index`, to hand to user space, or
    /// `None` past the end: an index into the buffer's own page array, no page
    /// table walk. It borrows the buffer: it cannot outlive it.
    #[inline]
    pub(crate) fn page(&self, index: usize) -> Option<UserPage<'_>> {
        // The page `vmalloc_to_page()` gave for `index` at allocation, still
        // the buffer's (`PageArray`'s invariant: it changes only at `vfree()`).
        let p = self.pages.get(index)?;
        // The area holds one reference per page until `vfree()` in our
        // `Drop`, which the `&self` borrow holds off for the page's lifetime.
        // SAFETY: a page of a live `vmalloc_user()` area (type invariant):
        // order 0, non-compound, not slab/anonymous/reserved, referenced.
        Some(unsafe { UserPage::from_raw(p) })
    }

    /// Byte `offset`, read with a volatile load (user space may be writing
    /// it). `None` past the end.
    pub(crate) fn read_byte(&self, offset: usize) -> Option<u8> {
        if offset >= self.size {
            return None;
        }
        // SAFETY: inside our live buffer; a volatile byte load makes no
        // claim that the memory is unchanging.
        Some(unsafe { self.ptr.as_ptr().add(offset).read_volatile() })
    }

    /// Copies up to `len` bytes from `offset` to user space at `to`
    /// (`copy_to_user()`), clamped to the buffer and to `INT_MAX` bytes
    /// ([`MAX_COPY`]); returns the bytes copied,
    /// 0 at or past the end. `EFAULT` if nothing could be copied.
    pub(crate) fn copy_to_user(&self, offset: usize, to: UserPtr, len: usize) -> Result<usize> {
        let n = self.clamp(offset, len);
        if n == 0 {
            return Ok(0);
        }
        // SAFETY: `offset + n <= size`: the source lies in our live buffer.
        // The copy uses raw byte accesses, fine with concurrent writers.
        let left = unsafe {
            mapdrv_copy_to_user(
                to.as_mut_ptr(),
                self.ptr.as_ptr().add(offset).cast(),
                n as c_ulong,
            )
        } as usize;
        Self::copied(n, left)
    }

    /// Copies up to `len` bytes from user space at `from` into the buffer
    /// at `offset`, clamped to the buffer and to `INT_MAX` bytes; returns
    /// the bytes copied, 0 at
    /// or past the end. `EFAULT` if nothing could be copied. Bytes it
    /// could not copy keep their contents (unlike `copy_from_user()`, which
    /// zero-fills them: see `mapdrv_copy_from_user` in `helpers.c`).
    pub(crate) fn copy_from_user(&self, offset: usize, from: UserPtr, len: usize) -> Result<usize> {
        let n = self.clamp(offset, len);
        if n == 0 {
            return Ok(0);
        }
        // SAFETY: `offset + n <= size`: the destination lies in our live
        // buffer, which is never behind a Rust reference (type invariant),
        // so writing through `&self` breaks no aliasing rule.
        let left = unsafe {
            mapdrv_copy_from_user(
                self.ptr.as_ptr().add(offset).cast(),
                from.as_const_ptr(),
                n as c_ulong,
            )
        } as usize;
        Self::copied(n, left)
    }

    /// The bytes `offset..offset + len` clamped to the buffer and to
    /// [`MAX_COPY`]: their count.
    fn clamp(&self, offset: usize, len: usize) -> usize {
        copy_len(self.size, offset, len)
    }

    /// The result of a copy of `n` bytes that left `left` uncopied.
    fn copied(n: usize, left: usize) -> Result<usize> {
        match n.saturating_sub(left) {
            0 => Err(EFAULT),
            done => Ok(done),
        }
    }

    /// Maps the whole new VMA `vma` to the buffer's pages from page `pgoff`
    /// on, right now (`remap_vmalloc_range()`): the eager alternative to
    /// mapping page by page on fault. Every page gets a page table entry
    /// and a reference; the VMA becomes `VM_MIXEDMAP | VM_DONTEXPAND |
    /// VM_DONTDUMP`. `EINVAL` if the VMA reaches past the buffer's end;
    /// `ENOMEM` if a page table cannot be allocated.
    pub(crate) fn map_to_user(&self, vma: &VmaNew, pgoff: usize) -> Result {
        let fits = pgoff
            .checked_mul(PAGE_SIZE)
            .and_then(|off| off.checked_add(vma.end() - vma.start()))
            .is_some_and(|end| end <= self.size);
        if !fits {
            return Err(EINVAL);
        }
        // The pages stay valid while mapped: each entry holds a reference.
        // SAFETY: a new VMA in `mmap`, mmap lock held for writing (as
        // `vm_insert_page()` needs); a live `VM_USERMAP` area (type
        // invariant), range inside.
        let ret = unsafe {
            mapdrv_remap_vmalloc_range(vma.as_ptr(), self.ptr.as_ptr().cast(), pgoff as c_ulong)
        };
        kernel::error::to_result(ret)
    }
}

impl Drop for SharedUserVmalloc {
    fn drop(&mut self) {
        // SAFETY: we own the buffer; this is the only place it is freed.
        // Pages still mapped keep their mappings' references (see above).
        unsafe { mapdrv_vfree(self.ptr.as_ptr().cast()) };
    }
}

/// The bounds of the vmalloc area, `VMALLOC_START..VMALLOC_END`.
pub(crate) fn vmalloc_area() -> core::ops::Range<usize> {
    // SAFETY: both read boot-time constants.
    unsafe { mapdrv_vmalloc_start() as usize..mapdrv_vmalloc_end() as usize }
}

#[kunit_tests(mapdrv_vmalloc)]
mod tests {
    use super::*;

    /// A copy never moves more than the buffer holds past `offset`, nor
    /// more than `INT_MAX` bytes (`check_copy_size()` `WARN`s above that),
    /// whatever the buffer's size: a 4 GiB buffer copies 2 GiB - 1 at most.
    #[test]
    fn copies_are_clamped_to_the_buffer_and_int_max() {
        const INT_MAX: usize = 0x7fff_ffff;
        assert_eq!(copy_len(8192, 0, 100), 100);
        assert_eq!(copy_len(8192, 8000, 1000), 192);
        assert_eq!(copy_len(8192, 8192, 1), 0);
        assert_eq!(copy_len(8192, usize::MAX, 1), 0);
        assert_eq!(copy_len(4 << 30, 0, usize::MAX), INT_MAX);
        assert_eq!(copy_len(4 << 30, (4 << 30) - 10, usize::MAX), 10);
    }

    /// `vmalloc_user()`: zeroed, in the vmalloc area, page-granular.
    #[test]
    fn user_buffers_are_zeroed_vmalloc() -> Result {
        let mut b = UserVmalloc::zalloc(3 * PAGE_SIZE + 5)?;
        assert!(b.as_slice().iter().all(|&x| x == 0));
        assert_eq!(b.as_slice().len(), 4 * PAGE_SIZE);
        b.as_mut_slice()[PAGE_SIZE + 1] = 0x42;
        let shared = b.share();
        // SAFETY: only compares the address with the area's bounds.
        assert!(unsafe { bindings::is_vmalloc_addr(shared.as_ptr().cast()) });
        assert_eq!(shared.page_count(), 4);
        assert_eq!(shared.read_byte(PAGE_SIZE + 1), Some(0x42));
        assert_eq!(shared.read_byte(4 * PAGE_SIZE), None);
        assert!(shared.page(3).is_some() && shared.page(4).is_none());
        assert_eq!(UserVmalloc::zalloc(0).err(), Some(EINVAL));
        Ok(())
    }

    /// The pages a shared buffer hands out for user space are what the
    /// mapping rules require: one reference each (the area's), not slab,
    /// not reserved, and the ones `vmalloc_to_page()` finds in the direct map.
    #[test]
    fn user_pages_are_mappable() -> Result {
        let mut b = UserVmalloc::zalloc(8 * PAGE_SIZE)?;
        for i in 0..8 {
            b.as_mut_slice()[i * PAGE_SIZE] = i as u8 + 1;
        }
        let shared = b.share();
        for i in 0..8 {
            let p = shared.page(i).ok_or(EINVAL)?.info();
            assert_eq!(p.refcount(), 1);
            assert!(!p.is_reserved());
            // SAFETY: the page backs our live buffer; we read one byte of
            // it through its direct-map alias, nobody maps it.
            let v = unsafe { p.direct_map_addr().read_volatile() };
            assert_eq!(v, i as u8 + 1);
        }
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
            b.as_uninit_mut()[i * PAGE_SIZE + 17].write(0x40 + i as u8);
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
