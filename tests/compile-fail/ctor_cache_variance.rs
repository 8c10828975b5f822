// Variance, through the cache: a `CtorCache<Slot<'static>>` seen as a
// `CtorCache<Slot<'a>>` would let a slot take a reference that lives only
// for 'a, go back to the cache unchanged (no drop glue), and come out of
// the `'static` view as a dangling `&'static`. `KmemCache<T>` is invariant
// in `T` (`PhantomData<fn(T) -> T>`), so the shortening coercion is refused.
// expect: lifetime may not live long enough
use crate::mm::slab::{CtorCache, SlabConstruct};

#[derive(Clone, Copy)]
struct Slot<'a>(&'a u32);

static ZERO: u32 = 0;

impl<'a> SlabConstruct for Slot<'a> {
    fn construct() -> Self {
        Slot(&ZERO)
    }
}

#[allow(dead_code)]
fn shorten<'a>(cache: &'a CtorCache<Slot<'static>>) -> &'a CtorCache<Slot<'a>> {
    cache
}
