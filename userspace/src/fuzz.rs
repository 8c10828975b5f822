//! `maptest fuzz --seed S --seconds T`: a seeded syscall fuzzer for
//! `/dev/mapdrv`, with a model of the contract to hold every result to.
//!
//! A run is a sequence of operations generated from the seed: open, close,
//! mmap, munmap, mremap, mprotect, madvise, msync, pread/pwrite, read/write
//! at the file position, lseek, ioctl, fork (the child checks every live
//! mapping, or its absence after `MADV_DONTFORK`), and loads and stores
//! into live mappings, with hostile arguments (odd and huge lengths and offsets,
//! bogus buffers and ioctl arguments, every prot and flag combination). An
//! operation names its fd or mapping as "the k-th live one", so most of
//! them reach the device instead of an empty slot, and half the mmaps are
//! valid requests.
//!
//! The model (`Model`) keeps a shadow of the contract: the open fds with
//! their access mode and file position, the live mappings with their
//! protection, sharing and file offset, and a byte-for-byte shadow of the
//! buffer. Before each system call it computes what the contract (and the
//! kernel's own checks before the driver, cited from Linux 7.2 where they
//! decide the errno) says the result must be: a value or one errno. Any
//! other result is a violation, in both directions: a refusal the contract
//! allows, an allowed call that fails, a wrong errno or count. Every byte
//! read (`pread`, `read`, a load from a mapping) is compared with the
//! shadow; every byte written updates it. A load or store the protection
//! allows that kills the process is a violation too (the sequence runs in
//! a forked child).
//!
//! Counted: executed system calls (the figure the summary reports), loads
//! and stores, and operations skipped because nothing was live to act on.
//!
//! On failure the driver prints the seed, then shrinks the sequence (ddmin:
//! drop chunks while the failure persists) and prints the shortest sequence
//! it found, replayable with `--seed S --calls N --keep LIST`.

mod model;
mod ops;
mod run;
mod shrink;

use crate::cli::Options;
use crate::device;
use model::Tally;
use ops::{generate, Op};
use run::{replay, Outcome};
use shrink::shrink;
use std::time::{Duration, Instant};

/// Totals over all runs.
#[derive(Default)]
struct Totals {
    runs: u64,
    t: Tally,
}

impl Totals {
    fn add(&mut self, t: &Tally) {
        self.runs += 1;
        self.t.index += t.index;
        self.t.syscalls += t.syscalls;
        self.t.accesses += t.accesses;
        self.t.skipped += t.skipped;
    }
}

/// `maptest fuzz`.
pub fn run(opts: &Options, seed: u64, seconds: u64, calls_per_run: usize) -> anyhow::Result<bool> {
    let file = device::open(&opts.device, false)?;
    let size = device::stats(&file)?.buffer_size;
    drop(file);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut totals = Totals::default();
    let mut s = seed;
    loop {
        let ops = generate(s, calls_per_run, size);
        let (out, tally) = replay(&opts.device, size, &ops)?;
        totals.add(&tally);
        if out != Outcome::Pass {
            let idx = match &out {
                Outcome::Violation { index, .. } | Outcome::Died { index, .. } => *index as usize,
                Outcome::Pass => 0,
            };
            println!("fuzz: FAILURE with seed {s} ({calls_per_run} operations per run): {out:?}");
            let prefix = &ops[..=idx.min(ops.len() - 1)];
            let keep = shrink(&opts.device, size, prefix, &out, 300);
            println!(
                "fuzz: shortest reproducing sequence ({} operations, replay with --seed {s} --calls {calls_per_run} --keep {}):",
                keep.len(),
                keep.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
            );
            for i in &keep {
                println!("  #{i}: {:?}", prefix[*i]);
            }
            print_summary(opts, seed, &totals, false);
            return Ok(false);
        }
        if Instant::now() >= deadline {
            break;
        }
        s = s.wrapping_add(1);
    }
    print_summary(opts, seed, &totals, true);
    Ok(true)
}

/// `maptest fuzz --seed S --calls N --keep I,J,...`: replay a sequence.
pub fn replay_kept(
    opts: &Options,
    seed: u64,
    calls: usize,
    keep: &[usize],
) -> anyhow::Result<bool> {
    let file = device::open(&opts.device, false)?;
    let size = device::stats(&file)?.buffer_size;
    drop(file);
    let ops = generate(seed, calls, size);
    let seq: Vec<Op> = keep.iter().filter_map(|&i| ops.get(i).copied()).collect();
    for (i, op) in keep.iter().zip(&seq) {
        println!("  #{i}: {op:?}");
    }
    let (out, _) = replay(&opts.device, size, &seq)?;
    println!("fuzz: replay: {out:?}");
    Ok(out == Outcome::Pass)
}

fn print_summary(opts: &Options, seed: u64, totals: &Totals, ok: bool) {
    let t = &totals.t;
    if opts.json {
        /// The `--json` record of `maptest fuzz`.
        #[derive(serde::Serialize)]
        struct Summary {
            seed: u64,
            runs: u64,
            operations: u64,
            syscalls: u64,
            accesses: u64,
            skipped: u64,
            ok: bool,
        }
        let summary = Summary {
            seed,
            runs: totals.runs,
            operations: t.index,
            syscalls: t.syscalls,
            accesses: t.accesses,
            skipped: t.skipped,
            ok,
        };
        match crate::json::line(&summary) {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("maptest: {e:#}"),
        }
    } else {
        println!(
            "fuzz: seed {seed}: {} runs, {} system calls and {} loads/stores executed and checked ({} of {} operations skipped), {}",
            totals.runs,
            t.syscalls,
            t.accesses,
            t.skipped,
            t.index,
            if ok { "no contract violation" } else { "FAILED" }
        );
    }
}
