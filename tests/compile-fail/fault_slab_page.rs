// Hole 1: a fault handler batch-maps the slab page behind a kmalloc object
// (found through the direct map). `map_pages` takes only `UserPage`s.
// expect: error[E0271]
// expect: UserPage
use crate::mm::kmalloc::KmallocBuf;
use crate::mm::pfn::PageRef;
use crate::mm::virt::{Fault, FaultError, VmFault, VmOperations};

struct SlabPages {
    obj: KmallocBuf,
}

impl VmOperations for SlabPages {
    fn fault<'f>(&'f self, vmf: &'f VmFault) -> Result<Fault<'f>, FaultError> {
        let page = PageRef::from_virt(self.obj.as_ptr());
        let mapped = vmf.map_pages(vmf.address(), page).map_err(|_| FaultError::SigBus)?;
        Ok(Fault::Mapped(mapped))
    }
}
