//! `maptest bench-fault`: how fast a mapping of the device is first
//! touched, page by page, in every way mapdrv can map it, against the C
//! reference and anonymous memory, interleaved in one boot.
//!
//! Modes ([`modes`], `--modes` keeps some):
//!
//! - `rust`: mapdrv's default, one fault per page (`map_mode=0`);
//! - `c-ref`: the classic mapdrv in C (`bench/mapdrv_cref.c`), same design;
//! - `around-N`: mapdrv's fault-around (`map_mode=1`), N pages per fault,
//!   for every N in `--fault-around N,...`; with several N the tool fits
//!   first touch per page = F/N + I: F the cost of a fault, I the cost of
//!   mapping one page, and the speedup's limit;
//! - `eager`: mapdrv mapping everything at `mmap` (`map_mode=2`,
//!   `remap_vmalloc_range()`); its time includes the `mmap` call;
//! - `anon`: `MAP_PRIVATE | MAP_ANONYMOUS` memory, the kernel's own fast
//!   path, as the floor (a read maps the shared zero page; a write
//!   allocates and zeroes a page).
//!
//! One sample: `mmap` the first `size` bytes (read-write, `MAP_SHARED` for
//! the devices), touch one byte of every page (a volatile load, or a store
//! for `write`), timed from before `mmap` to after the last touch: the
//! first touch. Then the same loop again (every page mapped now): the
//! second touch, the floor of the loop itself. Then `munmap`, timed too.
//! All per page. Mappings smaller than [`MIN_SAMPLE_BYTES`] are measured
//! several times over and averaged into one sample.
//!
//! Every round measures every mode, size and access once; the order of the
//! modes reverses from round to round and rotates every second round
//! ([`order`]), so that drift and position hit them alike. The mapdrv modes need the module reloaded with other parameters:
//! the tool does that itself (`modprobe`/`rmmod`, so it runs as root) and
//! leaves both modules unloaded at the end. Ratios are taken per round, then
//! their median and 10th..90th percentile reported.

use crate::bench::spread as stats;
use crate::cli::Options;
use crate::json;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Instant;

/// What one sample measured, in ns per page.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// `mmap` plus the first touch of every page.
    pub first: f64,
    /// The second touch of every page.
    pub second: f64,
    /// `munmap`.
    pub unmap: f64,
}

fn sh(cmd: &str, args: &[String]) -> io::Result<()> {
    let out = Command::new(cmd).args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn loaded(module: &str) -> bool {
    std::fs::read_to_string("/proc/modules")
        .map(|m| m.lines().any(|l| l.split(' ').next() == Some(module)))
        .unwrap_or(false)
}

fn unload(module: &str) -> io::Result<()> {
    if loaded(module) {
        sh("rmmod", &[module.into()])?;
    }
    Ok(())
}

/// Loads `module` with `params` (unloading it first).
fn load(module: &str, params: &[String]) -> io::Result<()> {
    unload(module)?;
    let mut args = vec![module.to_owned()];
    args.extend_from_slice(params);
    sh("modprobe", &args)
}

/// Touches one byte of every page of `[addr, addr + len)`.
fn touch(addr: *mut u8, len: usize, ps: usize, write: bool) {
    let mut i = 0;
    while i < len {
        // SAFETY: `addr + i` is inside a live read-write mapping of `len`
        // bytes that nothing else in this process references.
        unsafe {
            if write {
                std::ptr::write_volatile(addr.add(i), 1);
            } else {
                std::ptr::read_volatile(addr.add(i));
            }
        }
        i += ps;
    }
}

/// One sample of `len` bytes of `file` (or anonymous memory for `None`).
pub fn sample(file: Option<&File>, len: usize, write: bool) -> io::Result<Sample> {
    let ps = crate::device::page_size();
    let (flags, fd) = match file {
        Some(f) => (libc::MAP_SHARED, f.as_raw_fd()),
        None => (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1),
    };
    let t0 = Instant::now();
    // SAFETY: a fresh mapping chosen by the kernel; it aliases no Rust object.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            fd,
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    touch(addr.cast(), len, ps, write);
    let t1 = Instant::now();
    touch(addr.cast(), len, ps, write);
    let t2 = Instant::now();
    // SAFETY: unmaps the mapping made above, which is not used afterwards.
    if unsafe { libc::munmap(addr, len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let t3 = Instant::now();
    let pages = (len / ps) as f64;
    let ns = |a: Instant, b: Instant| (b - a).as_nanos() as f64 / pages;
    Ok(Sample {
        first: ns(t0, t1),
        second: ns(t1, t2),
        unmap: ns(t2, t3),
    })
}

/// Every sample touches at least this much (small mappings are repeated),
/// so that small sizes are not noisier than large ones.
pub const MIN_SAMPLE_BYTES: usize = 32 << 20;

/// One sample of `len` bytes, repeated up to [`MIN_SAMPLE_BYTES`]: the
/// per-page mean over the repetitions.
pub fn sample_reps(file: Option<&File>, len: usize, write: bool) -> io::Result<Sample> {
    let reps = MIN_SAMPLE_BYTES.div_ceil(len).max(1);
    let mut sum = Sample::default();
    for _ in 0..reps {
        let x = sample(file, len, write)?;
        sum.first += x.first;
        sum.second += x.second;
        sum.unmap += x.unmap;
    }
    let n = reps as f64;
    Ok(Sample {
        first: sum.first / n,
        second: sum.second / n,
        unmap: sum.unmap / n,
    })
}

/// All samples: `[mode][size][access]` -> one per round.
type Samples = Vec<Vec<[Vec<Sample>; 2]>>;

/// The modes to measure: `rust`, `c-ref`, `around-N` for every `N` in
/// `around`, `eager`, `anon`, keeping those `only` names (all if empty;
/// `around` selects every `around-N`).
pub fn modes(around: &[usize], only: &[String]) -> Vec<String> {
    let mut v = vec!["rust".to_owned(), "c-ref".to_owned()];
    v.extend(around.iter().map(|n| format!("around-{n}")));
    v.extend(["eager".to_owned(), "anon".to_owned()]);
    // `--modes` names a family: "around" is every around-N.
    let family = |m: &str| {
        if m.starts_with("around-") {
            "around"
        } else {
            m
        }
        .to_owned()
    };
    v.retain(|m| only.is_empty() || only.iter().any(|o| *o == family(m)));
    v
}

/// Sets up `mode` (loading the module it needs) and returns the device to
/// map, or `None` for anonymous memory.
fn setup(mode: &str, buffer_pages: usize) -> io::Result<Option<File>> {
    let p = |s: &str| s.to_owned();
    let common = [
        p("report=0"),
        p("verbose=0"),
        format!("buffer_pages={buffer_pages}"),
    ];
    let mapdrv = |extra: &[String]| -> io::Result<Option<File>> {
        let mut params = common.to_vec();
        params.extend_from_slice(extra);
        load("mapdrv", &params)?;
        crate::device::open("/dev/mapdrv", true).map(Some)
    };
    match mode {
        "rust" => mapdrv(&[p("map_mode=0")]),
        "eager" => mapdrv(&[p("map_mode=2")]),
        "c-ref" => {
            if !loaded("mapdrv_cref") {
                load("mapdrv_cref", &[format!("buffer_pages={buffer_pages}")])?;
            }
            crate::device::open("/dev/mapdrv_cref", true).map(Some)
        }
        "anon" => Ok(None),
        m => match m.strip_prefix("around-") {
            Some(n) => mapdrv(&[p("map_mode=1"), format!("fault_around_pages={n}")]),
            None => Err(io::Error::other(format!("unknown mode {m}"))),
        },
    }
}

/// The order of `n` modes in round `r`: rounds come in pairs, the second
/// the reverse of the first (ABBA: position effects cancel within a pair),
/// and each pair rotates the order by one.
pub fn order(r: usize, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).map(|i| (i + r / 2) % n).collect();
    if r % 2 == 1 {
        v.reverse();
    }
    v
}

/// Least squares `y = f * x + i`: returns `(f, i)`.
pub fn fit(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let f = sxy / sxx;
    (f, my - f * mx)
}

/// `maptest bench-fault`.
pub fn run(
    opts: &Options,
    rounds: usize,
    sizes_mib: &[usize],
    around: &[usize],
    only: &[String],
) -> io::Result<bool> {
    let ps = crate::device::page_size();
    let max = sizes_mib.iter().copied().max().unwrap_or(0);
    let modes = modes(around, only);
    if max == 0 || rounds == 0 || modes.is_empty() {
        return Err(io::Error::other("need rounds, sizes and at least one mode"));
    }
    let buffer_pages = (max << 20) / ps;
    let idx = |name: &str| modes.iter().position(|m| m == name);
    // [mode][size][read, write]
    let mut all: Samples = (0..modes.len())
        .map(|_| {
            (0..sizes_mib.len())
                .map(|_| [Vec::new(), Vec::new()])
                .collect()
        })
        .collect();
    // Round 0 warms up (module loads, page tables, caches) and is dropped.
    for r in 0..=rounds {
        for m in order(r.saturating_sub(1), modes.len()) {
            let file = setup(&modes[m], buffer_pages)?;
            for (s, &mib) in sizes_mib.iter().enumerate() {
                for (a, write) in [false, true].into_iter().enumerate() {
                    let x = sample_reps(file.as_ref(), mib << 20, write)?;
                    if r > 0 {
                        all[m][s][a].push(x);
                    }
                }
            }
        }
        if !opts.json {
            eprint!("\rbench-fault: round {r}/{rounds} ");
        }
    }
    if !opts.json {
        eprintln!();
    }
    unload("mapdrv")?;
    unload("mapdrv_cref")?;
    let firsts = |m: usize, s: usize, a: usize| -> Vec<f64> {
        all[m][s][a].iter().map(|x| x.first).collect()
    };
    // Per-round ratios of first touches: (name, numerator, denominator).
    let mut ratios: Vec<(String, usize, usize)> = Vec::new();
    if let (Some(r), Some(c)) = (idx("rust"), idx("c-ref")) {
        ratios.push(("rust/c-ref".into(), r, c));
    }
    for (m, name) in modes.iter().enumerate() {
        if name.starts_with("around-") {
            if let Some(r) = idx("rust") {
                ratios.push((format!("rust/{name}"), r, m));
            }
            if let Some(e) = idx("eager") {
                ratios.push((format!("{name}/eager"), m, e));
            }
        }
    }
    let ratio_stats = |num: usize, den: usize, s: usize, a: usize| {
        let per: Vec<f64> = firsts(num, s, a)
            .iter()
            .zip(firsts(den, s, a))
            .map(|(x, y)| x / y)
            .collect();
        stats(&per)
    };
    // The fault-around cost model: first touch per page = F / N + I.
    let arounds: Vec<(usize, usize)> = modes
        .iter()
        .enumerate()
        .filter_map(|(m, name)| Some((m, name.strip_prefix("around-")?.parse().ok()?)))
        .collect();
    let model = |s: usize, a: usize| -> Option<(f64, f64)> {
        (arounds.len() >= 2).then(|| {
            let pts: Vec<(f64, f64)> = arounds
                .iter()
                .map(|&(m, n)| (1.0 / n as f64, stats(&firsts(m, s, a)).0))
                .collect();
            fit(&pts)
        })
    };
    let access = ["read", "write"];
    {
        let mut rows = Vec::new();
        for (m, mode) in modes.iter().enumerate() {
            for (s, mib) in sizes_mib.iter().enumerate() {
                for (a, acc) in access.iter().enumerate() {
                    let v = &all[m][s][a];
                    let list = |f: fn(&Sample) -> f64| {
                        v.iter()
                            .map(|x| format!("{:.1}", f(x)))
                            .collect::<Vec<_>>()
                            .join(",")
                    };
                    rows.push(format!(
                        "{{\"mode\":{},\"size_mib\":{mib},\"access\":\"{acc}\",\"first_ns\":[{}],\"second_ns\":[{}],\"munmap_ns\":[{}]}}",
                        json::string(mode),
                        list(|x| x.first),
                        list(|x| x.second),
                        list(|x| x.unmap)
                    ));
                }
            }
        }
        let mut rat = Vec::new();
        for (name, num, den) in &ratios {
            for (s, mib) in sizes_mib.iter().enumerate() {
                for (a, acc) in access.iter().enumerate() {
                    let (med, p10, p90) = ratio_stats(*num, *den, s, a);
                    rat.push(format!(
                        "{{\"ratio\":{},\"size_mib\":{mib},\"access\":\"{acc}\",\"median\":{med:.4},\"p10\":{p10:.4},\"p90\":{p90:.4}}}",
                        json::string(name)
                    ));
                }
            }
        }
        let mut fits = Vec::new();
        for (s, mib) in sizes_mib.iter().enumerate() {
            for (a, acc) in access.iter().enumerate() {
                if let Some((f, i)) = model(s, a) {
                    fits.push(format!(
                        "{{\"size_mib\":{mib},\"access\":\"{acc}\",\"per_fault_ns\":{f:.1},\"per_page_ns\":{i:.1}}}"
                    ));
                }
            }
        }
        let doc = format!(
            "{{\"rounds\":{rounds},\"fault_around_pages\":[{}],\"page_size\":{ps},\"modes\":[{}],\"samples\":[{}],\"ratios\":[{}],\"fault_around_model\":[{}]}}",
            around.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","),
            modes.iter().map(|m| json::string(m)).collect::<Vec<_>>().join(","),
            rows.join(","),
            rat.join(","),
            fits.join(",")
        );
        if let Some(path) = &opts.save {
            std::fs::write(path, format!("{doc}\n"))?;
        }
        if opts.json {
            println!("{doc}");
            return Ok(true);
        }
    }
    println!("First touch, ns per page (mmap included): median of {rounds} interleaved rounds.");
    print!("{:<7} {:<6}", "size", "access");
    for m in &modes {
        print!(" {m:>10}");
    }
    println!(" {:>10}", "2nd touch");
    for (s, mib) in sizes_mib.iter().enumerate() {
        for (a, acc) in access.iter().enumerate() {
            print!("{:<7} {acc:<6}", format!("{mib} MiB"));
            for m in 0..modes.len() {
                print!(" {:>10.0}", stats(&firsts(m, s, a)).0);
            }
            // The floor: the second touch, every page already mapped.
            let second: Vec<f64> = all[0][s][a].iter().map(|x| x.second).collect();
            println!(" {:>10.1}", stats(&second).0);
        }
    }
    if !ratios.is_empty() {
        println!();
        println!("Ratios of first touch, taken per round: median [p10..p90]");
        for (name, num, den) in &ratios {
            print!("{name:<20}");
            for (s, mib) in sizes_mib.iter().enumerate() {
                for (a, acc) in access.iter().enumerate() {
                    let (med, p10, p90) = ratio_stats(*num, *den, s, a);
                    print!("  {mib}M {acc} {med:.3} [{p10:.2}..{p90:.2}]");
                }
            }
            println!();
        }
    }
    if arounds.len() >= 2 {
        println!();
        println!("Fault-around cost model, first touch per page = F/N + I (least squares over N):");
        for (s, mib) in sizes_mib.iter().enumerate() {
            for (a, acc) in access.iter().enumerate() {
                if let Some((f, i)) = model(s, a) {
                    print!("  {mib} MiB {acc}: F = {f:.0} ns per fault, I = {i:.0} ns per page");
                    if let Some(r) = idx("rust") {
                        let classic = stats(&firsts(r, s, a)).0;
                        print!(
                            "; speedup over one page per fault tends to {:.1}x",
                            classic / i
                        );
                    }
                    println!();
                    // What the model leaves unexplained, window by window
                    // (and, as a check outside the fit, the classic mode,
                    // whose one page per fault the model calls N = 1).
                    let mut res = Vec::new();
                    for &(m, n) in &arounds {
                        let got = stats(&firsts(m, s, a)).0;
                        res.push((format!("N={n}"), got, f / n as f64 + i));
                    }
                    if let Some(r) = idx("rust") {
                        res.push((
                            "rust (N=1, not fitted)".into(),
                            stats(&firsts(r, s, a)).0,
                            f + i,
                        ));
                    }
                    let text: Vec<String> = res
                        .iter()
                        .map(|(what, got, want)| {
                            format!(
                                "{what} {:+.0} ns ({:+.1} %)",
                                got - want,
                                100.0 * (got - want) / want
                            )
                        })
                        .collect();
                    println!("    residuals (measured - model): {}", text.join(", "));
                }
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_once_per_round_and_rotating() {
        for r in 0..10 {
            let mut o = order(r, 5);
            o.sort();
            assert_eq!(o, (0..5).collect::<Vec<_>>());
        }
        assert_eq!(order(0, 5), vec![0, 1, 2, 3, 4]);
        assert_eq!(order(1, 5), vec![4, 3, 2, 1, 0]);
        assert_eq!(order(2, 5), vec![1, 2, 3, 4, 0]);
        // Over a pair, every mode's positions sum to the same.
        for pair in [0, 2, 4] {
            let (a, b) = (order(pair, 5), order(pair + 1, 5));
            for m in 0..5 {
                let pos = |o: &Vec<usize>| o.iter().position(|&x| x == m).unwrap();
                assert_eq!(pos(&a) + pos(&b), 4);
            }
        }
    }

    #[test]
    fn mode_lists_and_fit() {
        assert_eq!(
            modes(&[16, 64], &[]),
            ["rust", "c-ref", "around-16", "around-64", "eager", "anon"]
        );
        assert_eq!(
            modes(&[16, 64], &["rust".into(), "around".into()]),
            ["rust", "around-16", "around-64"]
        );
        let (f, i) = fit(&[(1.0, 3100.0), (0.25, 850.0), (1.0 / 16.0, 287.5)]);
        assert!((f - 3000.0).abs() < 1e-6 && (i - 100.0).abs() < 1e-6);
    }

    #[test]
    fn anonymous_samples_work_on_the_host() {
        let s = sample(None, 1 << 20, true).unwrap();
        assert!(s.first > 0.0 && s.second > 0.0);
    }
}
