// SPDX-License-Identifier: GPL-2.0

//! Diagnostics: the reusable layer put to work, for people and for tests.
//!
//! - [`report`]: what each allocator really returned, logged at load;
//! - [`exercise`]: allocation cycles on demand (`MAPDRV_IOC_EXERCISE`), for
//!   leak and fault-injection tests;
//! - [`bench`]: wrapper-versus-raw-C microbenchmarks on demand
//!   (`MAPDRV_IOC_BENCH`).

pub(crate) mod bench;
pub(crate) mod exercise;
pub(crate) mod report;
