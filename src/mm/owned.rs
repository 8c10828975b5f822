// SPDX-License-Identifier: GPL-2.0

//! The owner every byte-addressed allocation of this layer is made of.
//!
//! A `kmalloc()` object, a `__get_free_pages()` block, a `vmalloc()` buffer,
//! a `vmalloc_user()` buffer before it is shared and a mempool element are
//! all the same thing to own: an address, a size, the one call that gives
//! them back, and what is known of the contents. [`Owned`] is that owner,
//! written once; the allocator is its type parameter, a [`Release`], as in
//! upstream's `Box<T, A: Allocator>` (`rust/kernel/alloc/kbox.rs`). Each
//! family module names its instance and adds what its API offers:
//!
//! ```text
//! pub(crate) type KmallocBuf<S = Uninit> = Owned<Kfree, S>;     // kmalloc.rs
//! pub(crate) type FreePages<S = Uninit> = Owned<FreePagesOrder, S>; // page.rs
//! pub(crate) type VmallocBuf<S = Uninit> = Owned<Vfree, S>;     // vmalloc.rs
//! pub(crate) type UserVmalloc = Owned<VfreeUser, Init>;         // vmalloc.rs
//! pub(crate) type PoolElement<'p> = Owned<PoolFree<'p>, Uninit>; // mempool.rs
//! ```
//!
//! `S` is [`Uninit`] (only `MaybeUninit<u8>` views: the allocator may hand
//! out bytes nobody wrote) or [`Init`] (`u8` views); [`Owned::fill`] or a
//! zeroing constructor moves from the first to the second. Every instance
//! is kernel-private memory: nothing maps it into user space, which is what
//! makes `&[u8]` views sound. The block of pages known by its `struct page`
//! ([`crate::mm::page::Pages`]) is the one owner not built on this type:
//! it is freed through its page, not its address.

use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr::NonNull;

/// Marker: the memory may hold anything, including bytes nobody wrote
/// (an allocation without `__GFP_ZERO`). Only [`MaybeUninit`] views.
pub(crate) struct Uninit;

/// Marker: every byte has been written (zeroed by the allocator or filled
/// by this crate), so `&[u8]` views are sound.
pub(crate) struct Init;

mod sealed {
    pub(crate) trait Sealed {}
    impl Sealed for super::Uninit {}
    impl Sealed for super::Init {}
}

/// What is known about the contents of an owned allocation: [`Uninit`] or
/// [`Init`]. Sealed: a third state could claim initialisation it lacks.
pub(crate) trait Contents: sealed::Sealed {}
impl Contents for Uninit {}
impl Contents for Init {}

/// A view of `len` possibly uninitialised bytes at `ptr`.
///
/// # Safety
///
/// `ptr` must be valid for reads of `len` bytes for `'a`, and nothing may
/// write them through another path during `'a`.
#[inline]
pub(crate) unsafe fn uninit_bytes<'a>(ptr: *const u8, len: usize) -> &'a [MaybeUninit<u8>] {
    // `MaybeUninit<u8>` has alignment 1 and any byte, written or not, is a
    // valid value of it.
    // SAFETY: `len` bytes readable for `'a`, no writer meanwhile (contract).
    unsafe { core::slice::from_raw_parts(ptr.cast(), len) }
}

/// A writable view of `len` possibly uninitialised bytes at `ptr`.
///
/// # Safety
///
/// `ptr` must be valid for reads and writes of `len` bytes for `'a`, and
/// nothing else may access them during `'a`.
#[inline]
pub(crate) unsafe fn uninit_bytes_mut<'a>(ptr: *mut u8, len: usize) -> &'a mut [MaybeUninit<u8>] {
    // `MaybeUninit<u8>` has alignment 1 and any byte is a valid value of it.
    // SAFETY: `len` bytes readable and writable for `'a`, reached by nothing
    // else meanwhile (the contract), so the unique slice aliases nothing.
    unsafe { core::slice::from_raw_parts_mut(ptr.cast(), len) }
}

/// How an [`Owned`] allocation is given back: `kfree()`, `free_pages()`,
/// `vfree()`, `mempool_free()`. The value may carry what the call needs
/// (an order, a pool).
///
/// # Safety
///
/// An implementer promises that memory its family's constructors hand to
/// [`Owned::from_raw`] with this value is released correctly, and only, by
/// [`Release::release`], from any thread (hence `Send + Sync`) in any
/// context where the owner may be dropped.
pub(crate) unsafe trait Release: Send + Sync {
    /// Gives the memory back.
    ///
    /// # Safety
    ///
    /// `ptr` and `size` must be those of an [`Owned`] built with this
    /// value, which is being dropped: the call happens once, and nothing
    /// uses the memory afterwards.
    unsafe fn release(&self, ptr: NonNull<u8>, size: usize);
}

/// An owned, kernel-private allocation of `size` bytes, given back by
/// `Drop` through its [`Release`].
///
/// # Invariants
///
/// `ptr` is valid for reads and writes of `size > 0` bytes and exclusively
/// owned by this value until `release.release(ptr, size)` runs in `Drop`,
/// which is how that memory must be freed. No user-space mapping reaches
/// it. If `S` is [`Init`], all `size` bytes have been written.
pub(crate) struct Owned<R: Release, S: Contents = Uninit> {
    ptr: NonNull<u8>,
    size: usize,
    release: R,
    _contents: PhantomData<S>,
}

// SAFETY: the memory is owned by this value and tied to no thread, and `R`
// releases it from any thread (`Release`'s contract, `R: Send`).
unsafe impl<R: Release, S: Contents> Send for Owned<R, S> {}
// SAFETY: `&self` methods only read the memory (`as_uninit`, `as_slice`)
// or `R`, which is `Sync`.
unsafe impl<R: Release, S: Contents> Sync for Owned<R, S> {}

impl<R: Release, S: Contents> Owned<R, S> {
    /// Takes ownership of an allocation.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes of `size > 0` bytes,
    /// exclusively owned by the caller, not reachable from user space, and
    /// freed correctly by `release` (`Release`'s contract). If `S` is
    /// [`Init`], all `size` bytes must have been written.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: NonNull<u8>, size: usize, release: R) -> Self {
        // INVARIANT: the caller's guarantees are the type's invariants.
        Owned {
            ptr,
            size,
            release,
            _contents: PhantomData,
        }
    }

    /// The same allocation, known to be initialised.
    ///
    /// # Safety
    ///
    /// Every byte must have been written.
    pub(crate) unsafe fn assume_init(self) -> Owned<R, Init> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so reading its
        // `release` moves it.
        let release = unsafe { core::ptr::read(&this.release) };
        // INVARIANT: the same owned allocation; initialised per the caller.
        Owned {
            ptr: this.ptr,
            size: this.size,
            release,
            _contents: PhantomData,
        }
    }

    /// The allocation's address.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Its size in bytes: what was asked for (`kmalloc()`), or whole pages.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// How it will be given back (the family's extra state: an order, a pool).
    #[inline]
    pub(crate) fn release(&self) -> &R {
        &self.release
    }

    /// The memory, possibly uninitialised.
    pub(crate) fn as_uninit(&self) -> &[MaybeUninit<u8>] {
        // SAFETY: `size` owned bytes (type invariant); `&self` excludes
        // writers for the borrow.
        unsafe { uninit_bytes(self.ptr.as_ptr(), self.size) }
    }
}

impl<R: Release> Owned<R, Uninit> {
    /// Fills the allocation with `byte`; from then on it has `u8` views.
    pub(crate) fn fill(mut self, byte: u8) -> Owned<R, Init> {
        for b in self.as_uninit_mut() {
            b.write(byte);
        }
        // SAFETY: every byte was just written.
        unsafe { self.assume_init() }
    }

    /// The memory, possibly uninitialised, writable. Only while nothing is
    /// known of the contents: on an [`Init`] allocation it would let safe
    /// code write `MaybeUninit::uninit()` over bytes that
    /// [`Owned::as_slice`] then reads as `u8` (the conversion `&mut [u8]` to
    /// `&mut [MaybeUninit<u8>]` that core keeps `unsafe`).
    pub(crate) fn as_uninit_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: `size` owned bytes (type invariant); `&mut self` makes the
        // access unique.
        unsafe { uninit_bytes_mut(self.ptr.as_ptr(), self.size) }
    }
}

impl<R: Release> Owned<R, Init> {
    /// The memory.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `size` owned bytes, all written (`Init`), that no user
        // mapping reaches (type invariant); `&self` excludes writers.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.size) }
    }

    /// The memory, writable.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` makes the access unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.size) }
    }

    /// Gives up ownership without releasing: the caller takes over the
    /// memory at the returned address (as `KBox::into_raw`).
    pub(crate) fn into_raw(self) -> (NonNull<u8>, usize, R) {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is a `ManuallyDrop`, so its `release` is never
        // dropped, and `this` is not used after the fields are copied out:
        // the read moves the value out once, with no duplicate left behind.
        let release = unsafe { core::ptr::read(&this.release) };
        (this.ptr, this.size, release)
    }
}

impl<R: Release, S: Contents> Drop for Owned<R, S> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the memory is ours and `release`
        // is how it must be freed; `Drop` runs once, and nothing uses the
        // memory afterwards.
        unsafe { self.release.release(self.ptr, self.size) };
    }
}
