//! `maptest fuzz --seed S --seconds T`: a seeded syscall fuzzer for
//! `/dev/mapdrv`.
//!
//! A run is a sequence of calls generated from the seed: open, close, mmap,
//! munmap, mremap, mprotect, madvise, msync, pread, pwrite, lseek, ioctl and
//! plain loads/stores into live mappings, with hostile arguments (odd and
//! huge lengths and offsets, unaligned and bogus addresses, every prot and
//! flag combination). The sequence runs in a forked child, so a fault in
//! user space (`SIGBUS`/`SIGSEGV` where the contract says the access is
//! fine) ends only the child.
//!
//! Oracle (what counts as a failure): an `mmap` that succeeds although the
//! contract forbids it (`PROT_EXEC`, writable `MAP_PRIVATE`, a range past
//! the end); a `pread`/`pwrite` from a valid buffer whose count differs from
//! the contract's; a load or store into a live mapping, allowed by its
//! protection, that kills the child; the child dying in any other way.
//! Kernel warnings and oopses are the harness's business (it scans the log).
//!
//! On failure the driver prints the seed, then shrinks the sequence (ddmin:
//! drop chunks while the failure persists) and prints the shortest sequence
//! it found, replayable with `--seed S --calls N --keep LIST`.

use crate::cli::Options;
use crate::device::{self, page_size};
use crate::rng::Rng;
use std::io;
use std::time::{Duration, Instant};

const FDS: usize = 4;
const MAPS: usize = 8;

/// One generated call; arguments are raw so they can be hostile.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// `open(dev, mode | extra)` into fd slot.
    Open { slot: usize, mode: i32, extra: i32 },
    /// `close(fd slot)`.
    Close { slot: usize },
    /// `mmap(NULL, len, prot, flags, fd slot, off)` into map slot.
    Mmap {
        fd: usize,
        map: usize,
        len: u64,
        prot: i32,
        flags: i32,
        off: u64,
    },
    /// `munmap` of all or part of a mapping.
    Munmap { map: usize, from: u64, len: u64 },
    /// `mremap(map, new_len, flags)`.
    Mremap {
        map: usize,
        new_len: u64,
        flags: i32,
    },
    /// `mprotect(map, prot)`.
    Mprotect { map: usize, prot: i32 },
    /// `madvise(map + from, len, advice)`.
    Madvise {
        map: usize,
        from: u64,
        len: u64,
        advice: i32,
    },
    /// `msync(map, flags)`.
    Msync { map: usize, flags: i32 },
    /// `pread`/`pwrite(fd slot, buf, len, off)`; `bad_buf` passes a bogus pointer.
    Rw {
        fd: usize,
        write: bool,
        len: u64,
        off: i64,
        bad_buf: bool,
    },
    /// `lseek(fd slot, off, whence)`.
    Lseek { fd: usize, off: i64, whence: i32 },
    /// `ioctl(fd slot, cmd, arg)`.
    Ioctl { fd: usize, cmd: u32, arg: u64 },
    /// A load or store at `at` in a mapping, if its protection allows.
    Touch { map: usize, at: u64, write: bool },
}

fn hostile_len(r: &mut Rng, size: u64) -> u64 {
    let ps = page_size() as u64;
    match r.below(10) {
        0 => 0,
        1 => r.below(ps) + 1,
        2 => size,
        3 => size + ps,
        4 => u64::MAX - r.below(ps),
        5 => 1 << r.below(63),
        6 => r.below(size + 1),
        _ => ps * (1 + r.below(size / ps + 1)),
    }
}

fn hostile_off(r: &mut Rng, size: u64) -> u64 {
    let ps = page_size() as u64;
    match r.below(8) {
        0 => 0,
        1 => size,
        2 => size - ps,
        3 => r.below(size + 2 * ps),
        4 => u64::MAX - r.below(ps),
        5 => 1 << r.below(63),
        _ => ps * r.below(size / ps + 2),
    }
}

/// The call sequence for `seed`, `n` calls long.
pub fn generate(seed: u64, n: usize, size: u64) -> Vec<Op> {
    let mut r = Rng::new(seed);
    let prots = [
        libc::PROT_NONE,
        libc::PROT_READ,
        libc::PROT_WRITE,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::PROT_READ | libc::PROT_EXEC,
        libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
        libc::PROT_EXEC,
    ];
    let advices = [
        libc::MADV_NORMAL,
        libc::MADV_RANDOM,
        libc::MADV_SEQUENTIAL,
        libc::MADV_WILLNEED,
        libc::MADV_DONTNEED,
        libc::MADV_FREE,
        libc::MADV_REMOVE,
        libc::MADV_DONTFORK,
        libc::MADV_DOFORK,
        libc::MADV_MERGEABLE,
        libc::MADV_HUGEPAGE,
        libc::MADV_DONTDUMP,
        libc::MADV_COLD,
        libc::MADV_PAGEOUT,
        22, // MADV_POPULATE_READ
        23, // MADV_POPULATE_WRITE
        999,
    ];
    (0..n)
        .map(|_| match r.below(100) {
            0..=7 => Op::Open {
                slot: r.below(FDS as u64) as usize,
                mode: r.pick(&[libc::O_RDONLY, libc::O_WRONLY, libc::O_RDWR, libc::O_RDWR]),
                extra: r.pick(&[
                    0,
                    libc::O_NONBLOCK,
                    libc::O_SYNC,
                    libc::O_APPEND,
                    libc::O_CLOEXEC,
                    libc::O_TRUNC,
                ]),
            },
            8..=11 => Op::Close {
                slot: r.below(FDS as u64) as usize,
            },
            12..=29 => Op::Mmap {
                fd: r.below(FDS as u64) as usize,
                map: r.below(MAPS as u64) as usize,
                len: hostile_len(&mut r, size),
                prot: r.pick(&prots),
                flags: r.pick(&[
                    libc::MAP_SHARED,
                    libc::MAP_PRIVATE,
                    libc::MAP_SHARED,
                    0,
                    libc::MAP_SHARED | libc::MAP_PRIVATE,
                ]) | r.pick(&[
                    0,
                    0,
                    libc::MAP_POPULATE,
                    libc::MAP_NORESERVE,
                    libc::MAP_LOCKED,
                    libc::MAP_NONBLOCK,
                ]),
                off: hostile_off(&mut r, size),
            },
            30..=35 => Op::Munmap {
                map: r.below(MAPS as u64) as usize,
                from: page_size() as u64 * r.below(3),
                len: hostile_len(&mut r, size),
            },
            36..=39 => Op::Mremap {
                map: r.below(MAPS as u64) as usize,
                new_len: hostile_len(&mut r, size),
                flags: r.pick(&[0, libc::MREMAP_MAYMOVE]),
            },
            40..=44 => Op::Mprotect {
                map: r.below(MAPS as u64) as usize,
                prot: r.pick(&prots),
            },
            45..=50 => Op::Madvise {
                map: r.below(MAPS as u64) as usize,
                from: page_size() as u64 * r.below(2),
                len: hostile_len(&mut r, size),
                advice: r.pick(&advices),
            },
            51..=53 => Op::Msync {
                map: r.below(MAPS as u64) as usize,
                flags: r.pick(&[
                    libc::MS_SYNC,
                    libc::MS_ASYNC,
                    libc::MS_INVALIDATE,
                    libc::MS_SYNC | libc::MS_ASYNC,
                    0xff,
                ]),
            },
            54..=69 => Op::Rw {
                fd: r.below(FDS as u64) as usize,
                write: r.chance(1, 2),
                len: hostile_len(&mut r, size).min(1 << 20),
                off: hostile_off(&mut r, size) as i64,
                bad_buf: r.chance(1, 8),
            },
            70..=73 => Op::Lseek {
                fd: r.below(FDS as u64) as usize,
                off: hostile_off(&mut r, size) as i64,
                whence: r.pick(&[
                    libc::SEEK_SET,
                    libc::SEEK_CUR,
                    libc::SEEK_END,
                    libc::SEEK_DATA,
                    libc::SEEK_HOLE,
                    17,
                ]),
            },
            74..=79 => Op::Ioctl {
                fd: r.below(FDS as u64) as usize,
                cmd: {
                    let random = r.next_u64() as u32;
                    let near = 0x4d00 | r.below(8) as u32;
                    r.pick(&[
                        crate::abi::MAPDRV_IOC_GET_STATS,
                        crate::abi::MAPDRV_IOC_EXERCISE,
                        random,
                        near,
                    ])
                },
                // Never a pointer into our own memory, except the scratch
                // buffer for GET_STATS (`u64::MAX` below stands for it).
                arg: r.pick(&[
                    0u64,
                    1,
                    0xffff_ffff_ffff_f000,
                    0xffff_8880_0000_0000,
                    0xdead_0000,
                    u64::MAX,
                ]),
            },
            _ => Op::Touch {
                map: r.below(MAPS as u64) as usize,
                at: r.below(size + 1),
                write: r.chance(1, 2),
            },
        })
        .collect()
}

/// A live mapping as the fuzzer tracks it.
#[derive(Clone, Copy)]
struct Map {
    addr: usize,
    len: usize,
    prot: i32,
}

/// Per-run state.
struct State {
    dev: String,
    size: u64,
    fds: [Option<(i32, i32)>; FDS],
    maps: [Option<Map>; MAPS],
    scratch: Vec<u8>,
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

impl State {
    /// Executes `op`; `Err` is a contract violation.
    fn exec(&mut self, op: Op) -> Result<(), String> {
        let ps = page_size() as u64;
        match op {
            Op::Open { slot, mode, extra } => {
                self.close(slot);
                let path = std::ffi::CString::new(self.dev.as_str()).map_err(|e| e.to_string())?;
                // SAFETY: a plain open of a NUL-terminated path.
                let fd = unsafe { libc::open(path.as_ptr(), mode | extra) };
                if fd >= 0 {
                    self.fds[slot] = Some((fd, mode));
                }
            }
            Op::Close { slot } => self.close(slot),
            Op::Mmap {
                fd,
                map,
                len,
                prot,
                flags,
                off,
            } => {
                let Some((raw, mode)) = self.fds[fd] else {
                    return Ok(());
                };
                self.unmap(map);
                // SAFETY: a fresh mapping chosen by the kernel; we track it.
                let p = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        len as usize,
                        prot,
                        flags,
                        raw,
                        off as libc::off_t,
                    )
                };
                if p != libc::MAP_FAILED {
                    let kind =
                        flags & (libc::MAP_SHARED | libc::MAP_PRIVATE | libc::MAP_SHARED_VALIDATE);
                    let shared = kind == libc::MAP_SHARED || kind == libc::MAP_SHARED_VALIDATE;
                    let in_range =
                        off % ps == 0 && off.checked_add(len).is_some_and(|e| e <= self.size);
                    if prot & libc::PROT_EXEC != 0 {
                        return Err(format!(
                            "mmap with PROT_EXEC succeeded (len {len:#x} off {off:#x})"
                        ));
                    }
                    if !shared && prot & libc::PROT_WRITE != 0 {
                        return Err("a writable MAP_PRIVATE mmap succeeded".into());
                    }
                    if !in_range {
                        return Err(format!(
                            "mmap past the end succeeded (len {len:#x} off {off:#x})"
                        ));
                    }
                    if mode == libc::O_WRONLY {
                        return Err("mmap of an O_WRONLY fd succeeded".into());
                    }
                    self.maps[map] = Some(Map {
                        addr: p as usize,
                        len: len as usize,
                        prot,
                    });
                }
            }
            Op::Munmap { map, from, len } => {
                let Some(m) = self.maps[map] else {
                    return Ok(());
                };
                if from == 0 && len as usize >= m.len {
                    self.unmap(map);
                } else if from < m.len as u64 && len > 0 {
                    // Unmap the tail from `from`: the head stays tracked.
                    // SAFETY: inside a mapping we own.
                    if unsafe {
                        libc::munmap((m.addr + from as usize) as *mut _, m.len - from as usize)
                    } == 0
                    {
                        if from == 0 {
                            self.maps[map] = None;
                        } else {
                            self.maps[map] = Some(Map {
                                len: from as usize,
                                ..m
                            });
                        }
                    }
                }
            }
            Op::Mremap {
                map,
                new_len,
                flags,
            } => {
                let Some(m) = self.maps[map] else {
                    return Ok(());
                };
                // SAFETY: remaps a mapping we own; on success we track the result.
                let p = unsafe { libc::mremap(m.addr as *mut _, m.len, new_len as usize, flags) };
                if p != libc::MAP_FAILED {
                    let pages = |n: usize| n.div_ceil(page_size());
                    if pages(new_len as usize) > pages(m.len) {
                        return Err(format!(
                            "mremap grew a mapping from {:#x} to {new_len:#x}",
                            m.len
                        ));
                    }
                    self.maps[map] = Some(Map {
                        addr: p as usize,
                        len: new_len as usize,
                        ..m
                    });
                }
            }
            Op::Mprotect { map, prot } => {
                let Some(m) = self.maps[map] else {
                    return Ok(());
                };
                // SAFETY: changes protection of a mapping we own.
                if unsafe { libc::mprotect(m.addr as *mut _, m.len, prot) } == 0 {
                    if prot & libc::PROT_EXEC != 0 {
                        return Err("mprotect(PROT_EXEC) succeeded".into());
                    }
                    self.maps[map] = Some(Map { prot, ..m });
                }
            }
            Op::Madvise {
                map,
                from,
                len,
                advice,
            } => {
                let Some(m) = self.maps[map] else {
                    return Ok(());
                };
                if from < m.len as u64 {
                    let len = len.min((m.len as u64) - from);
                    // SAFETY: advice on a range of a mapping we own; no advice
                    // changes what we may touch (DONTNEED refaults from the buffer).
                    unsafe {
                        libc::madvise((m.addr + from as usize) as *mut _, len as usize, advice)
                    };
                }
            }
            Op::Msync { map, flags } => {
                let Some(m) = self.maps[map] else {
                    return Ok(());
                };
                // SAFETY: msync of a mapping we own.
                unsafe { libc::msync(m.addr as *mut _, m.len, flags) };
            }
            Op::Rw {
                fd,
                write,
                len,
                off,
                bad_buf,
            } => {
                let Some((raw, mode)) = self.fds[fd] else {
                    return Ok(());
                };
                let len = len as usize;
                if self.scratch.len() < len {
                    self.scratch.resize(len, 0x5a);
                }
                let buf = if bad_buf {
                    0x10 as *mut libc::c_void
                } else {
                    self.scratch.as_mut_ptr().cast()
                };
                // SAFETY: `buf` is either our scratch buffer of at least `len`
                // bytes or a bogus address the kernel must refuse with EFAULT.
                let n = unsafe {
                    if write {
                        libc::pwrite(raw, buf, len, off)
                    } else {
                        libc::pread(raw, buf, len, off)
                    }
                };
                let allowed = if write {
                    mode != libc::O_RDONLY
                } else {
                    mode != libc::O_WRONLY
                };
                if !bad_buf && allowed && off >= 0 {
                    let size = self.size as i64;
                    let want: Result<isize, i32> = if len == 0 {
                        Ok(0)
                    } else if off >= size {
                        if write {
                            Err(libc::ENOSPC)
                        } else {
                            Ok(0)
                        }
                    } else {
                        Ok(len.min((size - off) as usize) as isize)
                    };
                    let got = if n < 0 { Err(errno()) } else { Ok(n) };
                    if got != want {
                        return Err(format!(
                            "{} of {len} bytes at {off}: got {got:?}, contract says {want:?}",
                            if write { "pwrite" } else { "pread" }
                        ));
                    }
                }
            }
            Op::Lseek { fd, off, whence } => {
                let Some((raw, _)) = self.fds[fd] else {
                    return Ok(());
                };
                // SAFETY: lseek on an fd we own.
                unsafe { libc::lseek(raw, off, whence) };
            }
            Op::Ioctl { fd, cmd, arg } => {
                let Some((raw, _)) = self.fds[fd] else {
                    return Ok(());
                };
                let arg = if arg == u64::MAX {
                    if cmd != crate::abi::MAPDRV_IOC_GET_STATS {
                        return Ok(());
                    }
                    if self.scratch.len() < 4096 {
                        self.scratch.resize(4096, 0);
                    }
                    self.scratch.as_mut_ptr() as u64
                } else {
                    arg
                };
                // SAFETY: the argument is a bogus address (the kernel must
                // fail with EFAULT) or our scratch buffer, big enough for
                // the stats the kernel writes there.
                unsafe { libc::ioctl(raw, cmd as _, arg) };
            }
            Op::Touch { map, at, write } => {
                let Some(m) = self.maps[map] else {
                    return Ok(());
                };
                if m.len == 0 {
                    return Ok(());
                }
                let at = (at as usize) % m.len;
                let p = (m.addr + at) as *mut u8;
                if write && m.prot & libc::PROT_WRITE != 0 {
                    // SAFETY: inside a live mapping we own with PROT_WRITE; the
                    // contract says the store succeeds (else the child dies
                    // and the driver reports it).
                    unsafe { std::ptr::write_volatile(p, 0x42) };
                } else if !write && m.prot & libc::PROT_READ != 0 {
                    // SAFETY: as above, a readable mapping.
                    unsafe { std::ptr::read_volatile(p) };
                }
            }
        }
        Ok(())
    }

    fn close(&mut self, slot: usize) {
        if let Some((fd, _)) = self.fds[slot].take() {
            // SAFETY: an fd we opened and still own.
            unsafe { libc::close(fd) };
        }
    }

    fn unmap(&mut self, map: usize) {
        if let Some(m) = self.maps[map].take() {
            // SAFETY: a mapping we own.
            unsafe { libc::munmap(m.addr as *mut _, m.len) };
        }
    }
}

/// Where a child records its progress (shared with the parent).
struct Progress(*mut u64);

impl Progress {
    fn new() -> io::Result<Self> {
        // SAFETY: a fresh anonymous shared mapping of one page.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page_size(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Progress(p.cast()))
    }
    fn set(&self, i: u64) {
        // SAFETY: our page; the parent reads it only after the child ended.
        unsafe { std::ptr::write_volatile(self.0, i) }
    }
    fn get(&self) -> u64 {
        // SAFETY: as above.
        unsafe { std::ptr::read_volatile(self.0) }
    }
}

/// How a replay ended.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Outcome {
    /// Every call kept the contract.
    Pass,
    /// Call `index` broke it.
    Violation { index: u64, what: String },
    /// The child died at call `index` (signal or exit status).
    Died { index: u64, status: i32 },
}

/// Runs `ops` in a forked child against the device.
fn replay(dev: &str, size: u64, ops: &[Op]) -> io::Result<Outcome> {
    let progress = Progress::new()?;
    let mut fds = [0i32; 2];
    // SAFETY: room for both ends.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: single-threaded; the child runs the ops and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: the child keeps only the write end.
        unsafe { libc::close(fds[0]) };
        let mut st = State {
            dev: dev.to_owned(),
            size,
            fds: [None; FDS],
            maps: [None; MAPS],
            scratch: Vec::new(),
        };
        for (i, op) in ops.iter().enumerate() {
            progress.set(i as u64);
            if let Err(what) = st.exec(*op) {
                let msg = what.into_bytes();
                // SAFETY: writes our message to the pipe we own.
                unsafe { libc::write(fds[1], msg.as_ptr().cast(), msg.len()) };
                // SAFETY: leave the child.
                unsafe { libc::_exit(3) };
            }
        }
        // SAFETY: leave the child; its fds and mappings go with it.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: the parent keeps only the read end.
    unsafe { libc::close(fds[1]) };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut status = 0;
    // SAFETY: waits for our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let mut buf = vec![0u8; 4096];
    // SAFETY: reads into our buffer from the pipe we own.
    let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: closes the read end.
    unsafe { libc::close(fds[0]) };
    let index = progress.get();
    // SAFETY: unmaps the progress page.
    unsafe { libc::munmap(progress.0.cast(), page_size()) };
    Ok(if status == 0 {
        Outcome::Pass
    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 3 {
        Outcome::Violation {
            index,
            what: String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned(),
        }
    } else {
        Outcome::Died { index, status }
    })
}

fn same_failure(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Outcome::Violation { what: x, .. }, Outcome::Violation { what: y, .. }) => {
            x.split(':').next() == y.split(':').next()
        }
        (Outcome::Died { status: x, .. }, Outcome::Died { status: y, .. }) => x == y,
        _ => false,
    }
}

/// Shrinks `ops` (ddmin over chunks) while the failure persists, within
/// `budget` replays. Returns the indices kept.
fn shrink(dev: &str, size: u64, ops: &[Op], failure: &Outcome, budget: usize) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..ops.len()).collect();
    let mut chunks = 2usize;
    let mut used = 0;
    while keep.len() > 1 && used < budget {
        let chunk = keep.len().div_ceil(chunks);
        let mut reduced = false;
        for start in (0..keep.len()).step_by(chunk) {
            if used >= budget {
                break;
            }
            let candidate: Vec<usize> = keep[..start]
                .iter()
                .chain(keep[(start + chunk).min(keep.len())..].iter())
                .copied()
                .collect();
            if candidate.is_empty() {
                continue;
            }
            let seq: Vec<Op> = candidate.iter().map(|&i| ops[i]).collect();
            used += 1;
            if let Ok(out) = replay(dev, size, &seq) {
                if same_failure(&out, failure) {
                    keep = candidate;
                    chunks = (chunks - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if chunk == 1 {
                break;
            }
            chunks = (chunks * 2).min(keep.len());
        }
    }
    keep
}

/// `maptest fuzz`.
pub fn run(opts: &Options, seed: u64, seconds: u64, calls_per_run: usize) -> io::Result<bool> {
    let file = device::open(&opts.device, false)?;
    let size = device::stats(&file)?.buffer_size;
    drop(file);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut runs, mut calls) = (0u64, 0u64);
    let mut s = seed;
    loop {
        let ops = generate(s, calls_per_run, size);
        let out = replay(&opts.device, size, &ops)?;
        runs += 1;
        match out {
            Outcome::Pass => calls += ops.len() as u64,
            ref failure => {
                let idx = match failure {
                    Outcome::Violation { index, .. } | Outcome::Died { index, .. } => {
                        *index as usize
                    }
                    Outcome::Pass => 0,
                };
                calls += idx as u64 + 1;
                println!(
                    "fuzz: FAILURE with seed {s} ({calls_per_run} calls per run): {failure:?}"
                );
                let prefix = &ops[..=idx.min(ops.len() - 1)];
                let keep = shrink(&opts.device, size, prefix, failure, 300);
                println!("fuzz: shortest reproducing sequence ({} calls, replay with --seed {s} --calls {calls_per_run} --keep {}):",
                    keep.len(),
                    keep.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","));
                for i in &keep {
                    println!("  #{i}: {:?}", prefix[*i]);
                }
                print_summary(opts, seed, runs, calls, false);
                return Ok(false);
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        s = s.wrapping_add(1);
    }
    print_summary(opts, seed, runs, calls, true);
    Ok(true)
}

/// `maptest fuzz --seed S --calls N --keep I,J,...`: replay a sequence.
pub fn replay_kept(opts: &Options, seed: u64, calls: usize, keep: &[usize]) -> io::Result<bool> {
    let file = device::open(&opts.device, false)?;
    let size = device::stats(&file)?.buffer_size;
    drop(file);
    let ops = generate(seed, calls, size);
    let seq: Vec<Op> = keep.iter().filter_map(|&i| ops.get(i).copied()).collect();
    for (i, op) in keep.iter().zip(&seq) {
        println!("  #{i}: {op:?}");
    }
    let out = replay(&opts.device, size, &seq)?;
    println!("fuzz: replay: {out:?}");
    Ok(out == Outcome::Pass)
}

fn print_summary(opts: &Options, seed: u64, runs: u64, calls: u64, ok: bool) {
    if opts.json {
        println!("{{\"seed\":{seed},\"runs\":{runs},\"calls\":{calls},\"ok\":{ok}}}");
    } else {
        println!(
            "fuzz: seed {seed}: {runs} runs, {calls} calls executed, {}",
            if ok {
                "no contract violation"
            } else {
                "FAILED"
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_reproducible() {
        let a = format!("{:?}", generate(7, 200, 40960));
        let b = format!("{:?}", generate(7, 200, 40960));
        let c = format!("{:?}", generate(8, 200, 40960));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn generation_covers_every_call() {
        let ops = generate(1, 5000, 40960);
        let has = |f: fn(&Op) -> bool| ops.iter().any(f);
        assert!(has(|o| matches!(o, Op::Open { .. })));
        assert!(has(|o| matches!(o, Op::Mmap { .. })));
        assert!(has(|o| matches!(o, Op::Mremap { .. })));
        assert!(has(|o| matches!(o, Op::Madvise { .. })));
        assert!(has(|o| matches!(o, Op::Msync { .. })));
        assert!(has(|o| matches!(o, Op::Ioctl { .. })));
        assert!(has(|o| matches!(o, Op::Touch { .. })));
        assert!(has(|o| matches!(o, Op::Lseek { .. })));
    }
}
