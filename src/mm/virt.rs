// SPDX-License-Identifier: GPL-2.0

//! VMA operations: a safe `vm_operations_struct` with a `.fault` handler.
//!
//! C API: `struct vm_operations_struct` (`include/linux/mm.h`): `.open`,
//! `.close` and `.fault`, and `vma->vm_private_data`.
//!
//! A driver that maps memory into user space lazily sets `vma->vm_ops` in
//! its `mmap` handler; from then on every first touch of a page in the VMA
//! calls `.fault`, which hands the page to the fault path
//! (`vmf->page`, with a reference taken by `get_page()`), and the core
//! installs the page table entry. `.open` runs when the VMA is copied (fork,
//! split, mremap move), `.close` when a VMA goes away.
//!
//! The `kernel` crate (7.2) can set VMA flags on a new VMA (`VmaNew`) but has
//! no way to install operations. [`VmOperations`] fills that gap:
//!
//! - the implementor writes safe methods: `fault` returns a [`UserPage`]
//!   borrowed from its own data ([`Fault::Page`]), or maps a batch of them
//!   itself with [`VmFault::map_pages`] ([`Fault::Mapped`]), or fails with a
//!   [`FaultError`]; it never sees a raw pointer;
//! - [`install`] stores an `Arc<T>` in `vm_private_data`; every VMA (and
//!   every copy of it, through `.open`) owns one reference, dropped in
//!   `.close`. The data therefore outlives every VMA that can fault on it,
//!   without any reasoning about module lifetimes;
//! - generic `extern "C"` trampolines, one `vm_operations_struct` per `T`
//!   (a `const`), translate between the two.
//!
//! # What safe code cannot do here
//!
//! - Map a page it does not own a mappable reference to: `Fault::Page` and
//!   `map_pages` take only [`UserPage`], which no pfn, address, `PageRef`,
//!   slab object, reserved page or tail page can become (see its docs).
//! - Keep a page past its owner: a `UserPage<'f>` borrows the data the VMA
//!   keeps alive; the page table entry takes its own reference.
//! - Return `VM_FAULT_NOPAGE` without a page table entry: that needs a
//!   [`Mapped`] token, which only `map_pages` on the same fault makes.
//!
//! Upstream's `VmaMixedMap::vm_insert_page(&Page)` takes the same approach
//! (only owned, refcounted pages); this module adds `.fault`, batches and
//! `vmalloc_user()` pages.
//!
//! # Examples
//!
//! ```no_run
//! # use crate::mm::{vmalloc::SharedUserVmalloc, virt::{install, Fault, FaultError, VmFault, VmOperations}};
//! # use kernel::{mm::virt::VmaNew, sync::Arc};
//! struct Buffer { mem: SharedUserVmalloc }
//! impl VmOperations for Buffer {
//!     fn fault<'f>(&'f self, vmf: &'f VmFault) -> Result<Fault<'f>, FaultError> {
//!         self.mem.page(vmf.pgoff()).map(Fault::Page).ok_or(FaultError::SigBus)
//!     }
//! }
//! // In `MiscDevice::mmap(&self, file, vma)`, with `self.buffer: Arc<Buffer>`:
//! # fn mmap(buffer: &Arc<Buffer>, vma: &VmaNew) {
//! install(vma, buffer.clone());
//! # }
//! ```

use crate::mm::page::{UserPage, PAGE_SIZE};
use core::marker::PhantomData;
use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::mm::virt::{VmaNew, VmaRef};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::{ForeignOwnable, Opaque};

/// Why a fault could not be served.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FaultError {
    /// The address has no backing: the process gets `SIGBUS`.
    SigBus,
    /// Out of memory (`VM_FAULT_OOM`).
    Oom,
}

impl FaultError {
    fn as_raw(self) -> bindings::vm_fault_t {
        match self {
            FaultError::SigBus => bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t,
            FaultError::Oom => bindings::vm_fault_reason_VM_FAULT_OOM as bindings::vm_fault_t,
        }
    }
}

/// What a fault handler did about the faulting address.
///
/// Both variants borrow for `'f`, the duration of one `.fault` call: the
/// page from the data the VMA keeps alive, the token from the fault itself.
pub(crate) enum Fault<'f> {
    /// Map this page there: the trampoline takes a reference
    /// (`get_page()`), sets `vmf->page` and returns 0; the core installs the
    /// page table entry. The classic one page per fault. Only a
    /// [`UserPage`] fits here.
    Page(UserPage<'f>),
    /// The handler mapped it itself, with [`VmFault::map_pages`]
    /// (`VM_FAULT_NOPAGE`).
    Mapped(Mapped<'f>),
}

/// Proof that [`VmFault::map_pages`] ran for *this* fault and either made
/// a page table entry for the faulting address or lost a race that the
/// core resolves by faulting again (see `map_pages`). Returning
/// `VM_FAULT_NOPAGE` without one of these would make the access fault
/// again forever.
///
/// # Invariants
///
/// Made only by `map_pages` on the `VmFault` of the `.fault` call whose
/// lifetime is `'f`; `'f` is invariant, so a token can neither be kept past
/// its fault (it is not `'static`, and the handler's data is) nor passed
/// off as another fault's.
pub(crate) struct Mapped<'f> {
    inserted: usize,
    _fault: PhantomData<fn(&'f ()) -> &'f ()>,
}

impl Mapped<'_> {
    /// How many page table entries this call created (pages already
    /// mapped, e.g. by a racing fault on the same window, are not counted).
    pub(crate) fn inserted(&self) -> usize {
        self.inserted
    }
}

/// A page fault being served (`struct vm_fault`), read-only.
///
/// # Invariants
///
/// Wraps a valid `struct vm_fault` for the duration of a `.fault` call.
#[repr(transparent)]
pub(crate) struct VmFault(Opaque<bindings::vm_fault>);

impl VmFault {
    /// # Safety
    ///
    /// `ptr` must be the `vm_fault` of a `.fault` call in progress, valid for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::vm_fault) -> &'a VmFault {
        // SAFETY: `VmFault` is a transparent wrapper; validity per the caller.
        unsafe { &*ptr.cast() }
    }

    fn raw(&self) -> &bindings::vm_fault__bindgen_ty_1 {
        // SAFETY: by the type invariant the `vm_fault` is valid; its first
        // (anonymous) part is constant during the call.
        unsafe { &(*self.0.get()).__bindgen_anon_1 }
    }

    /// The faulting page's offset in the file, in pages (`vmf->pgoff`):
    /// `vma->vm_pgoff` plus the page's index in the VMA.
    #[inline]
    pub(crate) fn pgoff(&self) -> usize {
        self.raw().pgoff
    }

    /// The faulting user address, rounded down to its page (`vmf->address`).
    #[inline]
    pub(crate) fn address(&self) -> usize {
        self.raw().address
    }

    /// Whether the fault is a write (`FAULT_FLAG_WRITE`).
    #[inline]
    pub(crate) fn is_write(&self) -> bool {
        // SAFETY: `flags` is constant during the call.
        let flags = unsafe { (*self.0.get()).flags };
        flags & bindings::fault_flag_FAULT_FLAG_WRITE != 0
    }

    /// The VMA the fault is in.
    #[inline]
    pub(crate) fn vma(&self) -> &VmaRef {
        // SAFETY: `vmf->vma` is valid, with the mmap lock held, for the
        // whole `.fault` call, which outlives `&self`.
        unsafe { VmaRef::from_raw(self.raw().vma) }
    }

    /// Maps `pages` at consecutive user pages from `start`, a range that
    /// must contain the faulting address and lie inside the VMA, with
    /// `vm_insert_pages()`: one page-table walk and one page-table lock per
    /// batch instead of one fault per page. Each entry takes its own page
    /// reference, as `vmf->page` does.
    ///
    /// Errors: `EINVAL` if the VMA is not `VM_MIXEDMAP` (set it in `mmap`
    /// with `VmaNew::set_mixedmap()`), `start` is not page-aligned, or the
    /// range misses the fault or leaves the VMA; `ENOMEM` if a page table
    /// cannot be allocated (entries made before that stay), which includes
    /// an `EFAULT` before any entry was made (see below).
    ///
    /// Races are not errors: a page that is already mapped (`EBUSY`: a
    /// racing fault on the same window) is skipped, and a page table that
    /// changed under the walk after some entries were made (`EFAULT` from
    /// `pte_offset_map_lock()`, e.g. a concurrent `MADV_DONTNEED`
    /// reclaiming it with `CONFIG_PT_RECLAIM`) ends the batch; either way
    /// the token is returned and the core, on `VM_FAULT_NOPAGE`, lets the
    /// access fault again if it still has no entry. If `pages` ends early the rest of the range is left for later
    /// faults; pages never shift to other addresses.
    pub(crate) fn map_pages<'f, 'p>(
        &'f self,
        start: usize,
        pages: impl IntoIterator<Item = UserPage<'p>>,
    ) -> Result<Mapped<'f>> {
        const BATCH: usize = 32;
        let vma = self.vma();
        if vma.as_mixedmap_vma().is_none() || start % PAGE_SIZE != 0 {
            return Err(EINVAL);
        }
        let mut batch = [core::ptr::null_mut::<bindings::page>(); BATCH];
        let mut pages = pages.into_iter();
        let (mut addr, mut inserted, mut covered, mut raced) = (start, 0, false, false);
        'batches: loop {
            let mut n = 0;
            for page in pages.by_ref().take(BATCH) {
                batch[n] = page.as_ptr();
                n += 1;
            }
            if n == 0 {
                break;
            }
            let end = addr.checked_add(n * PAGE_SIZE).ok_or(EINVAL)?;
            if addr < vma.start() || end > vma.end() {
                return Err(EINVAL);
            }
            covered |= (addr..end).contains(&self.address());
            let mut done = 0;
            while done < n {
                let mut left = (n - done) as c_ulong;
                // `VM_MIXEDMAP`, so `vm_insert_pages()` leaves `vm_flags`
                // alone; each page it maps gets its own reference.
                // SAFETY: `vma` is locked (mmap lock) for this fault, the
                // range is inside it, and every pointer is a `UserPage`
                // borrowed for the call: a page that may be mapped.
                let ret = unsafe {
                    bindings::vm_insert_pages(
                        vma.as_ptr(),
                        addr + done * PAGE_SIZE,
                        batch[done..].as_mut_ptr(),
                        &mut left,
                    )
                };
                let made = (n - done) - left as usize;
                inserted += made;
                done += made;
                match ret {
                    0 => break,
                    // Already mapped: skip it, go on with the rest.
                    r if r == EBUSY.to_errno() => done += 1,
                    // `EFAULT` has two causes in 7.2's `insert_pages()`:
                    // `walk_to_pmd()` could not allocate a p4d, pud or pmd
                    // table (out of memory), or `pte_offset_map_lock()`
                    // found the PTE table gone (a race). With no entry made
                    // in this call, treat it as the first: a refault would
                    // only fail again, so report it as the core reports a
                    // failed `pte_alloc()`, `VM_FAULT_OOM`. After progress,
                    // a table vanished under us: stop; whatever is still
                    // unmapped faults again.
                    r if r == EFAULT.to_errno() && inserted == 0 => return Err(ENOMEM),
                    r if r == EFAULT.to_errno() => {
                        raced = true;
                        break 'batches;
                    }
                    r => return Err(Error::from_errno(r)),
                }
            }
            addr = end;
        }
        if !covered && !raced {
            return Err(EINVAL);
        }
        // INVARIANT: made by `map_pages` on this fault, for `'f`.
        Ok(Mapped {
            inserted,
            _fault: PhantomData,
        })
    }
}

/// The operations of a lazily mapped VMA.
///
/// `Self` is the data shared by every VMA that uses these operations; it is
/// kept alive by an `Arc` reference per VMA.
pub(crate) trait VmOperations: Send + Sync + Sized + 'static {
    /// Serves a fault at `vmf.pgoff()`: returns the page to map there,
    /// borrowed from `self` ([`Fault::Page`]), or maps it (and maybe its
    /// neighbours) itself ([`Fault::Mapped`]).
    ///
    /// For [`Fault::Page`] the trampoline takes a page reference
    /// (`get_page()`) that the page table entry keeps until it is unmapped,
    /// so the page stays valid even if `self` later lets go of it.
    ///
    /// The core calls `.fault` of a VMA without `.map_pages` with
    /// `mmap_lock` held: under the per-VMA lock it returns `VM_FAULT_RETRY`
    /// first (`vmf_can_call_fault()` in `mm/memory.c`). These operations do
    /// not pretend otherwise.
    fn fault<'f>(&'f self, vmf: &'f VmFault) -> Result<Fault<'f>, FaultError>;

    /// A copy of a VMA was created (fork, split, mremap); `.open`.
    fn open(&self, _vma: &VmaInfo) {}

    /// A VMA is going away; `.close`.
    fn close(&self, _vma: &VmaInfo) {}
}

/// What `.open` and `.close` are told of their VMA: its range and offset,
/// read when the callback starts.
///
/// Not a [`VmaRef`]: `.close` also runs while a process exits, when the mm's
/// user count is already zero, and a `VmaRef` would let safe code take a
/// reference on that mm (`mmget` back to 1, and the teardown runs twice on
/// freed memory) or insert pages into a VMA being copied or torn down (stray
/// page-table entries: "BUG: Bad rss-counter"). Plain values have no path
/// to either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VmaInfo {
    start: usize,
    end: usize,
    pgoff: usize,
}

impl VmaInfo {
    /// Reads the VMA's range and offset.
    ///
    /// # Safety
    ///
    /// `vma` must be a VMA the mm passed to `.open` or `.close`, valid for
    /// reads for the call (the mm holds it stable for the callback).
    unsafe fn read(vma: *mut bindings::vm_area_struct) -> Self {
        // SAFETY: valid for the call, per the function's contract.
        let v = unsafe { VmaRef::from_raw(vma) };
        // SAFETY: as above; `vm_pgoff` is a plain field of the VMA.
        let pgoff = unsafe { (*vma).vm_pgoff };
        VmaInfo {
            start: v.start(),
            end: v.end(),
            pgoff,
        }
    }

    /// The first user address (inclusive).
    #[inline]
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// The end user address (exclusive).
    #[inline]
    pub(crate) fn end(&self) -> usize {
        self.end
    }

    /// The offset into the file, in pages, that `start` maps.
    #[inline]
    pub(crate) fn pgoff(&self) -> usize {
        self.pgoff
    }
}

/// The `vm_operations_struct` for `T`.
struct Table<T>(PhantomData<T>);

impl<T: VmOperations> Table<T> {
    const OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        open: Some(open_trampoline::<T>),
        close: Some(close_trampoline::<T>),
        fault: Some(fault_trampoline::<T>),
        // SAFETY: all-zero is a valid `vm_operations_struct` (no callbacks).
        ..unsafe { core::mem::zeroed() }
    };
}

/// Installs `T`'s operations on a VMA being set up in `mmap`, with `data`
/// as its private data. The VMA owns the `Arc` reference from now on.
///
/// Sets `VM_DONTEXPAND` itself: the handler serves offsets it was set up
/// for, and a VMA grown by `mremap()` (or merged with a neighbour that
/// skipped this `mmap`) would fault at offsets nobody checked.
pub(crate) fn install<T: VmOperations>(vma: &VmaNew, data: Arc<T>) {
    vma.set_dontexpand();
    let raw = vma.as_ptr();
    // The table is a constant promoted to `'static`; the stored pointer is
    // an owned `Arc<T>` reference that `close_trampoline::<T>` returns.
    // SAFETY: `vma` is in initial setup (`VmaNew`): nobody else uses it yet.
    unsafe {
        (*raw).vm_private_data = data.into_foreign();
        (*raw).vm_ops = &Table::<T>::OPS;
    }
}

/// # Safety
///
/// `vma` must be a VMA whose operations are `Table::<T>::OPS`, passed by
/// the mm to `.open` (its `vm_private_data` is then a live `Arc<T>`
/// reference owned by the VMA it was copied from).
unsafe extern "C" fn open_trampoline<T: VmOperations>(vma: *mut bindings::vm_area_struct) {
    // SAFETY: per the function's contract `vm_private_data` came from
    // `Arc::<T>::into_foreign` and is alive (the source VMA still owns it).
    let data = unsafe { <Arc<T> as ForeignOwnable>::borrow((*vma).vm_private_data) };
    // The copy shares `vm_private_data` with its source and needs its own
    // reference: take one and leave it stored there.
    let mine: Arc<T> = data.into();
    let ptr = mine.into_foreign();
    // SAFETY: the new VMA is not yet visible to anyone else.
    debug_assert!(ptr == unsafe { (*vma).vm_private_data });
    // SAFETY: `vma` is the VMA `.open` was called for, valid for the call.
    data.open(&unsafe { VmaInfo::read(vma) });
}

/// # Safety
///
/// `vma` must be a VMA with `Table::<T>::OPS`, passed to `.close`; its
/// `vm_private_data` is the `Arc<T>` reference it owns, not used afterwards.
unsafe extern "C" fn close_trampoline<T: VmOperations>(vma: *mut bindings::vm_area_struct) {
    // SAFETY: the VMA owns one reference, stored by `install` or
    // `open_trampoline`; `.close` is the last use of it.
    let data = unsafe { <Arc<T> as ForeignOwnable>::from_foreign((*vma).vm_private_data) };
    // SAFETY: `vma` is the VMA `.close` was called for, valid for the call.
    data.close(&unsafe { VmaInfo::read(vma) });
}

/// # Safety
///
/// `vmf` must be a `vm_fault` passed to `.fault` for a VMA with
/// `Table::<T>::OPS`.
unsafe extern "C" fn fault_trampoline<T: VmOperations>(
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    // SAFETY: valid for the duration of this call, per the contract.
    let fault = unsafe { VmFault::from_raw(vmf) };
    // SAFETY: the VMA owns a live `Arc<T>` reference in `vm_private_data`
    // for as long as it exists, which covers this fault.
    let data = unsafe { <Arc<T> as ForeignOwnable>::borrow((*fault.raw().vma).vm_private_data) };
    match data.fault(fault) {
        Ok(Fault::Mapped(_proof)) => {
            bindings::vm_fault_reason_VM_FAULT_NOPAGE as bindings::vm_fault_t
        }
        Ok(Fault::Page(page)) => {
            let p = page.as_ptr();
            // The reference we take goes to the fault path with `vmf->page`,
            // which keeps it in the page table entry.
            // SAFETY: `p` is a `UserPage`: a mappable page with a reference
            // held by an owner alive for this call.
            unsafe {
                crate::mm::helpers::mapdrv_get_page(p);
                (*vmf).page = p;
            }
            0
        }
        Err(e) => e.as_raw(),
    }
}
