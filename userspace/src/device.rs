//! Talking to `/dev/mapdrv`: open, map, ioctl, and reading what the kernel
//! says about a mapping (`/proc/self/smaps`, `mincore`).

use crate::abi::{MapMode, MapdrvStats, MAPDRV_ABI_VERSION, MAPDRV_IOC_GET_STATS};
use crate::cli::Options;
use crate::json;
use anyhow::Context;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};

/// A mapping of a file, unmapped on drop.
pub struct Mapping {
    addr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    /// `mmap(NULL, len, prot, flags, fd, offset)`.
    pub fn new(file: &File, len: usize, prot: i32, flags: i32, offset: usize) -> io::Result<Self> {
        let off = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        // SAFETY: a fresh mapping chosen by the kernel (addr NULL) aliases no
        // Rust object; the fd is valid for the duration of the call.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                flags,
                file.as_raw_fd(),
                off,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { addr, len })
    }

    /// An inaccessible anonymous mapping of `len` bytes: a free address
    /// range to move or map something else into.
    pub fn anonymous(len: usize) -> io::Result<Self> {
        // SAFETY: a fresh private anonymous mapping, PROT_NONE, chosen by
        // the kernel: it aliases nothing.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { addr, len })
    }

    /// The mapping's start address.
    pub fn addr(&self) -> usize {
        self.addr as usize
    }

    /// Reads byte `i` with a volatile load (another mapping, process or the
    /// kernel may change it at any time).
    pub fn get(&self, i: usize) -> u8 {
        assert!(i < self.len);
        // SAFETY: `i` is inside the live mapping, which is readable.
        unsafe { std::ptr::read_volatile(self.addr.cast::<u8>().add(i)) }
    }

    /// Writes byte `i` with a volatile store. The mapping must be writable.
    pub fn set(&self, i: usize, v: u8) {
        assert!(i < self.len);
        // SAFETY: `i` is inside the live mapping; the caller mapped it
        // writable (a write to a read-only mapping would be SIGSEGV, not UB).
        unsafe { std::ptr::write_volatile(self.addr.cast::<u8>().add(i), v) }
    }

    /// Copies `data` into the mapping at byte `at` (a `memcpy`; the
    /// mapping must be writable and no other thread may be using it).
    pub fn write_at(&self, at: usize, data: &[u8]) {
        assert!(at.checked_add(data.len()).is_some_and(|e| e <= self.len));
        // SAFETY: `at..at + data.len()` is inside the live, writable mapping;
        // `data` is a separate Rust allocation, so the ranges do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.addr.cast::<u8>().add(at), data.len())
        }
    }

    /// Copies `len` bytes out of the mapping from byte `at` (a `memcpy`;
    /// the caller's test is the only writer while it runs).
    pub fn read_at(&self, at: usize, len: usize) -> Vec<u8> {
        assert!(at.checked_add(len).is_some_and(|e| e <= self.len));
        let mut out = vec![0u8; len];
        // SAFETY: `at..at + len` is inside the live, readable mapping; `out`
        // is a fresh allocation of `len` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(self.addr.cast::<u8>().add(at), out.as_mut_ptr(), len)
        };
        out
    }

    /// Copies the first `n` bytes out.
    pub fn read_bytes(&self, n: usize) -> Vec<u8> {
        (0..n.min(self.len)).map(|i| self.get(i)).collect()
    }

    /// `mprotect` on the whole mapping.
    pub fn protect(&self, prot: i32) -> io::Result<()> {
        // SAFETY: changes protection of a mapping we own.
        if unsafe { libc::mprotect(self.addr, self.len, prot) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// `mremap` to `new_len` (with `MREMAP_MAYMOVE`); on success the
    /// mapping follows.
    pub fn remap(&mut self, new_len: usize) -> io::Result<()> {
        // SAFETY: remaps a mapping we own; on success we take the new range.
        let p = unsafe { libc::mremap(self.addr, self.len, new_len, libc::MREMAP_MAYMOVE) };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        self.addr = p;
        self.len = new_len;
        Ok(())
    }

    /// Which pages of the mapping have a page table entry (`mincore`).
    pub fn resident(&self) -> io::Result<Vec<bool>> {
        let pages = self.len.div_ceil(page_size());
        let mut vec = vec![0u8; pages];
        // SAFETY: `vec` has one byte per page of our mapping.
        if unsafe { libc::mincore(self.addr, self.len, vec.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(vec.iter().map(|b| b & 1 == 1).collect())
    }

    /// The mapping's `Rss:` in `/proc/self/smaps`, in kB.
    pub fn rss_kb(&self) -> anyhow::Result<u64> {
        smaps_field(self.addr(), "Rss:")
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `addr`/`len` describe a mapping this value owns.
        unsafe { libc::munmap(self.addr, self.len) };
    }
}

/// The value (kB) of `field` for the VMA starting at `start` in
/// `/proc/self/smaps`.
pub fn smaps_field(start: usize, field: &str) -> anyhow::Result<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    parse_smaps_field(&smaps, start, field)
        .ok_or_else(|| anyhow::anyhow!("no VMA at {start:#x} with {field} in smaps"))
}

/// Finds `field` of the VMA starting at `start` in smaps text.
pub fn parse_smaps_field(smaps: &str, start: usize, field: &str) -> Option<u64> {
    let mut in_vma = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(_)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                in_vma = a == start;
                continue;
            }
        }
        if in_vma && line.starts_with(field) {
            return line[field.len()..].split_whitespace().next()?.parse().ok();
        }
    }
    None
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// The NUL-terminated string at the start of `bytes`, lossily decoded.
pub fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Opens the device read-write (or read-only).
pub fn open(path: &str, write: bool) -> anyhow::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(write)
        .open(path)
        .with_context(|| format!("opening {path}"))
}

/// One of mapdrv's ioctls, whose argument is a pointer to one `T` that the
/// kernel reads and/or writes.
///
/// # Safety
///
/// `cmd` must be a mapdrv ioctl whose argument is a `T` (see `src/abi.rs`).
pub unsafe fn ioctl_struct<T>(file: &File, cmd: u32, arg: &mut T) -> io::Result<()> {
    // SAFETY: by the caller's contract the kernel accesses one `T`, which
    // `arg` is, exclusively borrowed for the call.
    if unsafe { libc::ioctl(file.as_raw_fd(), cmd as _, arg as *mut T) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `MAPDRV_IOC_GET_STATS`.
pub fn stats(file: &File) -> anyhow::Result<MapdrvStats> {
    let mut s = MapdrvStats::default();
    // SAFETY: `MAPDRV_IOC_GET_STATS` writes one `MapdrvStats`.
    unsafe { ioctl_struct(file, MAPDRV_IOC_GET_STATS, &mut s) }.context("MAPDRV_IOC_GET_STATS")?;
    if s.version != MAPDRV_ABI_VERSION {
        return Err(anyhow::Error::msg(format!(
            "the module speaks ABI version {}, this maptest version {MAPDRV_ABI_VERSION}",
            s.version
        )));
    }
    Ok(s)
}

/// `pread` into a fresh buffer of `len` bytes; returns what was read.
pub fn pread(file: &File, len: usize, offset: u64) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    let n = file.read_at(&mut buf, offset)?;
    buf.truncate(n);
    Ok(buf)
}

/// `pwrite`; returns the count written.
pub fn pwrite(file: &File, data: &[u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    file.write_at(data, offset)
}

/// `maptest read`: the classic mapdrv demo.
pub fn read(opts: &Options) -> anyhow::Result<()> {
    let file = open(&opts.device, false)?;
    let map = Mapping::new(&file, page_size(), libc::PROT_READ, libc::MAP_PRIVATE, 0)
        .with_context(|| format!("mmap {}", opts.device))?;
    let s = c_string(&map.read_bytes(page_size()));
    if opts.json {
        #[derive(Serialize)]
        struct Read<'a> {
            device: &'a str,
            string: &'a str,
        }
        json::print(&Read {
            device: &opts.device,
            string: &s,
        })?;
    } else {
        println!(
            "{}: mapped one page; the kernel's buffer reads \"{}\"",
            opts.device, s
        );
    }
    Ok(())
}

/// `maptest stats`.
pub fn print_stats(opts: &Options) -> anyhow::Result<()> {
    let file = open(&opts.device, false)?;
    let s = stats(&file)?;
    if opts.json {
        json::print(&s)?;
    } else {
        // The JSON record's fields, in order, aligned.
        let value = serde_json::to_value(s).map_err(io::Error::other)?;
        for (k, v) in value.as_object().into_iter().flatten() {
            println!("{k:>18}  {v}");
        }
    }
    Ok(())
}

/// `maptest touch`: map the whole buffer read-only, read one byte of every
/// page, and report what that took: the faults the driver served, the page
/// table entries it made, Rss before and after. (No timing: one pass over a
/// few pages mostly measures cold caches; `bench-fault` times.)
pub fn touch(opts: &Options) -> anyhow::Result<()> {
    use std::io::Seek;
    let mut file = open(&opts.device, false)?;
    // The size from lseek(SEEK_END), so that a device without mapdrv's
    // ioctl (the C reference) can be touched too; its counters are then
    // not reported.
    let size = usize::try_from(file.seek(io::SeekFrom::End(0))?).map_err(io::Error::other)?;
    let s0 = stats(&file).ok();
    let ps = page_size();
    let pages = size / ps;
    let m = Mapping::new(&file, size, libc::PROT_READ, libc::MAP_SHARED, 0)?;
    let rss0 = m.rss_kb()?;
    for p in 0..pages {
        let _ = m.get(p * ps);
    }
    let rss1 = m.rss_kb()?;
    let counters = match (s0, stats(&file).ok()) {
        (Some(s0), Some(s1)) => Some((
            s1.faults - s0.faults,
            s1.pages_mapped - s0.pages_mapped,
            MapMode::from_raw(s1.map_mode).map_or("unknown", MapMode::name),
        )),
        _ => None,
    };
    if opts.json {
        /// The `--json` record of `maptest touch`; the counters only
        /// for a device that has them.
        #[derive(Serialize)]
        struct Touch {
            pages: usize,
            rss_kb_after_mmap: u64,
            rss_kb_after_touch: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            map_mode: Option<&'static str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            faults: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pages_mapped: Option<u64>,
        }
        json::print(&Touch {
            pages,
            rss_kb_after_mmap: rss0,
            rss_kb_after_touch: rss1,
            map_mode: counters.map(|c| c.2),
            faults: counters.map(|c| c.0),
            pages_mapped: counters.map(|c| c.1),
        })?;
    } else {
        match counters {
            Some((_, _, mode)) => println!("{}: {pages} pages, map mode {mode}", opts.device),
            None => println!("{}: {pages} pages (no mapdrv counters)", opts.device),
        }
        println!("  Rss after mmap {rss0} kB, after touching every page {rss1} kB");
        if let Some((faults, mapped, _)) = counters {
            println!(
                "  the driver served {faults} faults and mapped {mapped} pages (mmap included)"
            );
        }
    }
    Ok(())
}

/// `maptest info`: the running kernel and whether the device node exists.
pub fn info(opts: &Options) -> anyhow::Result<()> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let present = std::path::Path::new(&opts.device).exists();
    if opts.json {
        #[derive(Serialize)]
        struct Info<'a> {
            kernel: &'a str,
            device: &'a str,
            present: bool,
            page_size: usize,
        }
        json::print(&Info {
            kernel: &release,
            device: &opts.device,
            present,
            page_size: page_size(),
        })?;
    } else {
        println!("kernel {release}, page size {} bytes", page_size());
        println!(
            "{}: {}",
            opts.device,
            if present { "present" } else { "absent" }
        );
    }
    Ok(())
}

/// `maptest hold`: keep the device open, or only mapped, for a while.
pub fn hold(opts: &Options, mapped: bool, seconds: u64) -> anyhow::Result<()> {
    let file = open(&opts.device, true)?;
    let _map = if mapped {
        let size = usize::try_from(stats(&file)?.buffer_size).map_err(io::Error::other)?;
        let m = Mapping::new(&file, size, libc::PROT_READ, libc::MAP_SHARED, 0)?;
        let _ = m.get(0);
        drop(file);
        println!("maptest: holding a {size}-byte mapping (fd closed) for {seconds} s");
        Some(m)
    } else {
        println!("maptest: holding {} open for {seconds} s", opts.device);
        std::mem::forget(file);
        None
    };
    std::thread::sleep(std::time::Duration::from_secs(seconds));
    Ok(())
}

/// A pipe: (read end, write end).
pub fn pipe() -> Result<(File, File), String> {
    let mut fds = [0; 2];
    // SAFETY: room for both ends.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: two fresh fds we own.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// A forked child running `f`, which the parent waits for.
pub struct Child(pub libc::pid_t);

impl Child {
    /// # Safety
    ///
    /// As for [`crate::fork::fork`]: the process has one thread (`maptest`
    /// starts none), or `f` calls only async-signal-safe functions.
    pub unsafe fn spawn(f: impl FnOnce() -> i32) -> Result<Child, String> {
        // SAFETY: the caller's contract is `fork`'s.
        match unsafe { crate::fork::fork() }.map_err(|e| format!("fork: {e}"))? {
            crate::fork::Forked::Child => {
                let code = f();
                // SAFETY: leave without destructors (the parent owns them).
                unsafe { libc::_exit(code) };
            }
            crate::fork::Forked::Parent(pid) => Ok(Child(pid)),
        }
    }

    /// The raw wait status.
    pub fn wait(self) -> Result<i32, String> {
        let mut status = 0;
        // SAFETY: waits for our own child.
        if unsafe { libc::waitpid(self.0, &mut status, 0) } != self.0 {
            return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
        }
        Ok(status)
    }

    /// Exit status 0, or what went wrong.
    pub fn succeeded(self, what: &str) -> Result<(), String> {
        let status = self.wait()?;
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            Ok(())
        } else {
            Err(format!("{what}: the child ended with status {status:#x}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_string_stops_at_nul() {
        assert_eq!(c_string(b"ok\0\0garbage"), "ok");
        assert_eq!(c_string(b"no-nul"), "no-nul");
        assert_eq!(c_string(b"\0"), "");
    }

    #[test]
    fn maps_a_regular_file_and_reads_its_smaps() {
        let path = std::env::temp_dir().join(format!("maptest-{}", std::process::id()));
        std::fs::write(&path, vec![b'x'; 2 * page_size()]).unwrap();
        let f = File::open(&path).unwrap();
        let m = Mapping::new(&f, 2 * page_size(), libc::PROT_READ, libc::MAP_SHARED, 0).unwrap();
        assert_eq!(m.get(0), b'x');
        assert!(m.rss_kb().is_ok());
        assert_eq!(m.resident().unwrap().len(), 2);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn smaps_parsing() {
        let text = "\
7f0000000000-7f0000002000 rw-s 00000000 00:05 3 /dev/mapdrv
Size:                  8 kB
Rss:                   4 kB
7f0000004000-7f0000005000 r--p 00000000 00:05 3 /dev/mapdrv
Size:                  4 kB
Rss:                   0 kB
";
        assert_eq!(parse_smaps_field(text, 0x7f0000000000, "Rss:"), Some(4));
        assert_eq!(parse_smaps_field(text, 0x7f0000004000, "Rss:"), Some(0));
        assert_eq!(parse_smaps_field(text, 0x7f0000004000, "Size:"), Some(4));
        assert_eq!(parse_smaps_field(text, 0x1000, "Rss:"), None);
    }
}
