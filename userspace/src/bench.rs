//! `maptest bench-alloc`: each allocator through mapdrv's safe wrapper and
//! through the raw C calls (`MAPDRV_IOC_BENCH`), interleaved in one boot.
//!
//! For every case, `--rounds` rounds each time the wrapper and the raw
//! calls, `--iterations` alloc+free pairs per call, in ABBA order (wrapper,
//! raw, raw, wrapper, ...) so that drift hits both alike. Per round the
//! wrapper/raw ratio is taken; the table shows the median ns/op of each,
//! the median ratio and its spread (the 10th..90th percentile of the
//! per-round ratios). `--json` writes the raw per-round numbers too.
//!
//! For the kmalloc cases and the mempool it also times the raw call with
//! the wrapper's checks added (variant 2), interleaved the same way: if
//! wrapper/(raw+check) is 1, the checks are where the wrapper's time goes.

use crate::abi::{BenchCase, BenchVariant, MapdrvBench, MAPDRV_IOC_BENCH};
use crate::cli::{BenchAllocArgs, Options};
use crate::{device, json};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fs::File;

/// The `--json` record of `maptest bench-alloc` (read back by `bench-plot`).
#[derive(Debug, Serialize, Deserialize)]
pub struct AllocResult {
    /// Interleaved rounds per case.
    pub rounds: u64,
    /// Alloc+free pairs per timed call.
    pub iterations: u64,
    /// One entry per [`BenchCase`], in number order.
    pub cases: Vec<CaseResult>,
    /// The kmalloc cases and the mempool: wrapper against the raw call plus
    /// the wrapper's checks ([`BenchVariant::RawChecked`]).
    #[serde(default)]
    pub wrapper_vs_raw_with_check: Vec<Ratio>,
}

/// One case of [`AllocResult`]: medians and every round's numbers.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaseResult {
    /// [`BenchCase::name`].
    pub case: String,
    /// Median ns per pair through the wrapper.
    #[serde(default)]
    pub wrapper_ns_median: f64,
    /// Median ns per pair through the raw calls.
    #[serde(default)]
    pub raw_ns_median: f64,
    /// The per-round wrapper/raw ratios: median, 10th and 90th percentile.
    #[serde(flatten)]
    pub ratio: Spread,
    /// Each round's ns per pair through the wrapper.
    #[serde(default)]
    pub wrapper_ns: Vec<f64>,
    /// Each round's ns per pair through the raw calls.
    #[serde(default)]
    pub raw_ns: Vec<f64>,
}

/// A named ratio's spread.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ratio {
    /// [`BenchCase::name`].
    pub case: String,
    /// The spread of the per-round ratios.
    #[serde(flatten)]
    pub ratio: Spread,
}

/// Median, 10th and 90th percentile of per-round ratios.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Spread {
    /// The median.
    pub ratio_median: f64,
    /// The 10th percentile.
    pub ratio_p10: f64,
    /// The 90th percentile.
    pub ratio_p90: f64,
}

impl Spread {
    /// The spread of `v`, rounded to 4 decimals for the JSON.
    fn of(v: &[f64]) -> Spread {
        let (m, lo, hi) = spread(v);
        Spread {
            ratio_median: round(m, 4),
            ratio_p10: round(lo, 4),
            ratio_p90: round(hi, 4),
        }
    }
}

/// `x` rounded to `digits` decimals: the JSON carries what the
/// measurement can tell, not 17 digits of noise.
pub fn round(x: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (x * k).round() / k
}

/// Times one call: `iterations` pairs of `case` through `variant`, in ns
/// per pair.
fn one(
    file: &File,
    case: BenchCase,
    variant: BenchVariant,
    iterations: u64,
) -> anyhow::Result<f64> {
    let mut b = MapdrvBench {
        case: case as u32,
        raw: variant as u32,
        iterations,
        ns: 0,
    };
    // SAFETY: `MAPDRV_IOC_BENCH` reads and writes one `MapdrvBench`.
    unsafe { device::ioctl_struct(file, MAPDRV_IOC_BENCH, &mut b) }.context("MAPDRV_IOC_BENCH")?;
    Ok(b.ns as f64 / iterations as f64)
}

/// The `q`-quantile (0..=1) of sorted `v`.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The median, 10th and 90th percentile of `v` (in any order).
pub fn spread(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    (quantile(&s, 0.5), quantile(&s, 0.1), quantile(&s, 0.9))
}

/// Times the wrapper against `variant`, one round: the order alternates
/// with the round (ABBA). Returns (wrapper, variant) in ns per pair.
fn pair(
    file: &File,
    case: BenchCase,
    variant: BenchVariant,
    round: u64,
    iterations: u64,
) -> anyhow::Result<(f64, f64)> {
    let w = BenchVariant::Wrapper;
    Ok(if round % 2 == 0 {
        let a = one(file, case, w, iterations)?;
        (a, one(file, case, variant, iterations)?)
    } else {
        let b = one(file, case, variant, iterations)?;
        (one(file, case, w, iterations)?, b)
    })
}

/// Every round of one case: its [`CaseResult`], and for the kmalloc cases
/// the [`Ratio`] against the raw call plus the wrapper's check.
fn measure(
    file: &File,
    case: BenchCase,
    a: &BenchAllocArgs,
) -> anyhow::Result<(CaseResult, Option<Ratio>)> {
    let (mut w, mut r, mut ratio, mut checked) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..a.rounds {
        let (x, y) = pair(file, case, BenchVariant::Raw, round, a.iterations)?;
        w.push(round2(x));
        r.push(round2(y));
        ratio.push(x / y);
        if case.has_checked_variant() {
            let (x, y) = pair(
                file,
                case,
                BenchVariant::RawChecked,
                round + 1,
                a.iterations,
            )?;
            checked.push(x / y);
        }
    }
    let result = CaseResult {
        case: case.name().to_owned(),
        wrapper_ns_median: round2(spread(&w).0),
        raw_ns_median: round2(spread(&r).0),
        ratio: Spread::of(&ratio),
        wrapper_ns: w,
        raw_ns: r,
    };
    let check = (!checked.is_empty()).then(|| Ratio {
        case: case.name().to_owned(),
        ratio: Spread::of(&checked),
    });
    Ok((result, check))
}

fn round2(x: f64) -> f64 {
    round(x, 2)
}

/// `maptest bench-alloc`.
pub fn run(opts: &Options, a: &BenchAllocArgs) -> anyhow::Result<bool> {
    let file = device::open(&opts.device, false)?;
    // Warm-up: one call per variant and case.
    for &c in BenchCase::ALL {
        one(&file, c, BenchVariant::Wrapper, a.iterations)?;
        one(&file, c, BenchVariant::Raw, a.iterations)?;
    }
    if !opts.json {
        println!(
            "{:<24} {:>11} {:>11} {:>8} {:>17}   ({} rounds x {} alloc+free, ABBA interleaved)",
            "case", "wrapper ns", "raw ns", "ratio", "ratio p10..p90", a.rounds, a.iterations
        );
    }
    let mut result = AllocResult {
        rounds: a.rounds,
        iterations: a.iterations,
        cases: Vec::new(),
        wrapper_vs_raw_with_check: Vec::new(),
    };
    for &c in BenchCase::ALL {
        let (row, check) = measure(&file, c, a)?;
        if !opts.json {
            let q = row.ratio;
            println!(
                "{:<24} {:>11.1} {:>11.1} {:>8.3} {:>8.3}..{:<8.3}",
                row.case,
                row.wrapper_ns_median,
                row.raw_ns_median,
                q.ratio_median,
                q.ratio_p10,
                q.ratio_p90
            );
        }
        result.cases.push(row);
        result.wrapper_vs_raw_with_check.extend(check);
    }
    if let Some(path) = &a.save {
        std::fs::write(path, json::line(&result)? + "\n")?;
    }
    if opts.json {
        json::print(&result)?;
    } else {
        print_summary(&result);
    }
    Ok(true)
}

/// The text verdict and the kmalloc diagnostics.
fn print_summary(result: &AllocResult) {
    let all_within = result.cases.iter().all(|c| c.ratio.ratio_median <= 1.02);
    println!(
        "bench-alloc: median wrapper/raw ratio {} 1.02 in every case",
        if all_within { "<=" } else { "NOT <=" }
    );
    if result.wrapper_vs_raw_with_check.is_empty() {
        return;
    }
    println!();
    println!(
        "Where the checked wrappers' time goes: wrapper vs the raw call plus the wrapper's checks"
    );
    println!(
        "(kmalloc: len in 1..=KMALLOC_MAX_SIZE, so that oversize is EINVAL, not a WARN, and the mask for slab;"
    );
    println!("mempool: the mask for slab and no __GFP_ZERO, one test):");
    for d in &result.wrapper_vs_raw_with_check {
        let q = d.ratio;
        println!(
            "{:<24} wrapper/(raw+check) {:.3}  p10..p90 {:.3}..{:.3}",
            d.case, q.ratio_median, q.ratio_p10, q.ratio_p90
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 5.0);
        assert!((quantile(&[1.0, 2.0], 0.5) - 1.5).abs() < 1e-9);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
