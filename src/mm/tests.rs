// SPDX-License-Identifier: GPL-2.0

//! KUnit cases that compare allocator families with each other. Each family
//! file tests itself with its own suite; what needs two families lives here,
//! so that no family's tests import another family (the layer's
//! dependencies go one way: `page` <- `kmalloc`, `vmalloc`, `mempool`).

use kernel::prelude::*;

#[kunit_tests(mapdrv_mm)]
mod cases {
    use super::*;
    use crate::mm::gfp::Gfp;
    use crate::mm::kmalloc::KmallocBuf;
    use crate::mm::page::PAGE_SIZE;
    use crate::mm::pfn::{PageRef, Pfn};
    use crate::mm::vmalloc::{vmalloc_area, VmallocBuf};
    use kernel::bindings;

    /// Addresses outside the direct map have no `virt_to_page()`: we say
    /// `None` instead of computing a bogus `struct page`.
    #[test]
    fn non_direct_map_addresses_are_refused() -> Result {
        assert!(PageRef::from_virt(core::ptr::null()).is_none());
        assert!(PageRef::from_virt(0x1000 as *const u8).is_none());
        let v = VmallocBuf::alloc(PAGE_SIZE)?;
        assert!(PageRef::from_virt(v.as_ptr()).is_none());
        assert!(Pfn::from_virt(v.as_ptr()).is_none());
        assert!(!Pfn(usize::MAX >> bindings::PAGE_SHIFT).is_valid());
        assert!(Pfn(usize::MAX >> bindings::PAGE_SHIFT).page().is_none());
        Ok(())
    }

    /// A vmalloc buffer lives in the vmalloc area, not the direct map.
    #[test]
    fn lives_in_the_vmalloc_area() -> Result {
        let b = VmallocBuf::alloc(3 * PAGE_SIZE)?;
        assert!(b.is_vmalloc_addr());
        assert!(vmalloc_area().contains(&(b.as_ptr() as usize)));
        assert!(PageRef::from_virt(b.as_ptr()).is_none());
        let k = KmallocBuf::alloc(64, Gfp::GFP_KERNEL)?;
        // SAFETY: only compares the address with the area's bounds.
        assert!(!unsafe { bindings::is_vmalloc_addr(k.as_ptr().cast()) });
        Ok(())
    }

    /// 64 MiB: vmalloc succeeds where kmalloc cannot.
    #[test]
    fn sixty_four_mib() -> Result {
        let b = VmallocBuf::alloc(64 << 20)?;
        assert_eq!(b.page_count(), (64 << 20) / PAGE_SIZE);
        assert!(b.phys_runs() >= 1 && b.phys_runs() <= b.page_count());
        assert!(KmallocBuf::alloc(64 << 20, Gfp::GFP_KERNEL).is_err());
        Ok(())
    }
}
