// Variance, through one object: a `CacheBox<'c, Slot<'static>>` of a
// constructed cache seen as a `CacheBox<'c, Slot<'a>>` would let its slot
// take a reference that lives only for 'a and keep it, in the cache, after
// the box is dropped. `CacheBox` holds `&KmemCache<T>`, which is invariant
// in `T`, so the box is too and the shortening coercion is refused.
// expect: lifetime may not live long enough
use crate::mm::slab::CacheBox;

#[derive(Clone, Copy)]
struct Slot<'a>(&'a u32);

#[allow(dead_code)]
fn shorten<'c, 'a>(obj: CacheBox<'c, Slot<'static>>) -> CacheBox<'c, Slot<'a>> {
    obj
}
