// Hole 5: reach `__GFP_NOFAIL` (or any raw mask) through the raw
// constructor. It is `unsafe`: safe code cannot call it.
// expect: error[E0133]
// expect: call to unsafe function
use crate::mm::gfp::Gfp;
use kernel::bindings;

#[allow(dead_code)]
fn nofail() -> Gfp {
    Gfp::from_raw(1 << bindings::___GFP_NOFAIL_BIT)
}
