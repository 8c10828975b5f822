// SPDX-License-Identifier: GPL-2.0

//! GFP flags and memory zones.
//!
//! C API: `include/linux/gfp_types.h` (the `gfp_t` masks) and
//! `include/linux/mmzone.h` (`enum zone_type`).
//!
//! Every allocator wrapper in mapdrv takes a [`Gfp`]: the *Get Free Pages*
//! mask that tells the kernel how hard it may try (may it sleep, start I/O,
//! call into a filesystem, dip into emergency reserves?) and where the
//! memory may come from (which zone).
//!
//! # Why not `kernel::alloc::Flags`?
//!
//! The `kernel` crate's `Flags` offers `GFP_KERNEL`, `GFP_ATOMIC`,
//! `GFP_NOWAIT`, `__GFP_ZERO`, `__GFP_NOWARN` and `__GFP_HIGHMEM`, and its raw
//! value is private to the crate. Showing the allocators also needs the zone
//! modifiers (`GFP_DMA`, `GFP_DMA32`), the reclaim-scope masks (`GFP_NOIO`,
//! `GFP_NOFS`), the user masks and the retry modifiers, so mapdrv has its own
//! `Gfp`, built bit by bit from the kernel's `___GFP_*_BIT` enumerators. A
//! KUnit case checks every constant here against the C macro of the same name.
//!
//! # Why there is no `__GFP_NOFAIL`
//!
//! `__GFP_NOFAIL` makes the allocator loop forever instead of failing. It
//! contradicts this crate's rule that allocation failure is a `Result`, it
//! is forbidden for orders above 1, and `mm/page_alloc.c` warns about new
//! users. A driver that needs forward progress under memory pressure should
//! preallocate, or use a [`crate::mm::mempool::Mempool`], which is what
//! `__GFP_NOFAIL` users are asked to do instead.
//!
//! # Which masks are accepted
//!
//! Every mask a caller can build is made of the constants below joined with
//! `|`; the raw constructor is `unsafe` and crate-private (it exists for
//! masks the kernel hands back to a callback), so `__GFP_NOFAIL` and
//! unknown bits cannot be expressed. Zone modifiers can still be joined in
//! ways `gfp_zone()` has no zone for (`GFP_DMA | GFP_DMA32`,
//! `GFP_HIGHUSER | GFP_DMA32`: `GFP_ZONE_BAD`, a `VM_BUG_ON()` on
//! `CONFIG_DEBUG_VM` kernels). Every allocator wrapper therefore converts
//! the mask with [`Gfp::for_pages`] or [`Gfp::for_slab`] (which also
//! refuses `__GFP_DMA32`/`__GFP_HIGHMEM` for slab objects,
//! `GFP_SLAB_BUG_MASK`) and returns `EINVAL` before the allocator sees
//! it. The check is a few bit operations. Like every refusal of this
//! layer it is an errno and nothing else: the caller knows what it asked
//! for and decides what to log.
//!
//! # Examples
//!
//! ```no_run
//! use crate::mm::gfp::{Gfp, Zone};
//! let page = crate::mm::page::Pages::alloc(Gfp::GFP_KERNEL | Gfp::GFP_DMA32, 0)?;
//! assert!(matches!(page.zone(), Zone::Dma | Zone::Dma32));
//! ```

use core::fmt;
use core::ops::BitOr;
use kernel::bindings;
use kernel::prelude::*;

/// A GFP mask: how and from where the kernel may satisfy an allocation.
///
/// Combine with `|`; test with [`Gfp::contains`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Gfp(bindings::gfp_t);

const fn bit(b: u32) -> bindings::gfp_t {
    1 << b
}

impl Gfp {
    /// Allocate from `ZONE_DMA`: below 16 MiB on x86 (ISA-era DMA), the
    /// firmware's DMA limit and at most 4 GiB on arm64 ([`Zone::phys_limit`]).
    pub(crate) const __GFP_DMA: Gfp = Gfp(bit(bindings::___GFP_DMA_BIT));
    /// Highmem may be used (no effect on 64-bit: there is no highmem).
    pub(crate) const __GFP_HIGHMEM: Gfp = Gfp(bit(bindings::___GFP_HIGHMEM_BIT));
    /// Allocate from `ZONE_DMA32` (below 4 GiB).
    pub(crate) const __GFP_DMA32: Gfp = Gfp(bit(bindings::___GFP_DMA32_BIT));
    /// The pages can be migrated; may come from `ZONE_MOVABLE`.
    pub(crate) const __GFP_MOVABLE: Gfp = Gfp(bit(bindings::___GFP_MOVABLE_BIT));
    /// High priority: may use part of the emergency reserves.
    pub(crate) const __GFP_HIGH: Gfp = Gfp(bit(bindings::___GFP_HIGH_BIT));
    /// The allocator may start physical I/O to reclaim memory.
    pub(crate) const __GFP_IO: Gfp = Gfp(bit(bindings::___GFP_IO_BIT));
    /// The allocator may call into the filesystem to reclaim memory.
    pub(crate) const __GFP_FS: Gfp = Gfp(bit(bindings::___GFP_FS_BIT));
    /// Return zeroed memory.
    pub(crate) const __GFP_ZERO: Gfp = Gfp(bit(bindings::___GFP_ZERO_BIT));
    /// The caller may sleep in direct reclaim.
    pub(crate) const __GFP_DIRECT_RECLAIM: Gfp = Gfp(bit(bindings::___GFP_DIRECT_RECLAIM_BIT));
    /// Wake kswapd when below the low watermark.
    pub(crate) const __GFP_KSWAPD_RECLAIM: Gfp = Gfp(bit(bindings::___GFP_KSWAPD_RECLAIM_BIT));
    /// Both kinds of reclaim.
    pub(crate) const __GFP_RECLAIM: Gfp =
        Gfp(Self::__GFP_DIRECT_RECLAIM.0 | Self::__GFP_KSWAPD_RECLAIM.0);
    /// Do not print an allocation-failure warning.
    pub(crate) const __GFP_NOWARN: Gfp = Gfp(bit(bindings::___GFP_NOWARN_BIT));
    /// Try hard (reclaim, compaction) but fail rather than invoke the OOM killer.
    pub(crate) const __GFP_RETRY_MAYFAIL: Gfp = Gfp(bit(bindings::___GFP_RETRY_MAYFAIL_BIT));
    /// Fail early: one light round of reclaim, no OOM killer.
    pub(crate) const __GFP_NORETRY: Gfp = Gfp(bit(bindings::___GFP_NORETRY_BIT));
    /// Only allocate from the current cpuset's nodes.
    pub(crate) const __GFP_HARDWALL: Gfp = Gfp(bit(bindings::___GFP_HARDWALL_BIT));
    /// Charge the allocation to the current memory cgroup.
    pub(crate) const __GFP_ACCOUNT: Gfp = Gfp(bit(bindings::___GFP_ACCOUNT_BIT));

    /// Ordinary kernel allocation; may sleep, reclaim, do I/O and FS calls.
    pub(crate) const GFP_KERNEL: Gfp =
        Gfp(Self::__GFP_RECLAIM.0 | Self::__GFP_IO.0 | Self::__GFP_FS.0);
    /// Atomic context (interrupts, spinlocks): never sleeps, may use reserves.
    pub(crate) const GFP_ATOMIC: Gfp = Gfp(Self::__GFP_HIGH.0 | Self::__GFP_KSWAPD_RECLAIM.0);
    /// Never sleeps and does not touch the reserves; fails quietly.
    pub(crate) const GFP_NOWAIT: Gfp = Gfp(Self::__GFP_KSWAPD_RECLAIM.0 | Self::__GFP_NOWARN.0);
    /// May sleep, but must not start I/O (block-layer paths).
    pub(crate) const GFP_NOIO: Gfp = Self::__GFP_RECLAIM;
    /// May sleep and do I/O, but must not recurse into a filesystem.
    pub(crate) const GFP_NOFS: Gfp = Gfp(Self::__GFP_RECLAIM.0 | Self::__GFP_IO.0);
    /// Memory for user space (or that user space can reach), cpuset-bound.
    pub(crate) const GFP_USER: Gfp = Gfp(Self::GFP_KERNEL.0 | Self::__GFP_HARDWALL.0);
    /// Like `GFP_USER`, highmem allowed.
    pub(crate) const GFP_HIGHUSER: Gfp = Gfp(Self::GFP_USER.0 | Self::__GFP_HIGHMEM.0);
    /// Like `GFP_HIGHUSER`, migratable: may come from `ZONE_MOVABLE`.
    pub(crate) const GFP_HIGHUSER_MOVABLE: Gfp = Gfp(Self::GFP_HIGHUSER.0 | Self::__GFP_MOVABLE.0);
    /// Zone modifier: `ZONE_DMA`.
    pub(crate) const GFP_DMA: Gfp = Self::__GFP_DMA;
    /// Zone modifier: `ZONE_DMA32`.
    pub(crate) const GFP_DMA32: Gfp = Self::__GFP_DMA32;

    /// The raw `gfp_t`, for calling C.
    #[inline]
    pub(crate) const fn as_raw(self) -> bindings::gfp_t {
        self.0
    }

    /// Builds a mask from a raw `gfp_t`, e.g. the one a `mempool_t` hands to
    /// its backing's allocation callback.
    ///
    /// # Safety
    ///
    /// `raw` must be a mask the kernel itself composed for an allocation
    /// (so its zone bits are a valid combination and any `__GFP_NOFAIL` in it
    /// was the kernel's choice, not this crate's): the constants and `|`
    /// cannot produce `__GFP_NOFAIL`, and this function must not be a way
    /// around that.
    #[inline]
    pub(crate) const unsafe fn from_raw(raw: bindings::gfp_t) -> Gfp {
        Gfp(raw)
    }

    /// Whether the zone modifiers form a combination `gfp_zone()` accepts.
    ///
    /// `gfp_zone()` looks the zone bits up in `GFP_ZONE_TABLE` and, on
    /// `CONFIG_DEBUG_VM` kernels, hits `VM_BUG_ON()` for the combinations in
    /// `GFP_ZONE_BAD`: exactly those with two or more of `__GFP_DMA`,
    /// `__GFP_DMA32` and `__GFP_HIGHMEM` (with or without `__GFP_MOVABLE`).
    /// A KUnit case compares this with `GFP_ZONE_BAD` for all 16 patterns.
    /// "At most one of three bits" is `t & (t - 1) == 0` (clearing the
    /// lowest set bit leaves nothing): two instructions on every
    /// allocation's path instead of three tests and a sum.
    #[inline]
    pub(crate) const fn zone_is_valid(self) -> bool {
        let t = self.0 & (Self::__GFP_DMA.0 | Self::__GFP_DMA32.0 | Self::__GFP_HIGHMEM.0);
        t & t.wrapping_sub(1) == 0
    }

    /// The raw mask for the page allocator (`alloc_pages()`,
    /// `__get_free_pages()`, `vmalloc()`), or `EINVAL` for a zone
    /// combination `gfp_zone()` would `VM_BUG_ON()` (two zone modifiers:
    /// there is no zone for them).
    #[inline]
    pub(crate) fn for_pages(self) -> Result<bindings::gfp_t> {
        if !self.zone_is_valid() {
            return Err(EINVAL);
        }
        Ok(self.0)
    }

    /// The raw mask for the slab allocator (`kmalloc()`,
    /// `kmem_cache_alloc()`): as [`Gfp::for_pages`], and `EINVAL` for
    /// `__GFP_DMA32` or `__GFP_HIGHMEM`, which slab objects cannot honour
    /// (`GFP_SLAB_BUG_MASK`: SLUB strips them and dumps a stack through
    /// `kmalloc_fix_flags()`).
    ///
    /// One test covers both: with neither `__GFP_DMA32` nor `__GFP_HIGHMEM`
    /// set, at most one zone modifier (`__GFP_DMA`) is left, a combination
    /// [`Gfp::zone_is_valid`] accepts (the allocation fast paths pay for
    /// this test on every call).
    #[inline]
    pub(crate) fn for_slab(self) -> Result<bindings::gfp_t> {
        self.for_slab_refusing(Gfp(0))
    }

    /// [`Gfp::for_slab`], also refusing any bit of `refused` (one test for
    /// all of them).
    #[inline]
    pub(crate) fn for_slab_refusing(self, refused: Gfp) -> Result<bindings::gfp_t> {
        if self.0 & (Self::__GFP_DMA32.0 | Self::__GFP_HIGHMEM.0 | refused.0) != 0 {
            return Err(EINVAL);
        }
        Ok(self.0)
    }

    /// `self | other`, usable in `const` items.
    #[inline]
    pub(crate) const fn union(self, other: Gfp) -> Gfp {
        Gfp(self.0 | other.0)
    }

    /// Whether every bit of `other` is set in `self`.
    #[inline]
    pub(crate) const fn contains(self, other: Gfp) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether an allocation with this mask may sleep.
    #[inline]
    pub(crate) const fn may_sleep(self) -> bool {
        self.contains(Self::__GFP_DIRECT_RECLAIM)
    }

    /// The highest zone an allocation with this mask may use
    /// (`gfp_zone()`): the zone modifiers pick it, `ZONE_NORMAL` otherwise.
    pub(crate) const fn highest_zone(self) -> Zone {
        if self.contains(Self::__GFP_DMA) {
            Zone::Dma
        } else if self.contains(Self::__GFP_DMA32) {
            Zone::Dma32
        } else if self.contains(Self::__GFP_MOVABLE) {
            Zone::Movable
        } else {
            Zone::Normal
        }
    }
}

impl BitOr for Gfp {
    type Output = Gfp;
    #[inline]
    fn bitor(self, rhs: Gfp) -> Gfp {
        Gfp(self.0 | rhs.0)
    }
}

/// Names for printing, composite masks first so that `GFP_KERNEL` prints as
/// such rather than as its bits.
const NAMES: &[(Gfp, &str)] = &[
    (Gfp::GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
    (Gfp::GFP_HIGHUSER, "GFP_HIGHUSER"),
    (Gfp::GFP_USER, "GFP_USER"),
    (Gfp::GFP_KERNEL, "GFP_KERNEL"),
    (Gfp::GFP_NOFS, "GFP_NOFS"),
    (Gfp::GFP_NOIO, "GFP_NOIO"),
    (Gfp::GFP_ATOMIC, "GFP_ATOMIC"),
    (Gfp::GFP_NOWAIT, "GFP_NOWAIT"),
    (Gfp::GFP_DMA, "GFP_DMA"),
    (Gfp::GFP_DMA32, "GFP_DMA32"),
    (Gfp::__GFP_ZERO, "__GFP_ZERO"),
    (Gfp::__GFP_NOWARN, "__GFP_NOWARN"),
    (Gfp::__GFP_NORETRY, "__GFP_NORETRY"),
    (Gfp::__GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"),
    (Gfp::__GFP_HIGH, "__GFP_HIGH"),
    (Gfp::__GFP_MOVABLE, "__GFP_MOVABLE"),
    (Gfp::__GFP_HIGHMEM, "__GFP_HIGHMEM"),
    (Gfp::__GFP_ACCOUNT, "__GFP_ACCOUNT"),
    (Gfp::__GFP_HARDWALL, "__GFP_HARDWALL"),
    (Gfp::__GFP_IO, "__GFP_IO"),
    (Gfp::__GFP_FS, "__GFP_FS"),
    (Gfp::__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"),
    (Gfp::__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
];

impl kernel::fmt::Display for Gfp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut first = true;
        for (mask, name) in NAMES {
            if mask.0 != 0 && rest & mask.0 == mask.0 {
                write!(f, "{}{}", if first { "" } else { "|" }, name)?;
                rest &= !mask.0;
                first = false;
            }
        }
        if rest != 0 || first {
            write!(f, "{}{:#x}", if first { "" } else { "|" }, rest)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Gfp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        kernel::fmt::Display::fmt(self, f)
    }
}

/// A memory zone (`enum zone_type`): the kernel splits physical memory by
/// what hardware can address.
///
/// On x86-64: `ZONE_DMA` is the first 16 MiB (ISA DMA), `ZONE_DMA32` the
/// rest below 4 GiB (32-bit DMA), `ZONE_NORMAL` everything above, and
/// `ZONE_MOVABLE` memory set aside (e.g. `movablecore=`) for migratable
/// pages. On arm64 `ZONE_DMA` ends where the firmware's DMA limits say
/// (device tree `dma-ranges`, ACPI IORT), and no higher than 4 GiB on a
/// machine with RAM below 4 GiB; `ZONE_DMA32` is what is left below 4 GiB:
/// on QEMU's `virt` (RAM from 1 GiB, no DMA limit) `ZONE_DMA` is all of
/// RAM below 4 GiB and `ZONE_DMA32` is empty, so `GFP_DMA32` pages come
/// from `ZONE_DMA` (`dma_limits_init()`, `arch_zone_limits_init()`,
/// `arch/arm64/mm/init.c`). There is no `ZONE_HIGHMEM` on 64-bit: high
/// memory (RAM without a permanent kernel mapping) exists only on 32-bit
/// kernels.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Zone {
    /// `ZONE_DMA`.
    Dma,
    /// `ZONE_DMA32`.
    Dma32,
    /// `ZONE_NORMAL`.
    Normal,
    /// `ZONE_MOVABLE`.
    Movable,
}

impl Zone {
    /// The zone for a raw `zone_type`, if it is one this kernel has.
    pub(crate) fn from_raw(raw: u32) -> Option<Zone> {
        match raw {
            bindings::zone_type_ZONE_DMA => Some(Zone::Dma),
            bindings::zone_type_ZONE_DMA32 => Some(Zone::Dma32),
            bindings::zone_type_ZONE_NORMAL => Some(Zone::Normal),
            bindings::zone_type_ZONE_MOVABLE => Some(Zone::Movable),
            _ => None,
        }
    }

    /// The `enum zone_type` value.
    pub(crate) fn to_raw(self) -> u32 {
        match self {
            Zone::Dma => bindings::zone_type_ZONE_DMA,
            Zone::Dma32 => bindings::zone_type_ZONE_DMA32,
            Zone::Normal => bindings::zone_type_ZONE_NORMAL,
            Zone::Movable => bindings::zone_type_ZONE_MOVABLE,
        }
    }

    /// Every zone, lowest first.
    pub(crate) const ALL: [Zone; 4] = [Zone::Dma, Zone::Dma32, Zone::Normal, Zone::Movable];

    /// The name `/proc/zoneinfo` uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Zone::Dma => "DMA",
            Zone::Dma32 => "DMA32",
            Zone::Normal => "Normal",
            Zone::Movable => "Movable",
        }
    }

    /// An address no page of this zone reaches, if the zone has one the
    /// architecture fixes: `ZONE_DMA32` ends at 4 GiB everywhere;
    /// `ZONE_DMA` at 16 MiB on x86 (`MAX_DMA_PFN`,
    /// `arch/x86/include/asm/dma.h`) and, on arm64, at the firmware's DMA
    /// limit capped to 4 GiB when RAM starts below 4 GiB, as on every
    /// machine mapdrv boots (`dma_limits_init()`): 4 GiB is the bound.
    pub(crate) fn phys_limit(self) -> Option<u64> {
        match self {
            #[cfg(CONFIG_X86)]
            Zone::Dma => Some(16 << 20),
            #[cfg(not(CONFIG_X86))]
            Zone::Dma => Some(4 << 30),
            Zone::Dma32 => Some(4 << 30),
            Zone::Normal | Zone::Movable => None,
        }
    }
}

impl kernel::fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[kunit_tests(mapdrv_gfp)]
mod tests {
    use super::*;
    use crate::mm::helpers;

    /// Every mask here equals the C macro of the same name: `mapdrv_c_NAME`
    /// is `NAME` as helpers.c computes it (a name C does not define is a
    /// compile error here).
    #[test]
    fn masks_match_c() {
        macro_rules! same_as_c {
            ($($name:ident),* $(,)?) => {$(
                kernel::macros::paste! {
                    // SAFETY: a `const` object of helpers.c, initialised at
                    // compile time and never written.
                    let c = unsafe { helpers::[<mapdrv_c_ $name>] };
                }
                assert_eq!(Gfp::$name.as_raw(), c);
            )*};
        }
        same_as_c!(
            GFP_KERNEL,
            GFP_ATOMIC,
            GFP_NOWAIT,
            GFP_NOIO,
            GFP_NOFS,
            GFP_USER,
            GFP_HIGHUSER,
            GFP_HIGHUSER_MOVABLE,
            GFP_DMA,
            GFP_DMA32,
            __GFP_ZERO,
            __GFP_NOWARN,
            __GFP_NORETRY,
            __GFP_RETRY_MAYFAIL,
            __GFP_HIGH,
            __GFP_MOVABLE,
            __GFP_HIGHMEM,
            __GFP_ACCOUNT,
        );
    }

    /// The kernel crate's own constants agree with ours where they overlap.
    #[test]
    fn agrees_with_kernel_crate() {
        assert_eq!(Gfp::GFP_KERNEL.as_raw(), bindings::GFP_KERNEL);
        assert_eq!(Gfp::GFP_ATOMIC.as_raw(), bindings::GFP_ATOMIC);
        assert_eq!(Gfp::GFP_NOWAIT.as_raw(), bindings::GFP_NOWAIT);
        assert_eq!(Gfp::__GFP_ZERO.as_raw(), bindings::__GFP_ZERO);
    }

    /// Sleeping and zone selection follow the bits.
    #[test]
    fn semantics() {
        assert!(Gfp::GFP_KERNEL.may_sleep());
        assert!(Gfp::GFP_NOIO.may_sleep());
        assert!(!Gfp::GFP_ATOMIC.may_sleep());
        assert!(!Gfp::GFP_NOWAIT.may_sleep());
        assert_eq!((Gfp::GFP_KERNEL | Gfp::GFP_DMA).highest_zone(), Zone::Dma);
        assert_eq!(
            (Gfp::GFP_KERNEL | Gfp::GFP_DMA32).highest_zone(),
            Zone::Dma32
        );
        assert_eq!(Gfp::GFP_KERNEL.highest_zone(), Zone::Normal);
        assert_eq!(Gfp::GFP_HIGHUSER_MOVABLE.highest_zone(), Zone::Movable);
        assert!(Gfp::GFP_USER.contains(Gfp::GFP_KERNEL));
        assert!(!Gfp::GFP_NOFS.contains(Gfp::__GFP_FS));
        assert!(!Gfp::GFP_NOIO.contains(Gfp::__GFP_IO));
    }

    /// `zone_is_valid()` agrees with C's `GFP_ZONE_BAD` on all 16
    /// combinations of the four zone modifiers.
    #[test]
    fn zone_validity_matches_c() {
        let mods = [
            Gfp::__GFP_DMA,
            Gfp::__GFP_HIGHMEM,
            Gfp::__GFP_DMA32,
            Gfp::__GFP_MOVABLE,
        ];
        let mut bad = 0;
        for pattern in 0..16u32 {
            let mut g = Gfp::GFP_KERNEL;
            for (i, m) in mods.iter().enumerate() {
                if pattern & (1 << i) != 0 {
                    g = g | *m;
                }
            }
            // SAFETY: `mapdrv_gfp_zone_bad` only computes on its argument.
            let c_bad = unsafe { crate::mm::helpers::mapdrv_gfp_zone_bad(g.as_raw()) };
            assert_eq!(g.zone_is_valid(), !c_bad);
            bad += usize::from(c_bad);
        }
        // GFP_ZONE_BAD lists eight combinations.
        assert_eq!(bad, 8);
        assert_eq!(
            (Gfp::GFP_DMA | Gfp::GFP_DMA32).for_pages().err(),
            Some(EINVAL)
        );
        assert_eq!(Gfp::GFP_HIGHUSER.for_slab().err(), Some(EINVAL));
        assert_eq!(
            Gfp::GFP_HIGHUSER.for_pages().ok(),
            Some(Gfp::GFP_HIGHUSER.as_raw())
        );
    }

    /// Zone numbers map both ways and unknown numbers are refused.
    #[test]
    fn zones_from_raw() {
        assert_eq!(
            Zone::from_raw(bindings::zone_type_ZONE_DMA),
            Some(Zone::Dma)
        );
        assert_eq!(
            Zone::from_raw(bindings::zone_type_ZONE_NORMAL),
            Some(Zone::Normal)
        );
        assert_eq!(Zone::from_raw(99), None);
        assert_eq!(Zone::Dma32.name(), "DMA32");
    }
}
