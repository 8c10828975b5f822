// The `Mapped` replay: keep a proof of mapping past its fault, to return
// `VM_FAULT_NOPAGE` later without mapping anything. The token borrows its
// fault.
// expect: error: lifetime may not live long enough
use crate::mm::virt::{Mapped, VmFault};
use kernel::prelude::*;

#[allow(dead_code)]
fn keep<'f>(vmf: &'f VmFault) -> Result<Mapped<'static>> {
    vmf.map_pages(vmf.address(), core::iter::empty())
}
