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
//! For the kmalloc cases it also times the raw call with the wrapper's one
//! extra check added (variant 2), interleaved the same way: if
//! wrapper/(raw+check) is 1, that check is where the wrapper's time goes.

use crate::abi::{MapdrvBench, MAPDRV_IOC_BENCH};
use crate::cli::Options;
use crate::{device, json};
use std::io;

/// The benchmark cases, in the kernel's numbering.
pub const CASES: [&str; 12] = [
    "alloc_pages order 0",
    "alloc_pages order 3",
    "__get_free_pages",
    "get_zeroed_page",
    "kmalloc 64 B",
    "kmalloc 4 KiB",
    "kzalloc 256 B",
    "kmem_cache 192 B",
    "mempool (kmalloc 256 B)",
    "vmalloc 1 page",
    "vmalloc 16 pages",
    "alloc_pages __GFP_ZERO",
];

/// The kmalloc cases, where the wrapper checks the length and the raw call
/// does not; variant 2 adds that check to the raw call.
const CHECKED: std::ops::RangeInclusive<u32> = 4..=6;

fn one(file: &std::fs::File, case: u32, variant: u32, iterations: u64) -> io::Result<f64> {
    let mut b = MapdrvBench {
        case,
        raw: variant,
        iterations,
        ns: 0,
    };
    // SAFETY: `MAPDRV_IOC_BENCH` reads and writes one `MapdrvBench`.
    unsafe { device::ioctl_struct(file, MAPDRV_IOC_BENCH, &mut b)? };
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

/// `maptest bench-alloc`.
pub fn run(opts: &Options, rounds: usize, iterations: u64) -> io::Result<bool> {
    let file = device::open(&opts.device, false)?;
    // Warm-up: one call per variant and case.
    for c in 0..CASES.len() as u32 {
        one(&file, c, 0, iterations)?;
        one(&file, c, 1, iterations)?;
    }
    let mut rows = Vec::new();
    let mut diagnostics: Vec<(&str, f64, f64, f64)> = Vec::new();
    let mut all_within = true;
    if !opts.json {
        println!(
            "{:<24} {:>11} {:>11} {:>8} {:>17}   ({rounds} rounds x {iterations} alloc+free, ABBA interleaved)",
            "case", "wrapper ns", "raw ns", "ratio", "ratio p10..p90"
        );
    }
    for (c, name) in CASES.iter().enumerate() {
        let (mut w, mut r, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        let pair = |round: usize, variant: u32| -> io::Result<(f64, f64)> {
            Ok(if round % 2 == 0 {
                let a = one(&file, c as u32, 0, iterations)?;
                (a, one(&file, c as u32, variant, iterations)?)
            } else {
                let b = one(&file, c as u32, variant, iterations)?;
                (one(&file, c as u32, 0, iterations)?, b)
            })
        };
        let mut checked = Vec::new();
        for round in 0..rounds {
            let (a, b) = pair(round, 1)?;
            w.push(a);
            r.push(b);
            ratio.push(a / b);
            if CHECKED.contains(&(c as u32)) {
                let (a, b) = pair(round + 1, 2)?;
                checked.push(a / b);
            }
        }
        if !checked.is_empty() {
            let (m, lo, hi) = spread(&checked);
            diagnostics.push((*name, m, lo, hi));
        }
        let (wm, rm) = (spread(&w).0, spread(&r).0);
        let (med, p10, p90) = spread(&ratio);
        all_within &= med <= 1.02;
        if !opts.json {
            println!(
                "{:<24} {:>11.1} {:>11.1} {:>8.3} {:>8.3}..{:<8.3}",
                name, wm, rm, med, p10, p90
            );
        }
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        rows.push(format!(
            "{{\"case\":{},\"wrapper_ns_median\":{:.2},\"raw_ns_median\":{:.2},\"ratio_median\":{:.4},\"ratio_p10\":{:.4},\"ratio_p90\":{:.4},\"wrapper_ns\":[{}],\"raw_ns\":[{}]}}",
            json::string(name),
            wm,
            rm,
            med,
            p10,
            p90,
            list(&w),
            list(&r)
        ));
    }
    let diag: Vec<String> = diagnostics
        .iter()
        .map(|(name, m, lo, hi)| {
            format!(
                "{{\"case\":{},\"ratio_median\":{m:.4},\"ratio_p10\":{lo:.4},\"ratio_p90\":{hi:.4}}}",
                json::string(name)
            )
        })
        .collect();
    let doc = format!(
        "{{\"rounds\":{rounds},\"iterations\":{iterations},\"cases\":[{}],\"wrapper_vs_raw_with_check\":[{}]}}",
        rows.join(","),
        diag.join(",")
    );
    if let Some(path) = &opts.save {
        std::fs::write(path, format!("{doc}\n"))?;
    }
    if opts.json {
        println!("{doc}");
    } else {
        println!(
            "bench-alloc: median wrapper/raw ratio {} 1.02 in every case",
            if all_within { "<=" } else { "NOT <=" }
        );
        if !diagnostics.is_empty() {
            println!();
            println!(
                "Where the kmalloc wrappers' time goes: wrapper vs the raw call plus the wrapper's"
            );
            println!("one extra check (len in 1..=KMALLOC_MAX_SIZE, so that oversize is EINVAL, not a WARN):");
            for (name, m, lo, hi) in &diagnostics {
                println!("{name:<24} wrapper/(raw+check) {m:.3}  p10..p90 {lo:.3}..{hi:.3}");
            }
        }
    }
    Ok(true)
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
