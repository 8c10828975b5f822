// SPDX-License-Identifier: GPL-2.0

//! Diagnostics: the reusable layer put to work, for people and for tests.
//!
//! - [`report`]: what each allocator really returned, logged at load;
//! - [`exercise`]: allocation cycles on demand (`MAPDRV_IOC_EXERCISE`), for
//!   leak and fault-injection tests;
//! - [`bench`]: wrapper-versus-raw-C microbenchmarks on demand
//!   (`MAPDRV_IOC_BENCH`);
//! - [`fixtures`]: the cache and pool those two allocate from, and an
//!   allocator that fails on demand (a mempool backing).

pub(crate) mod bench;
pub(crate) mod exercise;
pub(crate) mod fixtures;
pub(crate) mod report;

use kernel::prelude::*;

/// Between two units of work that a user asked for: yields the CPU
/// (`cond_resched()`) and stops with `EINTR` if a signal is pending, so a
/// long request neither hogs a CPU nor outlives a Ctrl-C.
pub(crate) fn yield_point() -> Result {
    // SAFETY: process context (an ioctl), no locks held.
    unsafe { crate::mm::helpers::mapdrv_cond_resched() };
    if kernel::current!().signal_pending() {
        return Err(EINTR);
    }
    Ok(())
}
