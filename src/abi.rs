// SPDX-License-Identifier: GPL-2.0

//! The user-space ABI of `/dev/mapdrv`: its ioctls.
//!
//! This file is the single definition, shared by both sides: the module
//! includes it as `crate::abi`, the `maptest` tool as
//! `#[path = "../../src/abi.rs"] mod abi;`. It uses only `core`; the tool
//! alone (`--cfg maptest`, set by its `build.rs`) derives `serde::Serialize`
//! for [`MapdrvStats`], so its JSON has the struct's own field names.
//!
//! `MAPDRV_IOC_GET_STATS` (`_IOR('M', 1, struct mapdrv_stats)`) fills a
//! [`MapdrvStats`]; `MAPDRV_IOC_EXERCISE` (`_IOWR('M', 2, struct
//! mapdrv_exercise)`) runs allocation cycles on demand, for leak and
//! fault-injection tests. The struct is versioned: `version` is
//! [`MAPDRV_ABI_VERSION`] and `size` the size the kernel filled; later
//! versions only append fields. The ioctl number encodes the struct's size,
//! so the kernel answers every size it has ever defined: a version 1 tool
//! asks with [`MAPDRV_IOC_GET_STATS_V1`] and gets the version 1 prefix.
//!
//! **Units.** Sizes and offsets are in bytes (`buffer_size`, `bytes_read`,
//! the `mmap` offset); counts of pages are in pages *of the running kernel*
//! (`buffer_pages`, `pages_mapped`, `fault_around_pages`, the module
//! parameters `buffer_pages` and `fault_around_pages`), whose size is 4 KiB
//! on x86-64 and 4 or 16 KiB on arm64. The page size is not in the ABI: a
//! tool takes it from the kernel (`sysconf(_SC_PAGESIZE)`, as `maptest`
//! does), and `buffer_size == buffer_pages * page size` always holds. No
//! field of this file assumes a page size: every one is the same on every
//! architecture (`repr(C)`, fixed-width fields, sizes asserted below).

/// The ioctl "type" byte of mapdrv.
pub const MAPDRV_IOC_MAGIC: u32 = b'M' as u32;

/// The ABI version this file describes.
pub const MAPDRV_ABI_VERSION: u32 = 2;

/// Counters of the device since the module was loaded, and its buffer.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
#[cfg_attr(maptest, derive(serde::Serialize))]
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
    // Version 2.
    /// How `mmap` maps the buffer: a [`MapMode`] number (module parameter
    /// `map_mode`).
    pub map_mode: u32,
    /// Pages per fault in [`MapMode::FaultAround`] (module parameter
    /// `fault_around_pages`).
    pub fault_around_pages: u32,
    /// Page table entries the driver made: one per fault in
    /// [`MapMode::Fault`], up to `fault_around_pages` per fault in
    /// [`MapMode::FaultAround`], the whole mapping at `mmap` in
    /// [`MapMode::Eager`].
    pub pages_mapped: u64,
}

/// The size of the version 1 [`MapdrvStats`]: the fields up to
/// `bytes_written`.
pub const MAPDRV_STATS_V1_SIZE: usize = 14 * 8;

// The layouts, fixed: sizes, and no padding anywhere (every field's offset
// is the sum of the sizes before it), so no kernel byte leaks through a
// hole, and the same layout for 32-bit callers (`compat_ioctl`), where
// `u64` is only 4-byte aligned: every `u64` sits at a multiple of 8 anyway.
macro_rules! assert_layout {
    ($t:ty, $size:expr, [$($field:ident: $ft:ty),* $(,)?]) => {
        const _: () = {
            let mut off = 0;
            $(
                assert!(core::mem::offset_of!($t, $field) == off);
                assert!(off % core::mem::size_of::<$ft>() == 0);
                off += core::mem::size_of::<$ft>();
            )*
            assert!(off == $size && core::mem::size_of::<$t>() == $size);
        };
    };
}

assert_layout!(MapdrvStats, 128, [
    version: u32, size: u32, buffer_size: u64, buffer_pages: u64, opens: u64,
    open_files: u64, mmaps: u64, mmaps_refused: u64, live_mappings: u64, faults: u64,
    fault_errors: u64, reads: u64, writes: u64, bytes_read: u64, bytes_written: u64,
    map_mode: u32, fault_around_pages: u32, pages_mapped: u64,
]);
const _: () = assert!(core::mem::offset_of!(MapdrvStats, map_mode) == MAPDRV_STATS_V1_SIZE);
assert_layout!(MapdrvExercise, 48, [
    family: u32, flags: u32, cycles: u64, ok: u64, enomem: u64, other: u64, reserve_served: u64,
]);
assert_layout!(MapdrvBench, 24, [case: u32, raw: u32, iterations: u64, ns: u64]);
assert_layout!(MapdrvPageCounts, 16, [pages: u64, refs: u64]);

/// The most cycles one `MAPDRV_IOC_EXERCISE` call may run.
pub const MAX_EXERCISE_CYCLES: u64 = 1_000_000;

/// The most iterations one `MAPDRV_IOC_BENCH` call may run.
pub const MAX_BENCH_ITERATIONS: u64 = 100_000;

/// Defines a `u32` enum of the ABI with its user-facing names: `ALL` (in
/// number order), `name()` and `from_raw()`. The numbers cross the ioctl
/// boundary, the names are the tool's command line (clap's `ValueEnum`,
/// over `ALL` and `name()`) and JSON: one list, so the two can never
/// disagree.
macro_rules! abi_enum {
    ($(#[$m:meta])* pub enum $t:ident {
        $($(#[$vm:meta])* $v:ident = $n:literal => $name:literal,)*
    }) => {
        $(#[$m])*
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $t {
            $($(#[$vm])* $v = $n,)*
        }

        impl $t {
            /// Every value, in number order.
            pub const ALL: &'static [$t] = &[$($t::$v),*];

            /// The name the tool uses on its command line and in JSON.
            pub const fn name(self) -> &'static str {
                match self {
                    $($t::$v => $name,)*
                }
            }

            /// The value for an ioctl or parameter number.
            pub const fn from_raw(n: u32) -> Option<Self> {
                match n {
                    $($n => Some($t::$v),)*
                    _ => None,
                }
            }
        }
    };
}

abi_enum! {
    /// How `/dev/mapdrv` maps its buffer (module parameter `map_mode`,
    /// [`MapdrvStats::map_mode`]).
    pub enum MapMode {
        /// The classic (default): `mmap` maps nothing; each first touch of
        /// a page faults and the handler supplies that one page.
        Fault = 0 => "fault",
        /// Fault-around: each fault maps the aligned window of
        /// `fault_around_pages` pages around the faulting one with one
        /// `vm_insert_pages()` call.
        FaultAround = 1 => "fault-around",
        /// Eager: `mmap` maps the whole range at once with
        /// `remap_vmalloc_range()`; no faults.
        Eager = 2 => "eager",
    }
}

abi_enum! {
    /// Allocator families `MAPDRV_IOC_EXERCISE` can drive
    /// ([`MapdrvExercise::family`]).
    pub enum Family {
        /// `alloc_pages` (orders 0..=3) and `__get_free_pages`/`get_zeroed_page`.
        Pages = 1 => "pages",
        /// `kmalloc`/`kzalloc` of assorted sizes, up to several pages.
        Kmalloc = 2 => "kmalloc",
        /// A slab cache (created once per call) and its objects.
        Slab = 3 => "slab",
        /// A slab-backed mempool (created once per call): take and return elements.
        Mempool = 4 => "mempool",
        /// `vmalloc` of 1 to 16 pages.
        Vmalloc = 5 => "vmalloc",
    }
}

abi_enum! {
    /// The allocations `MAPDRV_IOC_BENCH` times ([`MapdrvBench::case`]).
    pub enum BenchCase {
        /// `alloc_pages()` order 0.
        AllocPages = 0 => "alloc_pages order 0",
        /// `alloc_pages()` order 3.
        AllocPagesOrder3 = 1 => "alloc_pages order 3",
        /// `__get_free_pages()` order 0.
        GetFreePages = 2 => "__get_free_pages",
        /// `get_zeroed_page()`.
        GetZeroedPage = 3 => "get_zeroed_page",
        /// `kmalloc()` of 64 bytes.
        Kmalloc64 = 4 => "kmalloc 64 B",
        /// `kmalloc()` of 4 KiB.
        Kmalloc4K = 5 => "kmalloc 4 KiB",
        /// `kzalloc()` of 256 bytes.
        Kzalloc256 = 6 => "kzalloc 256 B",
        /// `kmem_cache_alloc()` from a cache of 192-byte objects.
        KmemCache192 = 7 => "kmem_cache 192 B",
        /// `mempool_alloc()` from a kmalloc-backed pool of 256-byte elements.
        Mempool = 8 => "mempool (kmalloc 256 B)",
        /// `vmalloc()` of one page.
        Vmalloc1 = 9 => "vmalloc 1 page",
        /// `vmalloc()` of 16 pages.
        Vmalloc16 = 10 => "vmalloc 16 pages",
        /// `alloc_pages()` order 0 with `__GFP_ZERO`.
        AllocPagesZero = 11 => "alloc_pages __GFP_ZERO",
    }
}

impl BenchCase {
    /// The cases whose wrapper checks what the raw call does not (the
    /// `kmalloc()` cases: length and mask; the mempool: `__GFP_ZERO` and
    /// mask): only they have [`BenchVariant::RawChecked`].
    pub const fn has_checked_variant(self) -> bool {
        matches!(
            self,
            BenchCase::Kmalloc64
                | BenchCase::Kmalloc4K
                | BenchCase::Kzalloc256
                | BenchCase::Mempool
        )
    }
}

abi_enum! {
    /// What `MAPDRV_IOC_BENCH` runs a case through ([`MapdrvBench::raw`]).
    pub enum BenchVariant {
        /// mapdrv's safe wrapper.
        Wrapper = 0 => "wrapper",
        /// The raw C calls.
        Raw = 1 => "raw",
        /// The raw C calls plus the wrapper's checks (the cases of
        /// [`BenchCase::has_checked_variant`] only).
        RawChecked = 2 => "raw+check",
    }
}

/// Argument and result of `MAPDRV_IOC_EXERCISE`: run `cycles` allocation
/// cycles of one family through mapdrv's wrappers (all with
/// `__GFP_NOWARN`: failures are expected under fault injection) and count
/// the outcomes. Each cycle allocates, checks and frees; `ok + enomem +
/// other == cycles` on return.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct MapdrvExercise {
    /// In: a [`Family`] number.
    pub family: u32,
    /// In: 0 (reserved for future flags).
    pub flags: u32,
    /// In: how many cycles to run (1..=[`MAX_EXERCISE_CYCLES`]).
    pub cycles: u64,
    /// Out: cycles whose allocations all succeeded and checked out.
    pub ok: u64,
    /// Out: cycles that saw `ENOMEM` (and freed everything they had).
    pub enomem: u64,
    /// Out: cycles that saw anything else (a bug; always expected 0).
    pub other: u64,
    /// Out (`MEMPOOL`): elements served while the backing allocator failed,
    /// i.e. from the pool's reserve.
    pub reserve_served: u64,
}

const IOC_WRITE: u32 = 1;
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

/// `MAPDRV_IOC_GET_STATS` as version 1 tools spell it: the first
/// [`MAPDRV_STATS_V1_SIZE`] bytes of [`MapdrvStats`].
pub const MAPDRV_IOC_GET_STATS_V1: u32 = ioc(IOC_READ, MAPDRV_IOC_MAGIC, 1, MAPDRV_STATS_V1_SIZE);

/// `_IOWR('M', 2, struct mapdrv_exercise)`: run allocation cycles.
pub const MAPDRV_IOC_EXERCISE: u32 = ioc(
    IOC_READ | IOC_WRITE,
    MAPDRV_IOC_MAGIC,
    2,
    core::mem::size_of::<MapdrvExercise>(),
);

/// Argument and result of `MAPDRV_IOC_BENCH`: time `iterations` alloc+free
/// pairs of one [`BenchCase`] through one [`BenchVariant`].
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct MapdrvBench {
    /// In: a [`BenchCase`] number.
    pub case: u32,
    /// In: a [`BenchVariant`] number.
    pub raw: u32,
    /// In: alloc+free pairs to time (1..=[`MAX_BENCH_ITERATIONS`]).
    pub iterations: u64,
    /// Out: elapsed nanoseconds (`ktime_get()`).
    pub ns: u64,
}

/// Result of `MAPDRV_IOC_PAGE_COUNTS`: the buffer's pages and the sum of
/// their reference counts (`page_count()`), read at the call. Each page
/// holds one reference of its own (vmalloc's) and one per page table entry
/// mapping it (the fault handler's `get_page()`, `vm_insert_pages()`'s);
/// GUP pins and other transient users add theirs. With nothing mapped and
/// nothing in flight, `refs == pages`: a reference that is never put shows
/// up here, where `/proc/kpagecount` (map counts) cannot see it.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct MapdrvPageCounts {
    /// Out: the buffer's pages.
    pub pages: u64,
    /// Out: the sum of their `page_count()`s.
    pub refs: u64,
}

/// `_IOR('M', 4, struct mapdrv_page_counts)`: the buffer pages' reference
/// counts, for any opener (no privilege: counts reveal nothing).
pub const MAPDRV_IOC_PAGE_COUNTS: u32 = ioc(
    IOC_READ,
    MAPDRV_IOC_MAGIC,
    4,
    core::mem::size_of::<MapdrvPageCounts>(),
);

/// `_IOWR('M', 3, struct mapdrv_bench)`: time one benchmark case.
pub const MAPDRV_IOC_BENCH: u32 = ioc(
    IOC_READ | IOC_WRITE,
    MAPDRV_IOC_MAGIC,
    3,
    core::mem::size_of::<MapdrvBench>(),
);
