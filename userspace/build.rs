//! Sets `--cfg maptest` for the tool's build: `src/abi.rs`, shared with the
//! kernel module, derives `serde::Serialize` for its records only here
//! (`#[cfg_attr(maptest, ...)]`); the module's build knows no such cfg.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(maptest)");
    println!("cargo::rustc-cfg=maptest");
    println!("cargo::rerun-if-changed=build.rs");
}
