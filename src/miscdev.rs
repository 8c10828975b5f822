// SPDX-License-Identifier: GPL-2.0

//! A misc device whose `file_operations` carry `.owner`, and that cannot be
//! torn down under an open file.
//!
//! C API: `misc_register()` / `misc_deregister()` (`include/linux/miscdevice.h`)
//! and `struct file_operations` (`include/linux/fs.h`).
//!
//! # Why not `kernel::miscdevice` as it is
//!
//! The `kernel` crate's `MiscDeviceRegistration` builds its
//! `file_operations` as a `const` with no `.owner` (Rust-for-Linux issue
//! #1182). Without `.owner`, opening the device does not pin the module:
//! `rmmod` succeeds while a file is open or mapped, and the next `read`,
//! `release` or page fault jumps into freed module text. A
//! `try_module_get()` in `open` does not fix it: it races with unload
//! (the module can be `GOING` before `open` runs) and cannot cover the
//! window after the last `module_put()` in `release`.
//!
//! The VFS solves this when `fops->owner` is set: `misc_open()` calls
//! `fops_get()` (`try_module_get(owner)`, which fails cleanly once unload
//! has begun) before any driver code runs, and the final `fput()` calls
//! `module_put()` after the driver's `release` has returned. A mapping holds
//! a reference on its file (`vma->vm_file`), so it pins the module too, even
//! after the fd is closed.
//!
//! # Design: nothing an open file uses lives in the registration
//!
//! What hostile safe code could try, and why it is harmless here:
//!
//! - *Drop the registration while a file is open.* An open file reaches two
//!   things: its `f_op` and its `private_data`. `f_op` is
//!   `VTable::<T>::FOPS`, a constant promoted to a `static` of this module,
//!   with `.owner` pointing at this module's `struct module`
//!   (`__this_module`, the same symbol `module!` uses): it lives as long as
//!   the module text, which `.owner` pins. `private_data` is the file's own
//!   `Arc<T>` reference, taken in `open` (under `misc_mtx`, which
//!   `misc_deregister()` also takes, so the registration is alive while it is
//!   read) and dropped in `release`. Dropping a registration early only
//!   removes the device node; open files keep working on their `Arc<T>`.
//! - *Leak the registration* (`mem::forget` of a boxed one). Nothing is
//!   freed, but `misc_deregister()` never runs: once the module is unloaded
//!   (no file is open, so `rmmod` succeeds), the node still points at its
//!   `file_operations` and the next `open()` runs `fops_get()` on unloaded
//!   memory. No type can forbid a leak, so [`MiscRegistration::register`]
//!   is an `unsafe fn` whose one caller, module init, promises to keep the
//!   registration in the module's state. Upstream's
//!   `MiscDeviceRegistration::register` is safe and has the same hole.
//! - *Take a reference to the file in `release`.* `release` runs from the
//!   last `fput()`, with the file's count already zero: an `ARef<File>` made
//!   there would resurrect it (a use-after-free). So [`MiscDevice::release`]
//!   gets no file at all.
//! - *Treat a `read`/`write`/`llseek` file as shareable.* Those run inside
//!   an `fdget_pos()` region, where `kernel::fs::File`'s invariant does not
//!   hold; they get a [`LocalFile`], as upstream prescribes.
//!
//! `compat_ioctl` is `compat_ptr_ioctl()` when the kernel has
//! `CONFIG_COMPAT` (every ioctl argument here is a pointer to a struct whose
//! layout is the same for 32- and 64-bit callers, asserted in `src/abi.rs`).
//!
//! The trait mirrors `kernel::miscdevice::MiscDevice` (`#[vtable]`, optional
//! methods), with `read`/`write`/`llseek` in the classic `char __user *`
//! form, which is what a fixed-size device buffer wants.
//!
//! # Examples
//!
//! ```no_run
//! # use crate::miscdev::{MiscDevice, MiscRegistration};
//! # use kernel::{sync::Arc, InPlaceModule, ThisModule};
//! struct MyDevice;           // the device's state, shared by its open files
//! #[vtable]
//! impl MiscDevice for MyDevice {} // every method left at its default
//! #[pin_data]
//! struct Module { #[pin] dev: MiscRegistration<MyDevice> }
//! impl InPlaceModule for Module {
//!     fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
//!         try_pin_init!(Self {
//!             // SAFETY: the registration is the module's own state, dropped
//!             // by module exit.
//!             dev <- unsafe { MiscRegistration::register(c"mydev", Arc::new(MyDevice, GFP_KERNEL)?) }
//!         })
//!     }
//! }
//! ```

use core::ffi::CStr;
use core::marker::PhantomData;
use kernel::bindings;
use kernel::error::VTABLE_DEFAULT_ERROR;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::fs::{File, LocalFile};
use kernel::mm::virt::VmaNew;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::{ForeignOwnable, Opaque};
use kernel::uaccess::UserPtr;

/// What a misc device does. `Self` is the device's state, shared by every
/// open file (each holds an `Arc<Self>`); each method gets it as `&self`.
#[vtable]
pub(crate) trait MiscDevice: Send + Sync + Sized + 'static {
    /// `open`. Runs after the VFS has pinned the module.
    fn open(&self, _file: &File) -> Result {
        Ok(())
    }

    /// `release`, the last `fput()` of an open file. It gets no file: the
    /// file's reference count is already zero.
    fn release(&self) {}

    /// `read`: copy up to `len` bytes to user space at `buf` from position
    /// `*pos`, advancing it; return the number of bytes copied.
    fn read(&self, _file: &LocalFile, _buf: UserPtr, _len: usize, _pos: &mut i64) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `write`: like `read`, from user space.
    fn write(
        &self,
        _file: &LocalFile,
        _buf: UserPtr,
        _len: usize,
        _pos: &mut i64,
    ) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `llseek`: the new position.
    fn llseek(&self, _file: &LocalFile, _offset: i64, _whence: i32) -> Result<i64> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `mmap`: set up the new VMA.
    fn mmap(&self, _file: &File, _vma: &VmaNew) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `unlocked_ioctl` (and `compat_ioctl`, through `compat_ptr_ioctl()`).
    fn ioctl(&self, _file: &File, _cmd: u32, _arg: usize) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A registered misc device with `T` as its state.
///
/// # Invariants
///
/// `misc` is registered with `misc_register()`, its `fops` is
/// `VTable::<T>::FOPS`, and `data` is the state every file opened through
/// it gets a reference to. Deregistration happens once, in `Drop`.
#[pin_data(PinnedDrop)]
pub(crate) struct MiscRegistration<T: MiscDevice> {
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    data: Arc<T>,
}

// SAFETY: registration and deregistration may happen on any thread; `T` is
// `Send + Sync`.
unsafe impl<T: MiscDevice> Send for MiscRegistration<T> {}
// SAFETY: `&self` methods only read `data` (which is `Sync`).
unsafe impl<T: MiscDevice> Sync for MiscRegistration<T> {}

impl<T: MiscDevice> MiscRegistration<T> {
    /// Registers a misc device named `name` (node `/dev/<name>`) with a
    /// dynamic minor, with `data` as its state. The device's
    /// `file_operations` are owned by the module this crate is built into.
    /// `EINVAL` for an empty name, which fails in the
    /// device core with a `WARN`. A name another misc device already has is
    /// not checked first (the misc class is static in `drivers/char/misc.c`,
    /// with no exported namespace to look in): `device_create()` fails with
    /// `EEXIST`, after sysfs has printed "cannot create duplicate filename"
    /// with a stack dump (`sysfs_warn_dup()`; not a `WARN`).
    ///
    /// # Safety
    ///
    /// The registration must be dropped before the module is unloaded: keep
    /// it in the module's state (which module exit drops), never leak it.
    /// Leaking is safe Rust, but a registration that outlives the module
    /// leaves its node behind, and the next `open()` runs `misc_open()` →
    /// `fops_get()` on the unloaded module's `file_operations`
    /// (`drivers/char/misc.c`): no type can rule that out, so the one call
    /// in module init carries the promise.
    pub(crate) unsafe fn register(name: &'static CStr, data: Arc<T>) -> impl PinInit<Self, Error> {
        let empty = name.to_bytes().is_empty();
        try_pin_init!(Self {
            data,
            misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                if empty {
                    return Err(EINVAL);
                }
                // SAFETY: `slot` is valid for writes (the `try_ffi_init`
                // contract); all-zero is a valid `miscdevice` to start from.
                unsafe {
                    slot.write(pin_init::zeroed());
                    (*slot).minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                    (*slot).name = name.as_char_ptr();
                    (*slot).fops = VTable::<T>::FOPS;
                }
                // `data` is initialised before `misc` (field order of the
                // initialiser), so an `open` racing with registration finds it.
                // SAFETY: the `miscdevice` is initialised and pinned (it lives
                // in `Opaque` inside a pinned `Self`).
                kernel::error::to_result(unsafe { bindings::misc_register(slot) })
            }),
        })
    }
}

#[pinned_drop]
impl<T: MiscDevice> PinnedDrop for MiscRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered (type invariant). After this the node is gone
        // and no new open can reach `self`; files already open hold their
        // own `Arc<T>` and use the module-static `FOPS`, not `self`.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}

/// The `file_operations` for `T`, and the trampolines they point to.
struct VTable<T: MiscDevice>(PhantomData<T>);

impl<T: MiscDevice> VTable<T> {
    /// The table. Referenced as `&Self::FOPS_VALUE`, a constant promoted to
    /// a `'static` of this module.
    const FOPS_VALUE: bindings::file_operations = bindings::file_operations {
        // This module's `struct module` (what `THIS_MODULE` is in C):
        // `fops_get()` pins the module for as long as a file is open.
        owner: (&raw const bindings::__this_module).cast_mut(),
        open: Some(Self::open),
        release: Some(Self::release),
        read: if T::HAS_READ { Some(Self::read) } else { None },
        write: if T::HAS_WRITE {
            Some(Self::write)
        } else {
            None
        },
        llseek: if T::HAS_LLSEEK {
            Some(Self::llseek)
        } else {
            None
        },
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        #[cfg(CONFIG_COMPAT)]
        compat_ioctl: if T::HAS_IOCTL {
            bindings::compat_ptr_ioctl
        } else {
            None
        },
        ..pin_init::zeroed()
    };

    const FOPS: &'static bindings::file_operations = &Self::FOPS_VALUE;

    /// The state of an open file of this device.
    ///
    /// # Safety
    ///
    /// `file` must be an open file of a device registered by
    /// [`MiscRegistration::<T>::register`], past `open` and before
    /// `release` returns: its `private_data` is then an `Arc<T>` reference
    /// the file owns.
    unsafe fn state<'a>(file: *mut bindings::file) -> ArcBorrow<'a, T> {
        // SAFETY: per the contract, `private_data` came from
        // `Arc::<T>::into_foreign` in `open` and is released only in
        // `release`, after every other file operation has returned.
        unsafe { <Arc<T> as ForeignOwnable>::borrow((*file).private_data) }
    }

    /// # Safety
    ///
    /// Called by the VFS only, from `misc_open()` with `misc_mtx` held, on
    /// a file of a device registered by [`MiscRegistration::register`]:
    /// `file->private_data` is then its `struct miscdevice`.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: the VFS passes a valid inode and file being opened.
        let ret = unsafe { bindings::generic_file_open(inode, file) };
        if ret != 0 {
            return ret;
        }
        // SAFETY: `misc_open()` set `private_data` to our `miscdevice`,
        // which lies in a pinned `MiscRegistration<T>`; `misc_mtx` (held)
        // keeps `misc_deregister()`, and so the registration's drop, away.
        let reg = unsafe {
            let misc = (*file).private_data.cast::<bindings::miscdevice>();
            &*kernel::container_of!(Opaque::cast_from(misc), MiscRegistration<T>, misc)
        };
        // SAFETY: `file` is valid for the call, with no `fdget_pos` region.
        let f = unsafe { File::from_raw_file(file) };
        if let Err(e) = reg.data.open(f) {
            return e.to_errno();
        }
        // The file's own reference to the state, dropped in `release`.
        // SAFETY: the open call of a file may set its private data; every
        // later operation reads it as the `Arc<T>` stored here.
        unsafe { (*file).private_data = reg.data.clone().into_foreign() };
        0
    }

    /// # Safety
    ///
    /// Called by the VFS only, once, on the last `fput()` of a file that
    /// [`Self::open`] opened successfully.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `release` owns the file's `Arc<T>` (stored by `open`);
        // no other operation of this file runs or will run.
        let state = unsafe { <Arc<T> as ForeignOwnable>::from_foreign((*file).private_data) };
        state.release();
        0
    }

    /// # Safety
    ///
    /// Called by the VFS only, on an open file of this device (see
    /// [`Self::state`]), inside an `fdget_pos()` region, with valid
    /// arguments for the duration of the call.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut u8,
        len: usize,
        pos: *mut i64,
    ) -> isize {
        // SAFETY: an open file of this device; `pos` is valid for the call;
        // `LocalFile` is the type for a file in an `fdget_pos()` region.
        let (state, f, pos) =
            unsafe { (Self::state(file), LocalFile::from_raw_file(file), &mut *pos) };
        match state.read(f, UserPtr::from_ptr(buf.cast()), len, pos) {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// As for [`Self::read`].
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const u8,
        len: usize,
        pos: *mut i64,
    ) -> isize {
        // SAFETY: as in `read`.
        let (state, f, pos) =
            unsafe { (Self::state(file), LocalFile::from_raw_file(file), &mut *pos) };
        match state.write(f, UserPtr::from_ptr(buf.cast_mut().cast()), len, pos) {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// As for [`Self::read`].
    unsafe extern "C" fn llseek(file: *mut bindings::file, offset: i64, whence: c_int) -> i64 {
        // SAFETY: as in `read`.
        let (state, f) = unsafe { (Self::state(file), LocalFile::from_raw_file(file)) };
        match state.llseek(f, offset, whence) {
            Ok(p) => p,
            Err(e) => i64::from(e.to_errno()),
        }
    }

    /// # Safety
    ///
    /// Called by the VFS only, on an open file of this device (see
    /// [`Self::state`]) and a VMA in initial setup.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: an open file of this device; `mmap` holds a file
        // reference and runs outside any `fdget_pos()` region; the VMA is
        // undergoing initial setup.
        let (state, f, vma) = unsafe {
            (
                Self::state(file),
                File::from_raw_file(file),
                VmaNew::from_raw(vma),
            )
        };
        match state.mmap(f, vma) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the VFS only, on an open file of this device (see
    /// [`Self::state`]), with valid arguments for the duration of the call.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: an open file of this device; `ioctl` holds a file
        // reference (`fdget()`) outside any `fdget_pos()` region.
        let (state, f) = unsafe { (Self::state(file), File::from_raw_file(file)) };
        match state.ioctl(f, cmd, arg) {
            Ok(r) => r as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }
}
