// Hole 5: build a mask with `__GFP_NOFAIL` from the tuple constructor. The
// raw field is private to the `gfp` module.
// expect: error[E0423]
// expect: private field
use crate::mm::gfp::Gfp;
use kernel::bindings;

#[allow(dead_code)]
fn nofail() -> Gfp {
    Gfp(1 << bindings::___GFP_NOFAIL_BIT)
}
