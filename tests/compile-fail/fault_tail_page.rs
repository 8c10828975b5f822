// Hole 1: a fault handler maps a tail page of a non-compound order-2 block
// (reference count 0). `Pages::pages()` yields inspection views only.
// expect: error[E0308]
// expect: expected `UserPage<'_>`, found `PageRef<'_>`
use crate::mm::gfp::Gfp;
use crate::mm::page::Pages;
use crate::mm::virt::{Fault, FaultError, VmFault, VmOperations};

struct Block {
    pages: Pages,
}

impl Block {
    #[allow(dead_code)]
    fn new() -> kernel::error::Result<Self> {
        Ok(Block {
            pages: Pages::alloc(Gfp::GFP_KERNEL, 2)?,
        })
    }
}

impl VmOperations for Block {
    fn fault<'f>(&'f self, vmf: &'f VmFault) -> Result<Fault<'f>, FaultError> {
        let tail = self.pages.pages().nth(1 + vmf.pgoff() % 3).ok_or(FaultError::SigBus)?;
        Ok(Fault::Page(tail))
    }
}
