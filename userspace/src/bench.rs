//! `maptest bench-alloc`: each allocator through mapdrv's safe wrapper and
//! through the raw C calls (`MAPDRV_IOC_BENCH`), interleaved in one boot.
//!
//! For every case, `--rounds` rounds each time the wrapper and the raw
//! calls, `--iterations` alloc+free pairs per call, in ABBA order (wrapper,
//! raw, raw, wrapper, ...) so that drift hits both alike. Per round the
//! wrapper/raw ratio is taken; the table shows the median ns/op of each,
//! the median ratio and its spread (the 10th..90th percentile of the
//! per-round ratios). `--json` writes the raw per-round numbers too.

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

fn one(file: &std::fs::File, case: u32, raw: bool, iterations: u64) -> io::Result<f64> {
    let mut b = MapdrvBench {
        case,
        raw: raw as u32,
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

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// `maptest bench-alloc`.
pub fn run(opts: &Options, rounds: usize, iterations: u64) -> io::Result<bool> {
    let file = device::open(&opts.device, false)?;
    // Warm-up: one call per variant and case.
    for c in 0..CASES.len() as u32 {
        one(&file, c, false, iterations)?;
        one(&file, c, true, iterations)?;
    }
    let mut rows = Vec::new();
    let mut all_within = true;
    if !opts.json {
        println!(
            "{:<24} {:>11} {:>11} {:>8} {:>17}   ({rounds} rounds x {iterations} alloc+free, ABBA interleaved)",
            "case", "wrapper ns", "raw ns", "ratio", "ratio p10..p90"
        );
    }
    for (c, name) in CASES.iter().enumerate() {
        let (mut w, mut r, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (a, b) = if round % 2 == 0 {
                let a = one(&file, c as u32, false, iterations)?;
                (a, one(&file, c as u32, true, iterations)?)
            } else {
                let b = one(&file, c as u32, true, iterations)?;
                (one(&file, c as u32, false, iterations)?, b)
            };
            w.push(a);
            r.push(b);
            ratio.push(a / b);
        }
        let (ws, rs, qs) = (sorted(w.clone()), sorted(r.clone()), sorted(ratio.clone()));
        let med = quantile(&qs, 0.5);
        all_within &= med <= 1.02;
        if !opts.json {
            println!(
                "{:<24} {:>11.1} {:>11.1} {:>8.3} {:>8.3}..{:<8.3}",
                name,
                quantile(&ws, 0.5),
                quantile(&rs, 0.5),
                med,
                quantile(&qs, 0.1),
                quantile(&qs, 0.9)
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
            quantile(&ws, 0.5),
            quantile(&rs, 0.5),
            med,
            quantile(&qs, 0.1),
            quantile(&qs, 0.9),
            list(&w),
            list(&r)
        ));
    }
    let doc = format!(
        "{{\"rounds\":{rounds},\"iterations\":{iterations},\"cases\":[{}]}}",
        rows.join(",")
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
