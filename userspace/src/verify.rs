//! `maptest verify`: every behaviour of `/dev/mapdrv`'s contract, checked
//! against the running module (see `src/driver.rs` in the module for the
//! contract). One line per check, then `N passed, N failed`.
//!
//! Run it on a freshly loaded module, alone: it checks the initial "ok"
//! contents and exact fault counts. It puts the initial contents back at
//! the end, so it can be run again.

use crate::abi::{MapMode, MapdrvStats};
use crate::cli::{Expect, Options};
use crate::device::{self, page_size, Mapping};
use crate::json;
use anyhow::Context;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileTypeExt;

pub(crate) type CheckResult = Result<(), String>;

/// The outcome of one check.
#[derive(serde::Serialize)]
struct Outcome {
    name: String,
    ok: bool,
    detail: String,
}

/// Collects and prints check results.
pub(crate) struct Checks {
    json: bool,
    outcomes: Vec<Outcome>,
}

impl Checks {
    /// No outcome yet; `json`: print nothing per check (the summary is JSON).
    pub(crate) fn new(json: bool) -> Self {
        Checks {
            json,
            outcomes: Vec::new(),
        }
    }

    pub(crate) fn check(&mut self, name: &str, f: impl FnOnce() -> CheckResult) {
        let (ok, detail) = match f() {
            Ok(()) => (true, String::new()),
            Err(d) => (false, d),
        };
        if !self.json {
            if ok {
                println!("PASS  {name}");
            } else {
                println!("FAIL  {name}: {detail}");
            }
        }
        self.outcomes.push(Outcome {
            name: name.to_owned(),
            ok,
            detail,
        });
    }
}

/// `Ok` if `r` failed with `errno`.
pub(crate) fn expect_errno<T, E: Into<anyhow::Error>>(
    r: Result<T, E>,
    errno: i32,
    what: &str,
) -> CheckResult {
    let os_error = |e: &anyhow::Error| e.root_cause().downcast_ref::<io::Error>()?.raw_os_error();
    match r.map_err(Into::into) {
        Ok(_) => Err(format!("{what} succeeded, expected {}", errno_name(errno))),
        Err(e) if os_error(&e) == Some(errno) => Ok(()),
        Err(e) => Err(format!(
            "{what} failed with {e}, expected {}",
            errno_name(errno)
        )),
    }
}

fn errno_name(e: i32) -> &'static str {
    match e {
        libc::EINVAL => "EINVAL",
        libc::EACCES => "EACCES",
        libc::ENOSPC => "ENOSPC",
        libc::ENOTTY => "ENOTTY",
        libc::EFAULT => "EFAULT",
        libc::ENOMEM => "ENOMEM",
        libc::EIO => "EIO",
        libc::EPERM => "EPERM",
        _ => "another errno",
    }
}

pub(crate) fn ensure(cond: bool, msg: impl FnOnce() -> String) -> CheckResult {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

/// An error as a check's failure text, with its context.
pub(crate) fn io<E: Into<anyhow::Error>>(e: E) -> String {
    format!("{:#}", e.into())
}

/// Runs `child` in a forked process and returns its exit status (0 = ok).
fn in_child(child: impl FnOnce() -> i32) -> Result<i32, String> {
    // SAFETY: `maptest` is single-threaded (it starts no thread).
    let status = unsafe { device::Child::spawn(child) }?.wait()?;
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else {
        Err(format!("child died (status {status:#x})"))
    }
}

/// What every check can see: the device, what the test loaded, and (once
/// made) a read-write shared mapping of the whole buffer.
struct Ctx<'a> {
    dev: &'a str,
    file: File,
    /// The device opened read-only.
    ro: File,
    ps: usize,
    pages: usize,
    size: usize,
    mode: MapMode,
    /// `fault_around_pages` as the checks expect it.
    around: usize,
    expect: Expect,
    /// The stats before any check ran.
    s0: MapdrvStats,
    /// The buffer as loaded: "ok", NUL, zeros.
    initial: Vec<u8>,
    map: Option<Mapping>,
}

/// A named check: its name (`{mode}` is replaced by the map mode's name)
/// and the function that runs it.
type Check = (&'static str, fn(&Ctx<'_>) -> CheckResult);

/// The checks that need only the device, in order.
const CONTRACT: &[Check] = &[
    (
        "MAPDRV_IOC_GET_STATS answers with this ABI version and the full struct",
        stats_full,
    ),
    (
        "a version 1 caller (MAPDRV_IOC_GET_STATS_V1) gets the version 1 prefix",
        stats_v1,
    ),
    ("the buffer is buffer_pages whole pages", whole_pages),
    (
        "the buffer reads \"ok\", NUL, then zeros (pread)",
        initial_contents,
    ),
    (
        "classic: a read-only MAP_PRIVATE mapping reads \"ok\"",
        classic,
    ),
    (
        "mprotect(PROT_WRITE) on a read-only MAP_PRIVATE mapping fails with EACCES",
        no_write_later,
    ),
    (
        "mprotect(PROT_EXEC) on a mapping fails with EACCES",
        no_exec_later,
    ),
    // The next five requests are the driver's own refusals (the core lets
    // them through to `mmap`): each must be counted in `mmaps_refused`.
    (
        "a writable MAP_PRIVATE mmap fails with EINVAL",
        refuse_private_writable,
    ),
    ("a PROT_EXEC mmap fails with EINVAL", refuse_exec),
    (
        "an mmap longer than the buffer fails with EINVAL",
        refuse_too_long,
    ),
    ("an mmap at offset == size fails with EINVAL", refuse_at_end),
    (
        "an mmap crossing the end fails with EINVAL",
        refuse_crossing,
    ),
    (
        "the driver refused those five mmaps itself and counted each (mmaps_refused)",
        refusals_counted,
    ),
    (
        "an mmap of just the last page works and reads like pread",
        last_page,
    ),
    (
        "a shared writable mmap of an O_RDONLY fd fails with EACCES",
        rdonly_shared_writable,
    ),
];

/// The checks that use the whole-buffer mapping, in order.
const MAPPED: &[Check] = &[
    (
        "{mode} mode: a fresh mapping has exactly the pages mmap maps resident (none unless eager)",
        fresh_residency,
    ),
    (
        "{mode} mode: each first touch maps exactly its page or window (Rss, mincore, fault count)",
        first_touches,
    ),
    (
        "writes through the mapping are seen by pread, and pwrite through the mapping",
        writes_seen,
    ),
    (
        "two mappings at different offsets alias the same pages",
        offsets_alias,
    ),
    (
        "a fork child's writes through the inherited mapping reach the parent",
        fork_child_writes,
    ),
    (
        "another process's own open and mmap alias the same buffer",
        other_process,
    ),
    (
        "live_mappings and open_files count mappings (fork copies too) and fds",
        live_counts,
    ),
    (
        "a mapping keeps working after its fd is closed",
        after_close,
    ),
    ("growing a mapping with mremap fails", no_mremap_growth),
];

/// read/write/lseek at the end, and the ioctls.
const FILE_OPS: &[Check] = &[
    ("pread at or past the end returns 0 bytes", pread_at_end),
    ("a pread crossing the end is short", pread_crossing),
    ("pwrite at the end fails with ENOSPC", pwrite_at_end),
    ("a pwrite crossing the end is short", pwrite_crossing),
    (
        "lseek(SEEK_END) is the buffer size; past it is EINVAL",
        lseek_end,
    ),
    ("an unknown ioctl fails with ENOTTY", unknown_ioctl),
];

impl Checks {
    /// Runs a table of checks.
    fn table(&mut self, cx: &Ctx<'_>, checks: &[Check]) {
        for (name, f) in checks {
            self.check(&name.replace("{mode}", cx.mode.name()), || f(cx));
        }
    }
}

/// `maptest verify`.
pub fn verify(opts: &Options, expect: Expect) -> anyhow::Result<bool> {
    let mut c = Checks::new(opts.json);
    let Some(mut cx) = open(&mut c, &opts.device, expect)? else {
        return Ok(finish(&c, opts, 0));
    };
    c.table(&cx, CONTRACT);
    match Mapping::new(&cx.file, cx.size, RW, libc::MAP_SHARED, 0) {
        Ok(m) => cx.map = Some(m),
        Err(e) => {
            c.check(
                "a read-write MAP_SHARED mapping of the whole buffer works",
                || Err(io(e)),
            );
            return Ok(finish(&c, opts, cx.size));
        }
    }
    c.table(&cx, MAPPED);
    c.table(&cx, FILE_OPS);
    for (name, r) in crate::contents::run(&cx.file, cx.dev, cx.pages, cx.ps) {
        c.check(&name, || r);
    }
    cx.map = None;
    // Put the initial contents back, so that verify can run again.
    c.check("the initial contents can be restored with pwrite", || {
        let n = device::pwrite(&cx.file, &cx.initial, 0).map_err(io)?;
        ensure(n == cx.size, || format!("{n} bytes written"))
    });
    Ok(finish(&c, opts, cx.size))
}

const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;

/// Opens the device, reads its stats and checks that the module runs what
/// the test loaded: the [`Ctx`], or `None` when the device cannot be used.
fn open<'a>(c: &mut Checks, dev: &'a str, expect: Expect) -> anyhow::Result<Option<Ctx<'a>>> {
    c.check("the device node is a character device", || {
        let m = std::fs::metadata(dev).map_err(|e| format!("{dev}: {e}"))?;
        ensure(m.file_type().is_char_device(), || {
            format!("{dev} is not a character device")
        })
    });
    let opened = device::open(dev, true).and_then(|f| Ok((device::stats(&f)?, f)));
    let (s0, file) = match opened {
        Ok(x) => x,
        Err(e) => {
            c.check(
                "the device opens read-write and answers MAPDRV_IOC_GET_STATS",
                || Err(io(e)),
            );
            return Ok(None);
        }
    };
    let ro = File::open(dev).with_context(|| format!("opening {dev} read-only"))?;
    let ps = page_size();
    // What the checks expect comes from the caller (what it loaded) when
    // given; only otherwise from the module's own stats.
    let pages = expect.pages.map_or(s0.buffer_pages, u64::from) as usize;
    let mode = expect
        .mode
        .or(MapMode::from_raw(s0.map_mode))
        .unwrap_or(MapMode::Fault);
    let around = expect.window.unwrap_or(s0.fault_around_pages).max(1) as usize;
    let mut initial = vec![0u8; pages * ps];
    initial[..2.min(pages * ps)].copy_from_slice(&b"ok"[..2.min(pages * ps)]);
    let cx = Ctx {
        dev,
        file,
        ro,
        ps,
        pages,
        size: pages * ps,
        mode,
        around,
        expect,
        s0,
        initial,
        map: None,
    };
    let stated = if expect == Expect::default() {
        "nothing stated: taken from its stats".to_owned()
    } else {
        format!("{expect:?}")
    };
    c.check(
        &format!("the module runs what the test loaded ({stated})"),
        || loaded(&cx),
    );
    Ok(Some(cx))
}

impl Ctx<'_> {
    fn map(&self) -> &Mapping {
        self.map
            .as_ref()
            .expect("the MAPPED checks run with the mapping made")
    }

    /// The pages touching page `p` maps: itself (the default mode), the
    /// aligned window around it (fault-around), or everything (eager).
    fn window(&self, p: usize) -> std::ops::Range<usize> {
        match self.mode {
            MapMode::FaultAround => {
                let lo = p - p % self.around;
                lo..(lo + self.around).min(self.pages)
            }
            MapMode::Eager => 0..self.pages,
            MapMode::Fault => p..p + 1,
        }
    }

    /// The pages resident after `mmap` and touching `touched`.
    fn resident_after(&self, touched: &[usize]) -> Vec<bool> {
        let mut want = vec![self.mode == MapMode::Eager; self.pages];
        for &p in touched {
            for i in self.window(p) {
                want[i] = true;
            }
        }
        want
    }

    fn stats(&self) -> Result<MapdrvStats, String> {
        device::stats(&self.file).map_err(io)
    }
}

fn loaded(cx: &Ctx<'_>) -> CheckResult {
    let s0 = &cx.s0;
    let got = (
        s0.buffer_pages,
        s0.buffer_size,
        s0.map_mode,
        s0.fault_around_pages,
    );
    // The module reports a window only in fault-around mode (0 otherwise).
    let window = match cx.mode {
        MapMode::FaultAround => cx.expect.window.unwrap_or(s0.fault_around_pages),
        _ => 0,
    };
    let want = (cx.pages as u64, cx.size as u64, cx.mode as u32, window);
    ensure(got == want, || {
        format!("stats say (pages, size, mode, window) = {got:?}, the test loaded {want:?}")
    })
}

fn stats_full(cx: &Ctx<'_>) -> CheckResult {
    let want = std::mem::size_of::<MapdrvStats>();
    ensure(cx.s0.size as usize == want, || {
        format!("size {} != {want}", cx.s0.size)
    })
}

fn stats_v1(cx: &Ctx<'_>) -> CheckResult {
    const V1: usize = crate::abi::MAPDRV_STATS_V1_SIZE;
    let mut v1 = [0u8; V1 + 8];
    v1[V1..].fill(0xa5);
    // SAFETY: the ioctl writes V1 bytes at the pointer, which has room for
    // them (and 8 canary bytes).
    let r = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&cx.file),
            crate::abi::MAPDRV_IOC_GET_STATS_V1 as _,
            v1.as_mut_ptr(),
        )
    };
    let version = u32::from_ne_bytes(v1[..4].try_into().unwrap());
    let size = u32::from_ne_bytes(v1[4..8].try_into().unwrap());
    let buffer_size = u64::from_ne_bytes(v1[8..16].try_into().unwrap());
    // Labelled as what was copied: version 1, 112 bytes.
    ensure(
        r == 0
            && version == 1
            && size as usize == V1
            && buffer_size == cx.s0.buffer_size
            && v1[V1..].iter().all(|&b| b == 0xa5),
        || {
            format!(
                "ioctl {r}, version {version}, size {size}, buffer_size {buffer_size}, canary {:?}",
                &v1[V1..]
            )
        },
    )
}

fn whole_pages(cx: &Ctx<'_>) -> CheckResult {
    ensure(cx.pages > 0 && cx.size == cx.pages * cx.ps, || {
        format!("{} bytes, {} pages", cx.size, cx.pages)
    })
}

fn initial_contents(cx: &Ctx<'_>) -> CheckResult {
    let got = device::pread(&cx.file, cx.size, 0).map_err(io)?;
    ensure(got == cx.initial, || {
        let first_bad = got
            .iter()
            .zip(&cx.initial)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len());
        format!(
            "{} bytes read, first difference at byte {first_bad}",
            got.len()
        )
    })
}

fn classic(cx: &Ctx<'_>) -> CheckResult {
    let m = Mapping::new(&cx.ro, cx.ps, libc::PROT_READ, libc::MAP_PRIVATE, 0).map_err(io)?;
    let s = device::c_string(&m.read_bytes(16));
    ensure(s == "ok", || format!("read \"{s}\""))
}

fn no_write_later(cx: &Ctx<'_>) -> CheckResult {
    let m = Mapping::new(&cx.file, cx.ps, libc::PROT_READ, libc::MAP_PRIVATE, 0).map_err(io)?;
    expect_errno(m.protect(RW), libc::EACCES, "mprotect")
}

fn no_exec_later(cx: &Ctx<'_>) -> CheckResult {
    let m = Mapping::new(&cx.file, cx.ps, libc::PROT_READ, libc::MAP_SHARED, 0).map_err(io)?;
    expect_errno(
        m.protect(libc::PROT_READ | libc::PROT_EXEC),
        libc::EACCES,
        "mprotect",
    )
}

/// `Ok` if `mmap(len, prot, flags, offset)` of the read-write fd fails
/// with `EINVAL`.
fn refused(cx: &Ctx<'_>, len: usize, prot: i32, flags: i32, offset: usize) -> CheckResult {
    expect_errno(
        Mapping::new(&cx.file, len, prot, flags, offset),
        libc::EINVAL,
        "mmap",
    )
}

fn refuse_private_writable(cx: &Ctx<'_>) -> CheckResult {
    refused(cx, cx.ps, RW, libc::MAP_PRIVATE, 0)
}

fn refuse_exec(cx: &Ctx<'_>) -> CheckResult {
    refused(
        cx,
        cx.ps,
        libc::PROT_READ | libc::PROT_EXEC,
        libc::MAP_SHARED,
        0,
    )
}

fn refuse_too_long(cx: &Ctx<'_>) -> CheckResult {
    refused(cx, cx.size + cx.ps, libc::PROT_READ, libc::MAP_SHARED, 0)
}

fn refuse_at_end(cx: &Ctx<'_>) -> CheckResult {
    refused(cx, cx.ps, libc::PROT_READ, libc::MAP_SHARED, cx.size)
}

fn refuse_crossing(cx: &Ctx<'_>) -> CheckResult {
    refused(
        cx,
        2 * cx.ps,
        libc::PROT_READ,
        libc::MAP_SHARED,
        cx.size - cx.ps,
    )
}

fn refusals_counted(cx: &Ctx<'_>) -> CheckResult {
    // No check before the five refusals makes the driver refuse an mmap,
    // so the count before them is the one at the start.
    let (before, after) = (cx.s0.mmaps_refused, cx.stats()?.mmaps_refused);
    ensure(after - before == 5, || {
        format!("mmaps_refused went from {before} to {after}")
    })
}

fn last_page(cx: &Ctx<'_>) -> CheckResult {
    let (ps, size) = (cx.ps, cx.size);
    let m = Mapping::new(&cx.file, ps, libc::PROT_READ, libc::MAP_SHARED, size - ps).map_err(io)?;
    let want = device::pread(&cx.file, ps, (size - ps) as u64).map_err(io)?;
    ensure(m.read_bytes(ps) == want, || "contents differ".into())
}

fn rdonly_shared_writable(cx: &Ctx<'_>) -> CheckResult {
    expect_errno(
        Mapping::new(&cx.ro, cx.ps, RW, libc::MAP_SHARED, 0),
        libc::EACCES,
        "mmap",
    )
}

fn fresh_residency(cx: &Ctx<'_>) -> CheckResult {
    let map = cx.map();
    let rss = map.rss_kb().map_err(io)?;
    let res = map.resident().map_err(io)?;
    let want = cx.resident_after(&[]);
    let n = want.iter().filter(|r| **r).count();
    ensure(rss == (n * cx.ps / 1024) as u64 && res == want, || {
        format!(
            "Rss {rss} kB, {} pages resident, want {n}",
            res.iter().filter(|r| **r).count()
        )
    })
}

fn first_touches(cx: &Ctx<'_>) -> CheckResult {
    let (map, ps) = (cx.map(), cx.ps);
    let mut order = vec![0, cx.pages / 2, cx.pages - 1];
    order.dedup();
    let f0 = cx.stats()?.faults;
    let mut want_faults = 0;
    for (k, &p) in order.iter().enumerate() {
        if !cx.resident_after(&order[..k])[p] {
            want_faults += 1;
        }
        let _ = map.get(p * ps + 1);
        let _ = map.get(p * ps + 2); // same page again: no new fault
        let rss = map.rss_kb().map_err(io)?;
        let res = map.resident().map_err(io)?;
        let faults = cx.stats()?.faults - f0;
        let want_res = cx.resident_after(&order[..=k]);
        let n = want_res.iter().filter(|r| **r).count();
        if rss != (n * ps / 1024) as u64 || res != want_res || faults != want_faults {
            let got: Vec<usize> = (0..res.len()).filter(|&i| res[i]).collect();
            return Err(format!(
                "after touching page {p}: Rss {rss} kB, resident {got:?}, {faults} faults (want {n} pages, {want_faults} faults)"
            ));
        }
    }
    Ok(())
}

fn writes_seen(cx: &Ctx<'_>) -> CheckResult {
    let (map, size) = (cx.map(), cx.size);
    map.set(size - 1, 0x5a);
    let back = device::pread(&cx.file, 1, (size - 1) as u64).map_err(io)?;
    ensure(back == [0x5a], || format!("pread saw {back:?}"))?;
    device::pwrite(&cx.file, b"\x77", 3).map_err(io)?;
    ensure(map.get(3) == 0x77, || {
        format!("mapping saw {:#x}", map.get(3))
    })
}

fn offsets_alias(cx: &Ctx<'_>) -> CheckResult {
    let (map, ps) = (cx.map(), cx.ps);
    let off = if cx.pages >= 2 { 1 } else { 0 };
    let other = Mapping::new(&cx.file, ps, RW, libc::MAP_SHARED, off * ps).map_err(io)?;
    other.set(7, 0xa1);
    ensure(map.get(off * ps + 7) == 0xa1, || {
        "write through the second mapping not seen".into()
    })?;
    map.set(off * ps + 8, 0xa2);
    ensure(other.get(8) == 0xa2, || {
        "write through the first mapping not seen".into()
    })
}

fn fork_child_writes(cx: &Ctx<'_>) -> CheckResult {
    let map = cx.map();
    let code = in_child(|| {
        map.set(9, 0xc1);
        0
    })?;
    ensure(code == 0 && map.get(9) == 0xc1, || {
        format!("child exit {code}, byte {:#x}", map.get(9))
    })
}

fn other_process(cx: &Ctx<'_>) -> CheckResult {
    let map = cx.map();
    map.set(10, 0xd1);
    let code = in_child(|| {
        let Ok(f) = device::open(cx.dev, true) else {
            return 2;
        };
        let Ok(m) = Mapping::new(&f, cx.ps, RW, libc::MAP_SHARED, 0) else {
            return 3;
        };
        if m.get(10) != 0xd1 {
            return 4;
        }
        m.set(11, 0xd2);
        0
    })?;
    ensure(code == 0 && map.get(11) == 0xd2, || {
        format!("child exit {code}, byte {:#x}", map.get(11))
    })
}

fn live_counts(cx: &Ctx<'_>) -> CheckResult {
    let s1 = cx.stats()?;
    let extra = Mapping::new(&cx.file, cx.ps, libc::PROT_READ, libc::MAP_SHARED, 0).map_err(io)?;
    let s2 = cx.stats()?;
    let base = s2.live_mappings;
    // The child's copies of every mapping count too.
    let code = in_child(|| match device::stats(&cx.file) {
        Ok(s) if s.live_mappings >= base * 2 => 0,
        _ => 1,
    })?;
    drop(extra);
    let s3 = cx.stats()?;
    let f2 = device::open(cx.dev, false).map_err(io)?;
    let s4 = cx.stats()?;
    drop(f2);
    let s5 = cx.stats()?;
    ensure(
        s2.live_mappings == s1.live_mappings + 1
            && code == 0
            && s3.live_mappings == s1.live_mappings
            && s4.open_files == s3.open_files + 1
            && s5.open_files == s3.open_files,
        || {
            format!(
                "mappings {} -> {} -> {}, fork child {code}, open files {} -> {} -> {}",
                s1.live_mappings,
                s2.live_mappings,
                s3.live_mappings,
                s3.open_files,
                s4.open_files,
                s5.open_files
            )
        },
    )
}

fn after_close(cx: &Ctx<'_>) -> CheckResult {
    let f = device::open(cx.dev, true).map_err(io)?;
    let m = Mapping::new(&f, cx.ps, RW, libc::MAP_SHARED, 0).map_err(io)?;
    drop(f);
    m.set(12, 0xe1);
    ensure(cx.map().get(12) == 0xe1, || {
        "write after close not seen".into()
    })
}

fn no_mremap_growth(cx: &Ctx<'_>) -> CheckResult {
    let mut m = Mapping::new(&cx.file, cx.ps, libc::PROT_READ, libc::MAP_SHARED, 0).map_err(io)?;
    match m.remap(2 * cx.ps) {
        Ok(()) => Err("mremap grew the mapping".into()),
        Err(_) => Ok(()),
    }
}

fn pread_at_end(cx: &Ctx<'_>) -> CheckResult {
    let a = device::pread(&cx.file, 16, cx.size as u64).map_err(io)?;
    let b = device::pread(&cx.file, 16, (cx.size + 5 * cx.ps) as u64).map_err(io)?;
    ensure(a.is_empty() && b.is_empty(), || {
        format!("{} and {} bytes", a.len(), b.len())
    })
}

fn pread_crossing(cx: &Ctx<'_>) -> CheckResult {
    let a = device::pread(&cx.file, 100, (cx.size - 10) as u64).map_err(io)?;
    ensure(a.len() == 10, || format!("{} bytes", a.len()))
}

fn pwrite_at_end(cx: &Ctx<'_>) -> CheckResult {
    expect_errno(
        device::pwrite(&cx.file, b"x", cx.size as u64),
        libc::ENOSPC,
        "pwrite",
    )
}

fn pwrite_crossing(cx: &Ctx<'_>) -> CheckResult {
    let n = device::pwrite(&cx.file, &[0u8; 100], (cx.size - 10) as u64).map_err(io)?;
    ensure(n == 10, || format!("{n} bytes written"))
}

fn lseek_end(cx: &Ctx<'_>) -> CheckResult {
    use std::io::{Seek, SeekFrom};
    let mut f = &cx.file;
    let end = f.seek(SeekFrom::End(0)).map_err(io)?;
    ensure(end == cx.size as u64, || format!("SEEK_END gave {end}"))?;
    expect_errno(
        f.seek(SeekFrom::Start((cx.size + 1) as u64)),
        libc::EINVAL,
        "lseek",
    )
}

fn unknown_ioctl(cx: &Ctx<'_>) -> CheckResult {
    use std::os::fd::AsRawFd;
    // SAFETY: an ioctl number the driver does not know; no argument is read.
    let r = unsafe { libc::ioctl(cx.file.as_raw_fd(), 0x4d63 as _, 0) };
    let r = if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    };
    expect_errno(r, libc::ENOTTY, "ioctl")
}

pub(crate) fn finish(c: &Checks, opts: &Options, size: usize) -> bool {
    let passed = c.outcomes.iter().filter(|o| o.ok).count();
    let failed = c.outcomes.len() - passed;
    if opts.json {
        /// The `--json` record of `maptest verify`.
        #[derive(serde::Serialize)]
        struct Report<'a> {
            device: &'a str,
            buffer_size: usize,
            checks: &'a [Outcome],
            passed: usize,
            failed: usize,
        }
        let report = Report {
            device: &opts.device,
            buffer_size: size,
            checks: &c.outcomes,
            passed,
            failed,
        };
        match json::line(&report) {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("maptest: {e:#}"),
        }
    } else {
        println!("{passed} passed, {failed} failed");
    }
    failed == 0 && passed > 0
}
