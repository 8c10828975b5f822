// SPDX-License-Identifier: GPL-2.0

//! `/dev/mapdrv`'s ioctls (see [`crate::abi`]): `MAPDRV_IOC_GET_STATS` for
//! every opener; `MAPDRV_IOC_EXERCISE` and `MAPDRV_IOC_BENCH` for
//! `CAP_SYS_ADMIN`, because they spend kernel time allocating memory.

use super::MapdrvDevice;
use crate::abi::{
    MapdrvBench, MapdrvExercise, MapdrvPageCounts, MapdrvStats, MAPDRV_IOC_BENCH,
    MAPDRV_IOC_EXERCISE, MAPDRV_IOC_GET_STATS, MAPDRV_IOC_GET_STATS_V1, MAPDRV_IOC_MAGIC,
    MAPDRV_IOC_PAGE_COUNTS, MAPDRV_STATS_V1_SIZE,
};
use kernel::bindings;
use kernel::ioctl::{_IOR, _IOWR};
use kernel::prelude::*;
use kernel::transmute::{AsBytes, FromBytes};
use kernel::uaccess::{UserPtr, UserSlice};

// SAFETY: `MapdrvStats` is `repr(C)` with only `u32`/`u64` fields and no padding.
unsafe impl AsBytes for MapdrvStats {}
// SAFETY: `repr(C)`, only `u32`/`u64` fields, no padding: any bytes are valid.
unsafe impl FromBytes for MapdrvExercise {}
// SAFETY: as above, and no padding to leak.
unsafe impl AsBytes for MapdrvExercise {}
// SAFETY: `repr(C)`, two `u64` fields, no padding to leak.
unsafe impl AsBytes for MapdrvPageCounts {}
// SAFETY: `repr(C)`, only `u32`/`u64` fields, no padding: any bytes are valid.
unsafe impl FromBytes for MapdrvBench {}
// SAFETY: as above, and no padding to leak.
unsafe impl AsBytes for MapdrvBench {}

// The ABI's numbers are computed by `abi::ioc`, which the tool compiles
// too (it has no `kernel` crate): they must be the kernel's own
// `_IOR`/`_IOWR` of the same structures, or the build fails here.
const _: () = {
    assert!(MAPDRV_IOC_GET_STATS == _IOR::<MapdrvStats>(MAPDRV_IOC_MAGIC, 1));
    assert!(MAPDRV_IOC_GET_STATS_V1 == _IOR::<[u8; MAPDRV_STATS_V1_SIZE]>(MAPDRV_IOC_MAGIC, 1));
    assert!(MAPDRV_IOC_EXERCISE == _IOWR::<MapdrvExercise>(MAPDRV_IOC_MAGIC, 2));
    assert!(MAPDRV_IOC_BENCH == _IOWR::<MapdrvBench>(MAPDRV_IOC_MAGIC, 3));
    assert!(MAPDRV_IOC_PAGE_COUNTS == _IOR::<MapdrvPageCounts>(MAPDRV_IOC_MAGIC, 4));
};

/// Runs ioctl `cmd` with argument `arg` on `dev`: `ENOTTY` for a command
/// that is not one of [`crate::abi`]'s.
pub(super) fn dispatch(dev: &MapdrvDevice, cmd: u32, arg: usize) -> Result<isize> {
    match cmd {
        MAPDRV_IOC_GET_STATS | MAPDRV_IOC_GET_STATS_V1 => {
            let mut stats = dev.stats();
            // A version 1 caller gets the prefix it knows, labelled as
            // what it is: version 1, `size` the bytes copied.
            let len = if cmd == MAPDRV_IOC_GET_STATS_V1 {
                stats.version = 1;
                stats.size = MAPDRV_STATS_V1_SIZE as u32;
                MAPDRV_STATS_V1_SIZE
            } else {
                core::mem::size_of::<MapdrvStats>()
            };
            let mut out = UserSlice::new(UserPtr::from_addr(arg), len).writer();
            out.write_slice(&stats.as_bytes()[..len])?;
            Ok(0)
        }
        MAPDRV_IOC_EXERCISE => {
            require_sys_admin()?;
            let len = core::mem::size_of::<MapdrvExercise>();
            let (mut input, mut output) =
                UserSlice::new(UserPtr::from_addr(arg), len).reader_writer();
            let mut req: MapdrvExercise = input.read()?;
            req.ok = 0;
            req.enomem = 0;
            req.other = 0;
            req.reserve_served = 0;
            crate::diag::exercise::run(&dev.exercise, &mut req)?;
            output.write(&req)?;
            Ok(0)
        }
        MAPDRV_IOC_BENCH => {
            require_sys_admin()?;
            let len = core::mem::size_of::<MapdrvBench>();
            let (mut input, mut output) =
                UserSlice::new(UserPtr::from_addr(arg), len).reader_writer();
            let mut req: MapdrvBench = input.read()?;
            req.ns = crate::diag::bench::run(&dev.exercise, req.case, req.raw, req.iterations)?;
            output.write(&req)?;
            Ok(0)
        }
        MAPDRV_IOC_PAGE_COUNTS => {
            let counts = dev.page_counts();
            let len = core::mem::size_of::<MapdrvPageCounts>();
            UserSlice::new(UserPtr::from_addr(arg), len)
                .writer()
                .write(&counts)?;
            Ok(0)
        }
        _ => Err(ENOTTY),
    }
}

/// `EPERM` unless the caller has `CAP_SYS_ADMIN`: the exercise and benchmark
/// ioctls spend up to seconds of kernel time allocating memory.
fn require_sys_admin() -> Result {
    // SAFETY: `capable()` checks the current task's credentials; any
    // process context may call it.
    if unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) } {
        Ok(())
    } else {
        Err(EPERM)
    }
}
