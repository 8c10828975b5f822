// SPDX-License-Identifier: GPL-2.0

//! The user-space ABI of `/dev/mapdrv`: its one ioctl.
//!
//! This file is the single definition, shared by both sides: the module
//! includes it as `crate::abi`, the `maptest` tool as
//! `#[path = "../../src/abi.rs"] mod abi;`. It uses only `core`.
//!
//! `MAPDRV_IOC_GET_STATS` (`_IOR('M', 1, struct mapdrv_stats)`) fills a
//! [`MapdrvStats`]. The struct is versioned: `version` is
//! [`MAPDRV_ABI_VERSION`] and `size` the size the kernel filled; later
//! versions only append fields, so an old tool keeps working.

/// The ioctl "type" byte of mapdrv.
pub const MAPDRV_IOC_MAGIC: u32 = b'M' as u32;

/// The ABI version this file describes.
pub const MAPDRV_ABI_VERSION: u32 = 1;

/// Counters of the device since the module was loaded, and its buffer.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct MapdrvStats {
    /// [`MAPDRV_ABI_VERSION`].
    pub version: u32,
    /// `size_of::<MapdrvStats>()` as the kernel knows it.
    pub size: u32,
    /// Size of the shared buffer in bytes.
    pub buffer_size: u64,
    /// Size of the shared buffer in pages (module parameter `buffer_pages`).
    pub buffer_pages: u64,
    /// Successful opens.
    pub opens: u64,
    /// Open files (`struct file`s) right now. A mapping keeps its file
    /// open after the fd is closed, so this counts those too.
    pub open_files: u64,
    /// Successful `mmap` calls.
    pub mmaps: u64,
    /// `mmap` calls refused (bad range, `PROT_EXEC`, writable private).
    pub mmaps_refused: u64,
    /// VMAs mapping the buffer right now (a fork or split adds one).
    pub live_mappings: u64,
    /// Page faults served by the fault handler (one per page mapped).
    pub faults: u64,
    /// Faults answered with `SIGBUS` (outside the buffer).
    pub fault_errors: u64,
    /// `read` calls that copied data.
    pub reads: u64,
    /// `write` calls that copied data.
    pub writes: u64,
    /// Bytes copied by `read`.
    pub bytes_read: u64,
    /// Bytes copied by `write`.
    pub bytes_written: u64,
}

const IOC_READ: u32 = 2;

const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (ty << 8) | nr
}

/// `_IOR('M', 1, struct mapdrv_stats)`: read the device's [`MapdrvStats`].
pub const MAPDRV_IOC_GET_STATS: u32 = ioc(
    IOC_READ,
    MAPDRV_IOC_MAGIC,
    1,
    core::mem::size_of::<MapdrvStats>(),
);
