//! `maptest bench-fault`: how fast a mapping of the device is first
//! touched, page by page, in every way mapdrv can map it, against the C
//! reference and anonymous memory, interleaved in one boot.
//!
//! Subjects ([`subjects`], `--modes` keeps some; the map modes by the
//! ABI's names):
//!
//! - `fault`: mapdrv's default, one fault per page (`map_mode=0`);
//! - `c-ref`: the classic mapdrv in C (`bench/mapdrv_cref.c`), same design;
//! - `fault-around-N`: mapdrv's fault-around (`map_mode=1`), N pages per
//!   fault, for every N in `--fault-around N,...`; with several N the tool
//!   fits first touch per page = F/N + I: F the cost of a fault, I the cost
//!   of mapping one page, and the speedup's limit;
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
//! ([`order`]), so that drift and position hit them alike. The mapdrv
//! modes need the module reloaded with other parameters: the tool does that
//! itself (`modprobe`/`rmmod`, so it runs as root) and
//! leaves both modules unloaded at the end. Ratios are taken per round, then
//! their median and 10th..90th percentile reported.

use crate::abi::MapMode;
use crate::bench::{round, spread as stats};
use crate::cli::{BenchFaultArgs, Options, Subject};
use crate::json;
use serde::{Deserialize, Serialize};
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

fn sh(cmd: &str, args: &[String]) -> anyhow::Result<()> {
    let out = Command::new(cmd).args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(anyhow::Error::msg(format!(
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

fn unload(module: &str) -> anyhow::Result<()> {
    if loaded(module) {
        sh("rmmod", &[module.into()])?;
    }
    Ok(())
}

/// Loads `module` with `params` (unloading it first).
fn load(module: &str, params: &[String]) -> anyhow::Result<()> {
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
pub fn sample(file: Option<&File>, len: usize, write: bool) -> anyhow::Result<Sample> {
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
        return Err(io::Error::last_os_error().into());
    }
    touch(addr.cast(), len, ps, write);
    let t1 = Instant::now();
    touch(addr.cast(), len, ps, write);
    let t2 = Instant::now();
    // SAFETY: unmaps the mapping made above, which is not used afterwards.
    if unsafe { libc::munmap(addr, len) } != 0 {
        return Err(io::Error::last_os_error().into());
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
pub fn sample_reps(file: Option<&File>, len: usize, write: bool) -> anyhow::Result<Sample> {
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

/// One column of the benchmark: a subject, with its window for
/// fault-around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mode {
    /// What is timed.
    pub subject: Subject,
    /// `fault_around_pages`, for [`MapMode::FaultAround`] only.
    pub window: Option<u64>,
}

impl Mode {
    /// The name in tables and JSON: the subject's, with `-N` for a window.
    pub fn name(&self) -> String {
        match self.window {
            Some(n) => format!("{}-{n}", self.subject.name()),
            None => self.subject.name().to_owned(),
        }
    }
}

/// The modes to measure: every [`Subject`] in `only` (all if empty), with
/// fault-around once per window in `around`.
pub fn subjects(around: &[u64], only: &[Subject]) -> Vec<Mode> {
    let mut v = Vec::new();
    for s in Subject::ALL {
        if !only.is_empty() && !only.contains(&s) {
            continue;
        }
        if s == Subject::Mapdrv(MapMode::FaultAround) {
            v.extend(around.iter().map(|&n| Mode {
                subject: s,
                window: Some(n),
            }));
        } else {
            v.push(Mode {
                subject: s,
                window: None,
            });
        }
    }
    v
}

/// Sets up `mode` (loading the module it needs) and returns the device to
/// map, or `None` for anonymous memory.
fn setup(mode: &Mode, buffer_pages: usize) -> anyhow::Result<Option<File>> {
    match mode.subject {
        Subject::Mapdrv(m) => {
            let mut params = vec![
                "report=0".to_owned(),
                "verbose=0".to_owned(),
                format!("buffer_pages={buffer_pages}"),
                format!("map_mode={}", m as u32),
            ];
            params.extend(mode.window.map(|n| format!("fault_around_pages={n}")));
            load("mapdrv", &params)?;
            crate::device::open("/dev/mapdrv", true).map(Some)
        }
        Subject::CRef => {
            if !loaded("mapdrv_cref") {
                load("mapdrv_cref", &[format!("buffer_pages={buffer_pages}")])?;
            }
            crate::device::open("/dev/mapdrv_cref", true).map(Some)
        }
        Subject::Anon => Ok(None),
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

/// The `--json` record of `maptest bench-fault` (read back by
/// `bench-plot`).
#[derive(Debug, Serialize, Deserialize)]
pub struct FaultResult {
    /// Interleaved rounds.
    pub rounds: u64,
    /// The `--fault-around` windows.
    #[serde(default)]
    pub fault_around_pages: Vec<u64>,
    /// The page size, bytes.
    #[serde(default)]
    pub page_size: usize,
    /// The modes' names ([`Mode::name`]), in table order.
    pub modes: Vec<String>,
    /// Every round's numbers, per mode, size and access.
    pub samples: Vec<SampleRow>,
    /// Per-round ratios of first touches.
    #[serde(default)]
    pub ratios: Vec<RatioRow>,
    /// The fit of first touch per page = F/N + I over the windows.
    #[serde(default)]
    pub fault_around_model: Vec<ModelRow>,
}

/// One mode, size and access of [`FaultResult`]: ns per page, per round.
#[derive(Debug, Serialize, Deserialize)]
pub struct SampleRow {
    /// [`Mode::name`].
    pub mode: String,
    /// The mapping's size.
    pub size_mib: u64,
    /// `read` or `write`.
    pub access: String,
    /// `mmap` plus the first touch.
    pub first_ns: Vec<f64>,
    /// The second touch.
    pub second_ns: Vec<f64>,
    /// `munmap`.
    #[serde(default)]
    pub munmap_ns: Vec<f64>,
}

/// A ratio of first touches, for one size and access.
#[derive(Debug, Serialize, Deserialize)]
pub struct RatioRow {
    /// `NUMERATOR/DENOMINATOR` by mode names.
    pub ratio: String,
    /// The mapping's size.
    pub size_mib: u64,
    /// `read` or `write`.
    pub access: String,
    /// Median of the per-round ratios.
    pub median: f64,
    /// Their 10th percentile.
    pub p10: f64,
    /// Their 90th percentile.
    pub p90: f64,
}

/// The fault-around cost model for one size and access.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModelRow {
    /// The mapping's size.
    pub size_mib: u64,
    /// `read` or `write`.
    pub access: String,
    /// F: the cost of one fault.
    pub per_fault_ns: f64,
    /// I: the cost of mapping one page.
    pub per_page_ns: f64,
}

const ACCESS: [&str; 2] = ["read", "write"];

/// The measurements of one run, indexed `[mode][size][access]`.
struct Run<'a> {
    modes: Vec<Mode>,
    sizes: &'a [u64],
    all: Samples,
}

impl Run<'_> {
    /// The first touches of every round.
    fn firsts(&self, m: usize, s: usize, a: usize) -> Vec<f64> {
        self.all[m][s][a].iter().map(|x| x.first).collect()
    }

    /// The median first touch.
    fn median(&self, m: usize, s: usize, a: usize) -> f64 {
        stats(&self.firsts(m, s, a)).0
    }

    fn index(&self, subject: Subject) -> Option<usize> {
        self.modes.iter().position(|m| m.subject == subject)
    }

    /// The ratios worth reporting: (name, numerator, denominator).
    fn ratios(&self) -> Vec<(String, usize, usize)> {
        let fault = self.index(Subject::Mapdrv(MapMode::Fault));
        let eager = self.index(Subject::Mapdrv(MapMode::Eager));
        let name = |m: usize| self.modes[m].name();
        let mut v = Vec::new();
        if let (Some(r), Some(c)) = (fault, self.index(Subject::CRef)) {
            v.push((format!("{}/{}", name(r), name(c)), r, c));
        }
        for (m, mode) in self.modes.iter().enumerate() {
            if mode.window.is_some() {
                v.extend(fault.map(|r| (format!("{}/{}", name(r), name(m)), r, m)));
                v.extend(eager.map(|e| (format!("{}/{}", name(m), name(e)), m, e)));
            }
        }
        v
    }

    /// Median, p10 and p90 of the per-round ratios `num/den`.
    fn ratio(&self, num: usize, den: usize, s: usize, a: usize) -> (f64, f64, f64) {
        let per: Vec<f64> = self
            .firsts(num, s, a)
            .iter()
            .zip(self.firsts(den, s, a))
            .map(|(x, y)| x / y)
            .collect();
        stats(&per)
    }

    /// The fault-around modes: (index, window).
    fn windows(&self) -> Vec<(usize, u64)> {
        self.modes
            .iter()
            .enumerate()
            .filter_map(|(m, mode)| Some((m, mode.window?)))
            .collect()
    }

    /// (F, I) of first touch per page = F/N + I, with two windows or more.
    fn model(&self, s: usize, a: usize) -> Option<(f64, f64)> {
        let w = self.windows();
        (w.len() >= 2).then(|| {
            let pts: Vec<(f64, f64)> = w
                .iter()
                .map(|&(m, n)| (1.0 / n as f64, self.median(m, s, a)))
                .collect();
            fit(&pts)
        })
    }

    /// Every (size index, size, access index, access).
    fn cells(&self) -> Vec<(usize, u64, usize, &'static str)> {
        let mut v = Vec::new();
        for (s, &mib) in self.sizes.iter().enumerate() {
            for (a, acc) in ACCESS.iter().enumerate() {
                v.push((s, mib, a, *acc));
            }
        }
        v
    }
}

/// Measures every round; round 0 warms up (module loads, page tables,
/// caches) and is dropped.
fn measure<'a>(opts: &Options, b: &'a BenchFaultArgs, modes: Vec<Mode>) -> anyhow::Result<Run<'a>> {
    let ps = crate::device::page_size();
    let max = b.sizes.iter().copied().max().unwrap_or(0) as usize;
    let buffer_pages = (max << 20) / ps;
    let mut all: Samples = modes
        .iter()
        .map(|_| b.sizes.iter().map(|_| [Vec::new(), Vec::new()]).collect())
        .collect();
    for r in 0..=b.rounds as usize {
        for m in order(r.saturating_sub(1), modes.len()) {
            let file = setup(&modes[m], buffer_pages)?;
            for (s, &mib) in b.sizes.iter().enumerate() {
                for (a, write) in [false, true].into_iter().enumerate() {
                    let x = sample_reps(file.as_ref(), (mib as usize) << 20, write)?;
                    if r > 0 {
                        all[m][s][a].push(x);
                    }
                }
            }
        }
        if !opts.json {
            eprint!("\rbench-fault: round {r}/{} ", b.rounds);
        }
    }
    if !opts.json {
        eprintln!();
    }
    unload("mapdrv")?;
    unload("mapdrv_cref")?;
    Ok(Run {
        modes,
        sizes: &b.sizes,
        all,
    })
}

/// The run as its JSON record.
fn result(run: &Run<'_>, b: &BenchFaultArgs) -> FaultResult {
    let r1 = |v: Vec<f64>| v.into_iter().map(|x| round(x, 1)).collect();
    let mut out = FaultResult {
        rounds: b.rounds,
        fault_around_pages: b.fault_around.clone(),
        page_size: crate::device::page_size(),
        modes: run.modes.iter().map(Mode::name).collect(),
        samples: Vec::new(),
        ratios: Vec::new(),
        fault_around_model: Vec::new(),
    };
    for (m, mode) in run.modes.iter().enumerate() {
        for (s, mib, a, acc) in run.cells() {
            let v = &run.all[m][s][a];
            out.samples.push(SampleRow {
                mode: mode.name(),
                size_mib: mib,
                access: acc.to_owned(),
                first_ns: r1(v.iter().map(|x| x.first).collect()),
                second_ns: r1(v.iter().map(|x| x.second).collect()),
                munmap_ns: r1(v.iter().map(|x| x.unmap).collect()),
            });
        }
    }
    for (name, num, den) in run.ratios() {
        for (s, mib, a, acc) in run.cells() {
            let (median, p10, p90) = run.ratio(num, den, s, a);
            let (median, p10, p90) = (round(median, 4), round(p10, 4), round(p90, 4));
            let (ratio, access) = (name.clone(), acc.to_owned());
            out.ratios.push(RatioRow {
                ratio,
                size_mib: mib,
                access,
                median,
                p10,
                p90,
            });
        }
    }
    for (s, mib, a, acc) in run.cells() {
        if let Some((f, i)) = run.model(s, a) {
            out.fault_around_model.push(ModelRow {
                size_mib: mib,
                access: acc.to_owned(),
                per_fault_ns: round(f, 1),
                per_page_ns: round(i, 1),
            });
        }
    }
    out
}

/// `maptest bench-fault`.
pub fn run(opts: &Options, b: &BenchFaultArgs) -> anyhow::Result<bool> {
    let modes = subjects(&b.fault_around, &b.modes);
    if modes.is_empty() {
        return Err(anyhow::Error::msg("--modes left no mode to measure"));
    }
    let run = measure(opts, b, modes)?;
    let doc = result(&run, b);
    if let Some(path) = &b.save {
        std::fs::write(path, json::line(&doc)? + "\n")?;
    }
    if opts.json {
        json::print(&doc)?;
        return Ok(true);
    }
    print_table(&run, b.rounds);
    print_ratios(&run);
    print_model(&run);
    Ok(true)
}

/// The table of median first touches, and the second touch as the floor.
fn print_table(run: &Run<'_>, rounds: u64) {
    println!("First touch, ns per page (mmap included): median of {rounds} interleaved rounds.");
    print!("{:<7} {:<6}", "size", "access");
    for m in &run.modes {
        print!(" {:>15}", m.name());
    }
    println!(" {:>10}", "2nd touch");
    for (s, mib, a, acc) in run.cells() {
        print!("{:<7} {acc:<6}", format!("{mib} MiB"));
        for m in 0..run.modes.len() {
            print!(" {:>15.0}", run.median(m, s, a));
        }
        // The floor: the second touch, every page already mapped.
        let second: Vec<f64> = run.all[0][s][a].iter().map(|x| x.second).collect();
        println!(" {:>10.1}", stats(&second).0);
    }
}

/// The per-round ratios: median [p10..p90].
fn print_ratios(run: &Run<'_>) {
    let ratios = run.ratios();
    if ratios.is_empty() {
        return;
    }
    println!();
    println!("Ratios of first touch, taken per round: median [p10..p90]");
    for (name, num, den) in &ratios {
        print!("{name:<30}");
        for (s, mib, a, acc) in run.cells() {
            let (med, p10, p90) = run.ratio(*num, *den, s, a);
            print!("  {mib}M {acc} {med:.3} [{p10:.2}..{p90:.2}]");
        }
        println!();
    }
}

/// The fault-around cost model and what it leaves unexplained.
fn print_model(run: &Run<'_>) {
    if run.windows().len() < 2 {
        return;
    }
    let fault = run.index(Subject::Mapdrv(MapMode::Fault));
    println!();
    println!("Fault-around cost model, first touch per page = F/N + I (least squares over N):");
    for (s, mib, a, acc) in run.cells() {
        let Some((f, i)) = run.model(s, a) else {
            continue;
        };
        print!("  {mib} MiB {acc}: F = {f:.0} ns per fault, I = {i:.0} ns per page");
        if let Some(r) = fault {
            let tends = run.median(r, s, a) / i;
            print!("; speedup over one page per fault tends to {tends:.1}x");
        }
        println!();
        // What the model leaves unexplained, window by window (and, as a
        // check outside the fit, the classic mode, whose one page per fault
        // the model calls N = 1).
        let mut res: Vec<(String, f64, f64)> = run
            .windows()
            .iter()
            .map(|&(m, n)| (format!("N={n}"), run.median(m, s, a), f / n as f64 + i))
            .collect();
        if let Some(r) = fault {
            res.push(("fault (N=1, not fitted)".into(), run.median(r, s, a), f + i));
        }
        let text: Vec<String> = res
            .iter()
            .map(|(what, got, want)| {
                let d = got - want;
                format!("{what} {d:+.0} ns ({:+.1} %)", 100.0 * d / want)
            })
            .collect();
        println!("    residuals (measured - model): {}", text.join(", "));
    }
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
        let names = |v: Vec<Mode>| v.iter().map(Mode::name).collect::<Vec<_>>();
        assert_eq!(
            names(subjects(&[16, 64], &[])),
            [
                "fault",
                "c-ref",
                "fault-around-16",
                "fault-around-64",
                "eager",
                "anon"
            ]
        );
        let only = [
            Subject::Mapdrv(MapMode::FaultAround),
            Subject::Mapdrv(MapMode::Fault),
        ];
        assert_eq!(
            names(subjects(&[16, 64], &only)),
            ["fault", "fault-around-16", "fault-around-64"]
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
