// The `Mapped` replay: answer one fault with the proof made for another.
// The token's lifetime is invariant: it names exactly one fault.
// expect: error: lifetime may not live long enough
use crate::mm::virt::{Fault, VmFault};
use kernel::prelude::*;

#[allow(dead_code)]
fn swap<'a, 'b>(a: &'a VmFault, b: &'b VmFault) -> Result<Fault<'b>> {
    let _ = b;
    Ok(Fault::Mapped(a.map_pages(a.address(), core::iter::empty())?))
}
