// SPDX-License-Identifier: GPL-2.0

//! A misc device whose `file_operations` carry `.owner`.
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
//! after the fd is closed. So mapdrv builds its `file_operations` at
//! registration time, inside the pinned registration, with `.owner` set to
//! the module passed to `init` — the fix proposed for #1182, shown working.
//!
//! The trait mirrors `kernel::miscdevice::MiscDevice` (`#[vtable]`, optional
//! methods), with `read`/`write`/`llseek` in the classic `char __user *`
//! form, which is what a fixed-size device buffer wants.
//!
//! # Examples
//!
//! ```ignore
//! #[pin_data]
//! struct Module { #[pin] dev: MiscRegistration<MyDevice> }
//! impl InPlaceModule for Module {
//!     fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
//!         try_pin_init!(Self { dev <- MiscRegistration::register(c"mydev", module, MyDevice::new()?) })
//!     }
//! }
//! ```

use core::ffi::CStr;
use core::marker::PhantomPinned;
use kernel::bindings;
use kernel::error::VTABLE_DEFAULT_ERROR;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::fs::File;
use kernel::mm::virt::VmaNew;
use kernel::prelude::*;
use kernel::types::Opaque;
use kernel::uaccess::UserPtr;

/// What a misc device does. `Self` is the device's state, shared by every
/// open file; each method gets it as `&self`.
#[vtable]
pub trait MiscDevice: Send + Sync + Sized {
    /// `open`. Runs after the VFS has pinned the module.
    fn open(&self, _file: &File) -> Result {
        Ok(())
    }

    /// `release`, the last `fput()` of an open file.
    fn release(&self, _file: &File) {}

    /// `read`: copy up to `len` bytes to user space at `buf` from position
    /// `*pos`, advancing it; return the number of bytes copied.
    fn read(&self, _file: &File, _buf: UserPtr, _len: usize, _pos: &mut i64) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `write`: like `read`, from user space.
    fn write(&self, _file: &File, _buf: UserPtr, _len: usize, _pos: &mut i64) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `llseek`: the new position.
    fn llseek(&self, _file: &File, _offset: i64, _whence: i32) -> Result<i64> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `mmap`: set up the new VMA.
    fn mmap(&self, _file: &File, _vma: &VmaNew) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `unlocked_ioctl`.
    fn ioctl(&self, _file: &File, _cmd: u32, _arg: usize) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A registered misc device with `T` as its state.
///
/// # Invariants
///
/// `misc` is registered with `misc_register()` and points to `fops`, whose
/// `.owner` is the module that owns this registration; `data` is
/// initialised. Deregistration happens once, in `Drop`, before `data` and
/// `fops` are dropped. While any file of the device is open the module is
/// pinned, so the registration outlives every file operation.
#[pin_data(PinnedDrop)]
pub struct MiscRegistration<T: MiscDevice> {
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    #[pin]
    fops: Opaque<bindings::file_operations>,
    data: T,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: registration and deregistration may happen on any thread; `T` is
// `Send + Sync`.
unsafe impl<T: MiscDevice> Send for MiscRegistration<T> {}
// SAFETY: `&self` methods only read `data` (which is `Sync`).
unsafe impl<T: MiscDevice> Sync for MiscRegistration<T> {}

impl<T: MiscDevice> MiscRegistration<T> {
    /// Registers a misc device named `name` (node `/dev/<name>`) with a
    /// dynamic minor, owned by `module`, with `data` as its state.
    pub fn register(
        name: &'static CStr,
        module: &'static ThisModule,
        data: T,
    ) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid for writes and pinned (the
            // `pin_init_from_closure` contract); we initialise every field
            // before registering, and on error drop what we wrote.
            unsafe {
                core::ptr::addr_of_mut!((*slot).data).write(data);
                let fops = Opaque::cast_into(core::ptr::addr_of!((*slot).fops));
                fops.write(Self::fops(module));
                let misc = Opaque::cast_into(core::ptr::addr_of!((*slot).misc));
                misc.write(pin_init::zeroed());
                (*misc).minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                (*misc).name = name.as_char_ptr();
                (*misc).fops = fops;
                let ret = bindings::misc_register(misc);
                if ret != 0 {
                    core::ptr::drop_in_place(core::ptr::addr_of_mut!((*slot).data));
                    return Err(Error::from_errno(ret));
                }
            }
            // INVARIANT: registered, pointing at our `fops` with `.owner`.
            Ok(())
        };
        // SAFETY: the closure initialises all of `Self` on success and
        // leaves nothing to drop on failure; `Self` is never moved (pinned).
        unsafe { pin_init::pin_init_from_closure(init) }
    }

    /// The device's state.
    #[inline]
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The `struct file_operations` for `T`, owned by `module`.
    fn fops(module: &'static ThisModule) -> bindings::file_operations {
        bindings::file_operations {
            owner: module.as_ptr(),
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
            ..pin_init::zeroed()
        }
    }

    /// The registration a file of this device belongs to.
    ///
    /// # Safety
    ///
    /// `file` must be an open file of a device registered by
    /// `MiscRegistration::<T>::register`; `misc_open()` left
    /// `file->private_data` pointing at our `struct miscdevice` (we never
    /// change it).
    unsafe fn from_file<'a>(file: *mut bindings::file) -> (&'a Self, &'a File) {
        // The registration is pinned while the file is open (`.owner`);
        // no `fdget_pos` region is active on this thread for the file.
        // SAFETY: `private_data` is the `misc` of a live, pinned `Self`
        // (the contract); `file` is valid for the calling file operation.
        unsafe {
            let misc = (*file).private_data.cast::<bindings::miscdevice>();
            let this = &*kernel::container_of!(Opaque::cast_from(misc), Self, misc);
            (this, File::from_raw_file(file))
        }
    }

    /// # Safety
    ///
    /// Called by the VFS only, on a file of a device registered by
    /// [`MiscRegistration::register`] (see [`Self::from_file`]), with valid
    /// arguments for the duration of the call.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: the VFS passes a valid inode and file being opened.
        let ret = unsafe { bindings::generic_file_open(inode, file) };
        if ret != 0 {
            return ret;
        }
        // SAFETY: `misc_open()` set `private_data` to our miscdevice.
        let (this, f) = unsafe { Self::from_file(file) };
        match this.data.open(f) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the VFS only, on a file of a device registered by
    /// [`MiscRegistration::register`] (see [`Self::from_file`]), with valid
    /// arguments for the duration of the call.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: a file of this device; `private_data` is unchanged.
        let (this, f) = unsafe { Self::from_file(file) };
        this.data.release(f);
        0
    }

    /// # Safety
    ///
    /// Called by the VFS only, on a file of a device registered by
    /// [`MiscRegistration::register`] (see [`Self::from_file`]), with valid
    /// arguments for the duration of the call.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut u8,
        len: usize,
        pos: *mut i64,
    ) -> isize {
        // SAFETY: a file of this device; `pos` is valid for the call.
        let ((this, f), pos) = unsafe { (Self::from_file(file), &mut *pos) };
        match this.data.read(f, UserPtr::from_ptr(buf.cast()), len, pos) {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by the VFS only, on a file of a device registered by
    /// [`MiscRegistration::register`] (see [`Self::from_file`]), with valid
    /// arguments for the duration of the call.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const u8,
        len: usize,
        pos: *mut i64,
    ) -> isize {
        // SAFETY: as in `read`.
        let ((this, f), pos) = unsafe { (Self::from_file(file), &mut *pos) };
        let user = UserPtr::from_ptr(buf.cast_mut().cast());
        match this.data.write(f, user, len, pos) {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by the VFS only, on a file of a device registered by
    /// [`MiscRegistration::register`] (see [`Self::from_file`]), with valid
    /// arguments for the duration of the call.
    unsafe extern "C" fn llseek(file: *mut bindings::file, offset: i64, whence: c_int) -> i64 {
        // SAFETY: a file of this device.
        let (this, f) = unsafe { Self::from_file(file) };
        match this.data.llseek(f, offset, whence) {
            Ok(p) => p,
            Err(e) => i64::from(e.to_errno()),
        }
    }

    /// # Safety
    ///
    /// Called by the VFS only, on a file of a device registered by
    /// [`MiscRegistration::register`] (see [`Self::from_file`]), with valid
    /// arguments for the duration of the call.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: a file of this device.
        let (this, f) = unsafe { Self::from_file(file) };
        // SAFETY: `.mmap` is called on a VMA undergoing initial setup.
        let vma = unsafe { VmaNew::from_raw(vma) };
        match this.data.mmap(f, vma) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the VFS only, on a file of a device registered by
    /// [`MiscRegistration::register`] (see [`Self::from_file`]), with valid
    /// arguments for the duration of the call.
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: a file of this device.
        let (this, f) = unsafe { Self::from_file(file) };
        match this.data.ioctl(f, cmd, arg) {
            Ok(r) => r as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }
}

#[pinned_drop]
impl<T: MiscDevice> PinnedDrop for MiscRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered (type invariant); no file is open, since the
        // module is being unloaded and open files pin it. After this the
        // node is gone and no new open can reach `data`.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}
