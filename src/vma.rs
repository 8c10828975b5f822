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
//! split, mremap move), `.close` when a VMA goes away. This is the seeds'
//! `nopage` callback, renamed `.fault` in 2.6.23.
//!
//! The `kernel` crate (7.2) can set VMA flags on a new VMA (`VmaNew`) but has
//! no way to install operations. [`VmOperations`] fills that gap:
//!
//! - the implementor writes safe methods: `fault` returns a [`PageRef`]
//!   borrowed from its own data ([`Fault::Page`]), or maps a batch of pages
//!   itself with [`VmFault::map_pages`] ([`Fault::Mapped`]), or fails with a
//!   [`FaultError`]; it never sees a raw pointer;
//! - [`install`] stores an `Arc<T>` in `vm_private_data`; every VMA (and
//!   every copy of it, through `.open`) owns one reference, dropped in
//!   `.close`. The data therefore outlives every VMA that can fault on it,
//!   without any reasoning about module lifetimes;
//! - generic `extern "C"` trampolines, one `vm_operations_struct` per `T`
//!   (a `const`), translate between the two.
//!
//! It is written to be proposable upstream (as `kernel::mm::virt::VmOperations`).
//!
//! # Examples
//!
//! ```ignore
//! struct Buffer { pages: VmallocBuf }
//! impl VmOperations for Buffer {
//!     fn fault(&self, vmf: &VmFault) -> Result<Fault<'_>, FaultError> {
//!         self.pages.page(vmf.pgoff()).map(Fault::Page).ok_or(FaultError::SigBus)
//!     }
//! }
//! // In `MiscDevice::mmap`:
//! vma::install(vma, self.buffer.clone());   // Arc<Buffer>
//! ```

use crate::pages::{PageRef, PAGE_SIZE};
use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::mm::virt::{VmaNew, VmaRef};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::{ForeignOwnable, Opaque};

/// Why a fault could not be served.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FaultError {
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
pub enum Fault<'a> {
    /// Map this page there: the core installs the page table entry
    /// (`vmf->page`, return 0). The classic one page per fault.
    Page(PageRef<'a>),
    /// The handler mapped it itself, with [`VmFault::map_pages`]
    /// (`VM_FAULT_NOPAGE`).
    Mapped(Mapped),
}

/// Proof that the faulting address has a page table entry, returned by
/// [`VmFault::map_pages`] only. Returning `VM_FAULT_NOPAGE` without one
/// would make the access fault again, forever; requiring this token makes
/// that mistake impossible to write.
pub struct Mapped {
    inserted: usize,
}

impl Mapped {
    /// How many page table entries this call created (pages already
    /// mapped, e.g. by a racing fault on the same window, are not counted).
    pub fn inserted(&self) -> usize {
        self.inserted
    }
}

/// A page fault being served (`struct vm_fault`), read-only.
///
/// # Invariants
///
/// Wraps a valid `struct vm_fault` for the duration of a `.fault` call.
#[repr(transparent)]
pub struct VmFault(Opaque<bindings::vm_fault>);

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
    pub fn pgoff(&self) -> usize {
        self.raw().pgoff
    }

    /// The faulting user address, rounded down to its page (`vmf->address`).
    #[inline]
    pub fn address(&self) -> usize {
        self.raw().address
    }

    /// Whether the fault is a write (`FAULT_FLAG_WRITE`).
    #[inline]
    pub fn is_write(&self) -> bool {
        // SAFETY: `flags` is constant during the call.
        let flags = unsafe { (*self.0.get()).flags };
        flags & bindings::fault_flag_FAULT_FLAG_WRITE != 0
    }

    /// The VMA the fault is in.
    #[inline]
    pub fn vma(&self) -> &VmaRef {
        // SAFETY: `vmf->vma` is valid, with the mmap or VMA lock held, for
        // the whole `.fault` call, which outlives `&self`.
        unsafe { VmaRef::from_raw(self.raw().vma) }
    }

    /// Maps `pages` at consecutive user pages from `start`, a range that
    /// must contain the faulting address and lie inside the VMA, with
    /// `vm_insert_pages()`: one page-table walk and one page-table lock per
    /// batch instead of one fault per page. Each entry takes its own page
    /// reference, as `vmf->page` does.
    ///
    /// The VMA must be `VM_MIXEDMAP` (set it in `mmap` with
    /// `VmaNew::set_mixedmap()`): `EINVAL` otherwise, as for a range that
    /// misses the fault or leaves the VMA, or a page the core refuses to
    /// map (anonymous, slab). Pages that are already mapped (a racing fault
    /// on the same window) are skipped. `ENOMEM` if a page table cannot be
    /// allocated; entries made before that stay, and are counted.
    pub fn map_pages<'p>(
        &self,
        start: usize,
        pages: impl IntoIterator<Item = PageRef<'p>>,
    ) -> Result<Mapped> {
        const BATCH: usize = 32;
        let vma = self.vma();
        if vma.flags() & bindings::VM_MIXEDMAP == 0 || start % PAGE_SIZE != 0 {
            return Err(EINVAL);
        }
        let mut batch = [core::ptr::null_mut::<bindings::page>(); BATCH];
        let mut pages = pages.into_iter();
        let (mut addr, mut inserted, mut covered) = (start, 0, false);
        loop {
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
                // SAFETY: `vma` is locked (mmap or VMA lock) for this fault,
                // the range is inside it, the pages are borrowed for the call.
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
                    r => return Err(Error::from_errno(r)),
                }
            }
            addr = end;
        }
        if !covered {
            return Err(EINVAL);
        }
        Ok(Mapped { inserted })
    }
}

/// The operations of a lazily mapped VMA.
///
/// `Self` is the data shared by every VMA that uses these operations; it is
/// kept alive by an `Arc` reference per VMA.
pub trait VmOperations: Send + Sync + Sized + 'static {
    /// Serves a fault at `vmf.pgoff()`: returns the page to map there,
    /// borrowed from `self` ([`Fault::Page`]), or maps it (and maybe its
    /// neighbours) itself ([`Fault::Mapped`]).
    ///
    /// For [`Fault::Page`] the trampoline takes a page reference
    /// (`get_page()`) that the page table entry keeps until it is unmapped,
    /// so the page stays valid even if `self` later lets go of it.
    fn fault(&self, vmf: &VmFault) -> Result<Fault<'_>, FaultError>;

    /// Whether faults may be served with only the VMA read-locked (the
    /// per-VMA lock), without `mmap_lock`. Default: no.
    ///
    /// The core calls `.fault` under the per-VMA lock only for VMAs whose
    /// operations have a `.map_pages` (`vmf_can_call_fault()` in
    /// `mm/memory.c`: "all vm_ops that have a ->map_pages have been audited
    /// and don't need the mmap_lock"). Otherwise every fault is first tried
    /// under the VMA lock, bails out with `VM_FAULT_RETRY`, and is done
    /// again from the start under `mmap_lock`: two page-table walks and two
    /// lock round trips per fault. Returning `true` installs a `.map_pages`
    /// that maps nothing (the core then calls `.fault`), which opts in.
    ///
    /// It is safe to say yes: everything `fault` can do through this
    /// module's API (read `VmFault`, hand back a page, `VmFault::map_pages`
    /// into its own `VM_MIXEDMAP` VMA, read the `VmaRef`) is valid under
    /// the VMA lock alone, as `vm_insert_pages()` under
    /// `lock_vma_under_rcu()` is in TCP zero-copy receive.
    fn fault_under_vma_lock(&self) -> bool {
        false
    }

    /// A copy of a VMA was created (fork, split, mremap); `.open`.
    fn open(&self, _vma: &VmaRef) {}

    /// A VMA is going away; `.close`.
    fn close(&self, _vma: &VmaRef) {}
}

/// The `vm_operations_struct` for `T`.
struct Table<T>(core::marker::PhantomData<T>);

impl<T: VmOperations> Table<T> {
    const OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        open: Some(open_trampoline::<T>),
        close: Some(close_trampoline::<T>),
        fault: Some(fault_trampoline::<T>),
        // SAFETY: all-zero is a valid `vm_operations_struct` (no callbacks).
        ..unsafe { core::mem::zeroed() }
    };

    /// [`Table::OPS`] plus the `.map_pages` that opts into faults under
    /// the per-VMA lock ([`VmOperations::fault_under_vma_lock`]).
    const OPS_VMA_LOCK: bindings::vm_operations_struct = bindings::vm_operations_struct {
        map_pages: Some(map_nothing),
        ..Self::OPS
    };
}

/// A `.map_pages` that maps nothing and returns 0, so that the core falls
/// back to `.fault` for the faulting page. The core calls it for read
/// faults, under `rcu_read_lock()`, with a window of `fault_around_bytes`;
/// mapping there would mean building page table entries without sleeping,
/// which `VmFault::map_pages` (from `.fault`) does not have to avoid.
///
/// # Safety
///
/// Called by the mm only, with valid arguments; it touches none of them.
unsafe extern "C" fn map_nothing(
    _vmf: *mut bindings::vm_fault,
    _start: c_ulong,
    _end: c_ulong,
) -> bindings::vm_fault_t {
    0
}

/// Installs `T`'s operations on a VMA being set up in `mmap`, with `data`
/// as its private data. The VMA owns the `Arc` reference from now on.
pub fn install<T: VmOperations>(vma: &VmaNew, data: Arc<T>) {
    let raw = vma.as_ptr();
    let ops = if data.fault_under_vma_lock() {
        &Table::<T>::OPS_VMA_LOCK
    } else {
        &Table::<T>::OPS
    };
    // Both tables are constants promoted to `'static`; the stored pointer
    // is an owned `Arc<T>` reference that `close_trampoline::<T>` returns.
    // SAFETY: `vma` is in initial setup (`VmaNew`): nobody else uses it yet.
    unsafe {
        (*raw).vm_private_data = data.into_foreign();
        (*raw).vm_ops = ops;
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
    // SAFETY: `vma` is valid for the call.
    data.open(unsafe { VmaRef::from_raw(vma) });
}

/// # Safety
///
/// `vma` must be a VMA with `Table::<T>::OPS`, passed to `.close`; its
/// `vm_private_data` is the `Arc<T>` reference it owns, not used afterwards.
unsafe extern "C" fn close_trampoline<T: VmOperations>(vma: *mut bindings::vm_area_struct) {
    // SAFETY: the VMA owns one reference, stored by `install` or
    // `open_trampoline`; `.close` is the last use of it.
    let data = unsafe { <Arc<T> as ForeignOwnable>::from_foreign((*vma).vm_private_data) };
    // SAFETY: `vma` is valid for the call.
    data.close(unsafe { VmaRef::from_raw(vma) });
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
        Ok(Fault::Mapped(_)) => bindings::vm_fault_reason_VM_FAULT_NOPAGE as bindings::vm_fault_t,
        Ok(Fault::Page(page)) => {
            let p = page.as_ptr();
            // SAFETY: `p` is a valid page (it is borrowed from `data`, alive
            // now); the reference we take is handed to the fault path with
            // `vmf->page`, which keeps it in the page table entry.
            unsafe {
                crate::helpers::mapdrv_get_page(p);
                (*vmf).page = p;
            }
            0
        }
        Err(e) => e.as_raw(),
    }
}
