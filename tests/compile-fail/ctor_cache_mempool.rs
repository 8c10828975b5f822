// Hole 4: put a cache with a constructor behind a mempool, whose byte
// elements could be scribbled and come back as an invalid `T`.
// expect: error[E0308]
// expect: expected `&KmemCache<_>`, found `&CtorCache<Flag>`
use crate::mm::mempool::Mempool;
use crate::mm::slab::{CtorCache, SlabConstruct, SlabFlags};

struct Flag {
    _set: bool,
}

impl SlabConstruct for Flag {
    fn construct() -> Self {
        Flag { _set: false }
    }
}

#[allow(dead_code)]
fn scribble() -> kernel::error::Result {
    let cache = CtorCache::<Flag>::new(c"mapdrv_cf_flags", SlabFlags::NONE)?;
    let _pool = Mempool::slab(4, &cache)?;
    Ok(())
}
