// A constructed cache of a type with drop glue: objects go back to the
// cache as they are, so the value's destructor would never run between
// users (or would run on a value the next user still gets). `CtorCache`
// refuses such a `T` with a `const` assertion, which fires only when the
// function is compiled to code (post-monomorphisation): this case is a
// symbol (`#[no_mangle]`), so the object-code build reaches it.
// expect: error[E0080]
// expect: a slab constructor needs a type without drop glue
use crate::mm::slab::{CtorCache, SlabConstruct, SlabFlags};
use kernel::prelude::*;

struct Noisy(KVec<u8>);

impl SlabConstruct for Noisy {
    fn construct() -> Self {
        Noisy(KVec::new())
    }
}

#[no_mangle]
fn mapdrv_compile_fail_ctor_drop_glue() -> Result {
    let _cache = CtorCache::<Noisy>::new(c"mapdrv_cf_noisy", SlabFlags::NONE)?;
    Ok(())
}
