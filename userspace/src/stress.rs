//! `maptest stress --procs N --seconds T`: many processes at once mapping,
//! faulting, writing, unmapping, forking, reading and writing through the
//! fd, and opening and closing, for a bounded time.
//!
//! Data integrity: worker `w` owns a 64-byte slot in *every* page of the
//! buffer (at `p * PAGE_SIZE + w * 64`), so the workers' traffic reaches
//! every page and every fault path. Each operation picks a page and
//! writes the slot's next record (worker, page, sequence number, payload
//! derived from all three, checksum) through a mapping or with `pwrite`, or
//! reads it back through a page mapping, a private mapping, `pread`, a
//! forked child's fresh mapping, a mapping zapped with `MADV_DONTNEED` and
//! refaulted, or a `pread` of the device into its own mapping (the copy
//! faults on the page it copies). Every read is compared with the last
//! record written to that slot: lost, torn or misplaced (another page's
//! record) is an error. At the end every slot of every page is checked.
//! Workers never write outside their slots, so every check is exact even
//! with all of them running at once.

use crate::cli::Options;
use crate::device::{self, page_size, Mapping};
use crate::rng::Rng;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::{Duration, Instant};

/// Bytes per worker slot.
pub const SLOT: usize = 64;

/// The record worker `w` writes as its `seq`-th into its slot of page `p`.
pub fn record(w: u32, p: u32, seq: u64) -> [u8; SLOT] {
    let mut r = [0u8; SLOT];
    r[0..4].copy_from_slice(&w.to_le_bytes());
    r[4..8].copy_from_slice(&p.to_le_bytes());
    r[8..16].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in r[16..60].iter_mut().enumerate() {
        *b = (seq as u8)
            .wrapping_mul(31)
            .wrapping_add(i as u8)
            .wrapping_add(w as u8)
            .wrapping_add((p as u8).wrapping_mul(7));
    }
    let sum = checksum(&r[..60]);
    r[60..64].copy_from_slice(&sum.to_le_bytes());
    r
}

/// FNV-1a over `data`.
pub fn checksum(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

#[derive(Default)]
struct Tally {
    ops: u64,
    reads_checked: u64,
    errors: u64,
}

/// One worker's view: its slots and the last record written to each.
struct Worker<'a> {
    dev: &'a str,
    w: u32,
    file: File,
    size: usize,
    ps: usize,
    /// `seq[p]`: the sequence number of the last record in page `p`'s slot.
    seq: Vec<u64>,
    t: Tally,
}

impl Worker<'_> {
    fn off(&self, p: usize) -> usize {
        p * self.ps + self.w as usize * SLOT
    }

    fn want(&self, p: usize) -> [u8; SLOT] {
        record(self.w, p as u32, self.seq[p])
    }

    fn fail(&mut self, what: &str) {
        self.t.errors += 1;
        eprintln!("maptest stress: worker {}: {what}", self.w);
    }

    /// Compares a slot read back through `how` with the last record.
    fn expect(&mut self, p: usize, got: &[u8], how: &str) {
        self.t.reads_checked += 1;
        if got != self.want(p) {
            let what = match got
                .get(4..8)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            {
                Some(q) if q as usize != p => format!("page {p}: {how} shows page {q}'s record"),
                _ => format!("page {p}: record read through {how} is lost or torn"),
            };
            self.fail(&what);
        }
    }

    fn map(&mut self, len: usize, prot: i32, flags: i32, at: usize) -> Option<Mapping> {
        match Mapping::new(&self.file, len, prot, flags, at) {
            Ok(m) => Some(m),
            Err(e) => {
                self.fail(&format!("mmap of {len} bytes at {at}: {e}"));
                None
            }
        }
    }

    fn step(&mut self, op: u64, p: usize) {
        let (off, ps, in_page) = (self.off(p), self.ps, self.w as usize * SLOT);
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        match op {
            0 => {
                // Map the whole buffer, store the next record, unmap.
                if let Some(m) = self.map(self.size, rw, libc::MAP_SHARED, 0) {
                    self.seq[p] += 1;
                    for (i, b) in self.want(p).iter().enumerate() {
                        m.set(off + i, *b);
                    }
                }
            }
            1 => {
                self.seq[p] += 1;
                if device::pwrite(&self.file, &self.want(p), off as u64).ok() != Some(SLOT) {
                    self.fail("pwrite was short or failed");
                }
            }
            2 => {
                // Map just that page, shared, at its offset.
                if let Some(m) = self.map(ps, libc::PROT_READ, libc::MAP_SHARED, p * ps) {
                    let got: Vec<u8> = (0..SLOT).map(|i| m.get(in_page + i)).collect();
                    self.expect(p, &got, "a page mapping");
                }
            }
            3 => match device::pread(&self.file, SLOT, off as u64) {
                Ok(got) => self.expect(p, &got, "pread"),
                Err(e) => self.fail(&format!("pread: {e}")),
            },
            4 => self.child_checks(p),
            5 => match device::open(self.dev, false).and_then(|f| device::stats(&f)) {
                Ok(s) if s.buffer_size as usize == self.size => {}
                _ => self.fail("open + stats failed"),
            },
            7 => self.zap_and_refault(p),
            8 => self.pread_into_own_mapping(p),
            _ => {
                // A private read-only mapping of the page: faults it in afresh.
                if let Some(m) = self.map(ps, libc::PROT_READ, libc::MAP_PRIVATE, p * ps) {
                    let got: Vec<u8> = (0..SLOT).map(|i| m.get(in_page + i)).collect();
                    self.expect(p, &got, "a MAP_PRIVATE page mapping");
                }
            }
        }
    }

    /// Map the whole buffer, read the slot, zap the mapping with
    /// MADV_DONTNEED (racing the others' faults and unmaps), and read it
    /// again through the refault.
    fn zap_and_refault(&mut self, p: usize) {
        let off = self.off(p);
        if let Some(m) = self.map(self.size, libc::PROT_READ, libc::MAP_SHARED, 0) {
            let got: Vec<u8> = (0..SLOT).map(|i| m.get(off + i)).collect();
            self.expect(p, &got, "a mapping before MADV_DONTNEED");
            // SAFETY: advice on our own mapping; it stays readable.
            if unsafe { libc::madvise(m.addr() as *mut _, self.size, libc::MADV_DONTNEED) } != 0 {
                self.fail(&format!(
                    "madvise(MADV_DONTNEED): {}",
                    std::io::Error::last_os_error()
                ));
            }
            let got: Vec<u8> = (0..SLOT).map(|i| m.get(off + i)).collect();
            self.expect(p, &got, "the refault after MADV_DONTNEED");
        }
    }

    /// `read()` from the device into its own mapping, at the slot's own
    /// place: `copy_to_user` faults on the very page it copies.
    fn pread_into_own_mapping(&mut self, p: usize) {
        let (off, ps, in_page) = (self.off(p), self.ps, self.w as usize * SLOT);
        if let Some(m) = self.map(
            ps,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            p * ps,
        ) {
            let dst = m.addr() + in_page;
            // SAFETY: `dst..dst + SLOT` lies in our writable mapping.
            let n = unsafe {
                libc::pread(
                    self.file.as_raw_fd(),
                    dst as *mut _,
                    SLOT,
                    off as libc::off_t,
                )
            };
            if n != SLOT as isize {
                self.fail(&format!("pread into the device's own mapping returned {n}"));
            }
            let got: Vec<u8> = (0..SLOT).map(|i| m.get(in_page + i)).collect();
            self.expect(p, &got, "a pread into the device's own mapping");
        }
    }

    /// A forked child opens and maps the whole buffer on its own and
    /// checks page `p`'s slot.
    fn child_checks(&mut self, p: usize) {
        let (want, off, size, dev) = (self.want(p), self.off(p), self.size, self.dev);
        // SAFETY: the stress workers are single-threaded processes (forked
        // from single-threaded `maptest`); the child only maps, compares and
        // `_exit`s.
        let pid = match unsafe { crate::fork::fork() } {
            Ok(crate::fork::Forked::Parent(pid)) => pid,
            Ok(crate::fork::Forked::Child) => 0,
            Err(_) => -1,
        };
        if pid == 0 {
            let ok = device::open(dev, false)
                .and_then(|f| {
                    Ok(Mapping::new(
                        &f,
                        size,
                        libc::PROT_READ,
                        libc::MAP_SHARED,
                        0,
                    )?)
                })
                .map(|m| (0..SLOT).all(|i| m.get(off + i) == want[i]))
                .unwrap_or(false);
            // SAFETY: leave the child without running destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        self.t.reads_checked += 1;
        let mut status = 0;
        // SAFETY: waits for our own child.
        if pid < 0 || unsafe { libc::waitpid(pid, &mut status, 0) } != pid || status != 0 {
            self.fail(&format!(
                "page {p}: a forked child saw a lost or torn record"
            ));
        }
    }
}

fn worker(dev: &str, w: u32, deadline: Instant, seed: u64) -> Tally {
    let mut rng = Rng::new(seed ^ (u64::from(w) << 32));
    let opened = device::open(dev, true).and_then(|f| Ok((device::stats(&f)?, f)));
    let Ok((stats, file)) = opened else {
        return Tally {
            errors: 1,
            ..Tally::default()
        };
    };
    let (size, ps) = (stats.buffer_size as usize, page_size());
    let pages = size / ps;
    let mut me = Worker {
        dev,
        w,
        file,
        size,
        ps,
        seq: vec![0; pages],
        t: Tally::default(),
    };
    // Write every slot's first record with one pass of pwrite, so every
    // read has something to compare with.
    for p in 0..pages {
        if device::pwrite(&me.file, &me.want(p), me.off(p) as u64).ok() != Some(SLOT) {
            me.fail("the first pwrite was short or failed");
        }
    }
    while Instant::now() < deadline {
        me.t.ops += 1;
        let (op, p) = (rng.below(9), rng.below(pages as u64) as usize);
        me.step(op, p);
    }
    // Every slot must hold its last record: one pread of the whole buffer.
    match device::pread(&me.file, size, 0) {
        Ok(all) if all.len() == size => {
            for p in 0..pages {
                let off = me.off(p);
                me.expect(p, &all[off..off + SLOT], "the final pread");
            }
        }
        _ => me.fail("the final pread was short or failed"),
    }
    me.t
}

/// The `--json` record of `maptest stress`: the workers' totals.
#[derive(Debug, Default, serde::Serialize)]
struct Summary {
    procs: u32,
    seconds: u64,
    seed: u64,
    operations: u64,
    reads_checked: u64,
    errors: u64,
    crashed: u32,
    missing: u32,
}

/// Forks `procs` workers; each writes one line "OPS READS ERRORS" to the
/// pipe whose read end is returned with their pids.
fn spawn(
    device: &str,
    procs: u32,
    deadline: Instant,
    seed: u64,
) -> anyhow::Result<(Vec<i32>, File)> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two pipe ends.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    let mut pids = Vec::new();
    for w in 0..procs {
        // SAFETY: `maptest` is single-threaded (it starts no thread).
        let pid = match unsafe { crate::fork::fork() }? {
            crate::fork::Forked::Parent(pid) => pid,
            crate::fork::Forked::Child => 0,
        };
        if pid == 0 {
            let t = worker(device, w, deadline, seed);
            // SAFETY: our copy of the pipe's write end.
            let mut out = unsafe { File::from_raw_fd(fds[1]) };
            // One write(2) of less than PIPE_BUF bytes: atomic, so lines of
            // different workers never interleave.
            let _ =
                out.write_all(format!("{} {} {}\n", t.ops, t.reads_checked, t.errors).as_bytes());
            // SAFETY: leave the child without running destructors.
            unsafe { libc::_exit(0) };
        }
        pids.push(pid);
    }
    // SAFETY: the parent's copy of the write end, no longer needed.
    unsafe { libc::close(fds[1]) };
    // SAFETY: the read end, which we own from here on.
    Ok((pids, unsafe { File::from_raw_fd(fds[0]) }))
}

/// Waits for the workers and adds up their lines.
fn collect(pids: Vec<i32>, mut reports: File, sum: &mut Summary) -> anyhow::Result<()> {
    for pid in pids {
        let mut status = 0;
        // SAFETY: waits for our own children.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        if status != 0 {
            sum.crashed += 1;
        }
    }
    let mut text = String::new();
    reports.read_to_string(&mut text)?;
    let mut lines = 0;
    for line in text.lines() {
        let mut it = line
            .split_whitespace()
            .filter_map(|x| x.parse::<u64>().ok());
        if let (Some(o), Some(r), Some(e)) = (it.next(), it.next(), it.next()) {
            sum.operations += o;
            sum.reads_checked += r;
            sum.errors += e;
            lines += 1;
        }
    }
    sum.missing = sum.procs - lines;
    Ok(())
}

/// `maptest stress`.
pub fn run(opts: &Options, procs: u32, seconds: u64, seed: u64) -> anyhow::Result<bool> {
    // Held for the whole run, so the module stays pinned from before the
    // first worker starts until after the last one ends.
    let file = device::open(&opts.device, false)?;
    let size = device::stats(&file)?.buffer_size as usize;
    if procs == 0 || procs as usize * SLOT > page_size().min(size) {
        return Err(anyhow::Error::msg(format!(
            "{procs} workers need a {}-byte slot each in every page: at most {}",
            SLOT,
            page_size() / SLOT
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (pids, reports) = spawn(&opts.device, procs, deadline, seed)?;
    if !opts.json {
        println!("stress: {procs} workers running for {seconds} s");
    }
    let mut sum = Summary {
        procs,
        seconds,
        seed,
        ..Summary::default()
    };
    collect(pids, reports, &mut sum)?;
    drop(file);
    if opts.json {
        crate::json::print(&sum)?;
    } else {
        println!(
            "stress: {procs} processes, {seconds} s, seed {seed}: {} operations, {} reads checked, {} integrity errors, {} crashed workers",
            sum.operations, sum.reads_checked, sum.errors, sum.crashed
        );
    }
    let s = &sum;
    Ok(
        s.errors == 0
            && s.crashed == 0
            && s.missing == 0
            && s.operations > 0
            && s.reads_checked > 0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_differ_and_checksum() {
        let a = record(1, 0, 5);
        let b = record(1, 0, 6);
        let c = record(2, 0, 5);
        let d = record(1, 1, 5);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(checksum(&a[..60]).to_le_bytes(), a[60..64]);
        let mut torn = a;
        torn[20] ^= 1;
        assert_ne!(checksum(&torn[..60]).to_le_bytes(), torn[60..64]);
    }
}
