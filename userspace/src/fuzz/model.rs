//! The model of the contract: a shadow of the fds, the mappings and the
//! buffer, and the result every system call must have.

use super::ops::{Op, ADVICES, FDS, MAPS};
use crate::abi::{MapdrvStats, MAPDRV_ABI_VERSION, MAPDRV_IOC_EXERCISE, MAPDRV_IOC_GET_STATS};
use crate::device::{self, page_size};
use std::io;

/// An open fd as the model tracks it.
#[derive(Clone, Copy)]
struct Fd {
    raw: i32,
    /// `O_RDONLY`, `O_WRONLY` or `O_RDWR`.
    mode: i32,
    /// The file position.
    pos: i64,
}

/// A live mapping as the model tracks it.
#[derive(Clone, Copy)]
struct Map {
    addr: usize,
    len: usize,
    prot: i32,
    shared: bool,
    /// Opened read-write (only such a shared mapping may become writable).
    fd_writable: bool,
    locked: bool,
    /// The buffer offset of the mapping's first byte.
    off: usize,
    /// The mapping's pages (bit `i`: page `i`) that `MADV_DONTFORK` keeps
    /// out of a child (`VM_DONTCOPY`, skipped by `dup_mmap()`).
    dontfork: u128,
    /// `MADV_DONTFORK` reached a page past bit 127: what a child sees of
    /// this mapping is not checked.
    fork_unknown: bool,
}

/// What a system call returned: a value or an errno.
type Ret = Result<i64, i32>;

/// How an operation was carried out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Done {
    /// A system call was made (and its result checked).
    Syscall,
    /// A load or store into a mapping (its byte checked or recorded).
    Access,
    /// Nothing live to act on (or an access the protection forbids).
    Skipped,
}

/// The contract's shadow: fds, mappings and the buffer's bytes.
pub struct Model {
    path: std::ffi::CString,
    size: u64,
    fds: Vec<Fd>,
    maps: Vec<Map>,
    shadow: Vec<u8>,
    scratch: Vec<u8>,
    /// Set when the target is `/dev/mapdrv` (the ioctls are part of the contract).
    device: bool,
    /// Seeds the bytes of each write.
    counter: u8,
    /// The kernel has `madvise` (`CONFIG_ADVISE_SYSCALLS`); without it
    /// every call is `ENOSYS`, which is the model's answer then.
    has_madvise: bool,
    /// RAM plus swap, in pages (`sysinfo`): the overcommit heuristic's bound.
    commit_pages: u64,
}

fn ret_of(r: isize) -> Ret {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as i64)
    }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn name(e: i32) -> String {
    let known = [
        (libc::EINVAL, "EINVAL"),
        (libc::EACCES, "EACCES"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::ENOTTY, "ENOTTY"),
        (libc::EFAULT, "EFAULT"),
        (libc::EBADF, "EBADF"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::ENODEV, "ENODEV"),
        (libc::EPERM, "EPERM"),
        (libc::EBUSY, "EBUSY"),
        (libc::EOVERFLOW, "EOVERFLOW"),
        (libc::ENOSYS, "ENOSYS"),
    ];
    known
        .iter()
        .find(|(n, _)| *n == e)
        .map_or(format!("errno {e}"), |(_, s)| (*s).to_owned())
}

fn show(r: Ret) -> String {
    match r {
        Ok(v) => format!("{v}"),
        Err(e) => name(e),
    }
}

/// `Ok` if the call returned what the model says (a value is compared only
/// when `want` carries one other than `-1`, which stands for "any success").
fn compare(what: &str, got: Ret, want: Ret) -> Result<(), String> {
    let same = match (got, want) {
        (Ok(_), Ok(-1)) => true,
        _ => got == want,
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {}, the contract says {}",
            show(got),
            if want == Ok(-1) {
                "success".to_owned()
            } else {
                show(want)
            }
        ))
    }
}

/// `totalram_pages() + total_swap_pages`, from `sysinfo(2)`.
fn commit_pages() -> anyhow::Result<u64> {
    // SAFETY: `sysinfo` fills the struct we pass; all-zero is a valid start.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `si` is a valid, writable `struct sysinfo`.
    if unsafe { libc::sysinfo(&mut si) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    let unit = u64::from(si.mem_unit.max(1));
    let bytes = (widen(si.totalram) + widen(si.totalswap)) * unit;
    Ok(bytes / page_size() as u64)
}

/// A `c_ulong` as `u64`. `c_ulong` is `u64` on 64-bit targets and `u32` on
/// 32-bit ones; written at the call, both an `as` cast and `u64::from` are
/// same-type conversions on 64-bit that clippy flags (`unnecessary_cast`,
/// `useless_conversion`), so the widening happens here, generically.
fn widen<T: Into<u64>>(v: T) -> u64 {
    v.into()
}

fn page_align(len: u64) -> Option<u64> {
    let ps = page_size() as u64;
    len.checked_add(ps - 1).map(|l| l & !(ps - 1))
}

impl Model {
    /// A model of `path`, whose contents are read now with `pread`.
    pub fn new(path: &str, size: u64, device: bool) -> anyhow::Result<Self> {
        let f = device::open(path, false)?;
        let shadow = device::pread(&f, size as usize, 0)?;
        if shadow.len() as u64 != size {
            return Err(anyhow::Error::msg("short pread of the buffer"));
        }
        Ok(Model {
            path: std::ffi::CString::new(path).map_err(io::Error::other)?,
            size,
            fds: Vec::new(),
            maps: Vec::new(),
            shadow,
            scratch: Vec::new(),
            device,
            counter: 0,
            // SAFETY: an empty range: no memory is touched.
            commit_pages: commit_pages()?,
            has_madvise: unsafe { libc::madvise(std::ptr::null_mut(), 0, libc::MADV_NORMAL) } == 0
                || errno() != libc::ENOSYS,
        })
    }

    /// Carries out `op`; `Err` is a contract violation.
    pub fn exec(&mut self, op: Op) -> Result<Done, String> {
        match op {
            Op::Open { mode, extra } => self.open(mode, extra),
            Op::Close { fd } => self.close(fd),
            Op::Mmap {
                fd,
                len,
                prot,
                flags,
                off,
            } => self.mmap(fd, len, prot, flags, off),
            Op::Munmap { map, from } => self.munmap(map, from),
            Op::Mremap {
                map,
                new_len,
                flags,
            } => self.mremap(map, new_len, flags),
            Op::Mprotect { map, prot } => self.mprotect(map, prot),
            Op::Madvise {
                map,
                from,
                len,
                advice,
            } => self.madvise(map, from, len, advice),
            Op::Msync { map, flags } => self.msync(map, flags),
            Op::Rw {
                fd,
                write,
                positional,
                len,
                off,
                bad_buf,
            } => self.rw(fd, write, positional, len as usize, off, bad_buf),
            Op::Lseek { fd, off, whence } => self.lseek(fd, off, whence),
            Op::Ioctl { fd, cmd, arg } => self.ioctl(fd, cmd, arg),
            Op::Touch { map, at, write } => self.touch(map, at, write),
            Op::Fork => self.fork(),
        }
    }

    fn fd(&self, k: usize) -> Option<usize> {
        (!self.fds.is_empty()).then(|| k % self.fds.len())
    }

    fn map(&self, k: usize) -> Option<usize> {
        (!self.maps.is_empty()).then(|| k % self.maps.len())
    }

    fn open(&mut self, mode: i32, extra: i32) -> Result<Done, String> {
        if self.fds.len() == FDS {
            self.close(0)?;
        }
        // SAFETY: a plain open of a NUL-terminated path.
        let raw = unsafe { libc::open(self.path.as_ptr(), mode | extra) };
        compare("open", ret_of(raw as isize), Ok(-1))?;
        self.fds.push(Fd { raw, mode, pos: 0 });
        Ok(Done::Syscall)
    }

    fn close(&mut self, k: usize) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        let fd = self.fds.remove(i);
        // SAFETY: an fd we opened and still own.
        compare(
            "close",
            ret_of(unsafe { libc::close(fd.raw) } as isize),
            Ok(0),
        )?;
        Ok(Done::Syscall)
    }

    /// What `mmap` must return: the syscall's, `do_mmap()`'s and the
    /// driver's checks, in the kernel's order.
    fn mmap_want(&self, fd: Fd, len: u64, prot: i32, flags: i32, off: u64) -> Ret {
        let ps = page_size() as u64;
        let kind = flags & 3;
        // x86-64 sys_mmap: the offset must be page-aligned.
        if off % ps != 0 {
            return Err(libc::EINVAL);
        }
        if len == 0 {
            return Err(libc::EINVAL);
        }
        let Some(alen) = page_align(len).filter(|l| *l != 0) else {
            return Err(libc::ENOMEM);
        };
        let pgoff = off / ps;
        if pgoff.checked_add(alen / ps).is_none() {
            return Err(libc::EOVERFLOW);
        }
        // __get_unmapped_area(): longer than TASK_SIZE is ENOMEM (see
        // `mremap` for why 2^47 stands for TASK_SIZE here).
        if alen > 1 << 47 {
            return Err(libc::ENOMEM);
        }
        // file_mmap_ok(): the end must fit the file's size limit
        // (ULONG_MAX for a character device, MAX_LFS_FILESIZE for a file).
        let max = if self.device {
            u64::MAX
        } else {
            i64::MAX as u64
        };
        if alen > max || pgoff > (max - alen) / ps {
            return Err(libc::EOVERFLOW);
        }
        // The type switch of do_mmap(): write access, then read access.
        let shared = kind == libc::MAP_SHARED || kind == libc::MAP_SHARED_VALIDATE;
        if shared && prot & libc::PROT_WRITE != 0 && fd.mode == libc::O_RDONLY {
            return Err(libc::EACCES);
        }
        if kind != 0 && fd.mode == libc::O_WRONLY {
            return Err(libc::EACCES);
        }
        if kind == 0 {
            return Err(libc::EINVAL);
        }
        // mmap_region(): a writable private mapping is charged against
        // the commit limit first (overcommit "guess": more pages than RAM
        // plus swap is ENOMEM), unless MAP_NORESERVE.
        if !shared
            && prot & libc::PROT_WRITE != 0
            && flags & libc::MAP_NORESERVE == 0
            && alen / ps > self.commit_pages
        {
            return Err(libc::ENOMEM);
        }
        // The driver: PROT_EXEC, the range, a writable private mapping.
        let in_range = pgoff
            .checked_mul(ps)
            .and_then(|o| o.checked_add(alen))
            .is_some_and(|end| end <= self.size);
        if prot & libc::PROT_EXEC != 0 || !in_range || (!shared && prot & libc::PROT_WRITE != 0) {
            return Err(libc::EINVAL);
        }
        Ok(-1)
    }

    fn mmap(
        &mut self,
        k: usize,
        len: u64,
        prot: i32,
        flags: i32,
        off: u64,
    ) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        if self.maps.len() == MAPS {
            self.munmap(0, 0)?;
        }
        let fd = self.fds[i];
        let want = self.mmap_want(fd, len, prot, flags, off);
        // SAFETY: a fresh mapping chosen by the kernel; we track it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len as usize,
                prot,
                flags,
                fd.raw,
                off as libc::off_t,
            )
        };
        let got = if p == libc::MAP_FAILED {
            Err(errno())
        } else {
            Ok(p as i64)
        };
        if got.is_ok() {
            self.maps.push(Map {
                addr: p as usize,
                len: len as usize,
                prot,
                shared: flags & 3 != libc::MAP_PRIVATE,
                fd_writable: fd.mode == libc::O_RDWR,
                // __mmap_region() drops VM_LOCKED from VM_SPECIAL mappings,
                // and the driver's are VM_DONTEXPAND.
                locked: flags & libc::MAP_LOCKED != 0 && !self.device,
                off: off as usize,
                dontfork: 0,
                fork_unknown: false,
            });
        }
        compare(
            &format!("mmap(len {len:#x}, prot {prot:#x}, flags {flags:#x}, off {off:#x}) of an fd opened {:#x}", fd.mode),
            got,
            want,
        )?;
        Ok(Done::Syscall)
    }

    fn munmap(&mut self, k: usize, from: u64) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let from = (from as usize).min(m.len.saturating_sub(1)) & !(page_size() - 1);
        // SAFETY: the tail of a mapping we own, from a page boundary.
        let r = unsafe { libc::munmap((m.addr + from) as *mut _, m.len - from) };
        if from == 0 {
            self.maps.remove(i);
        } else {
            self.maps[i].len = from;
        }
        compare("munmap", ret_of(r as isize), Ok(0))?;
        Ok(Done::Syscall)
    }

    fn mremap(&mut self, k: usize, new_len: u64, flags: i32) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let old = page_align(m.len as u64).unwrap_or(0);
        // do_mremap(): a zero, overflowing or longer than TASK_SIZE length is EINVAL; growing a
        // VM_DONTEXPAND mapping is EFAULT (check_prep_vma()); shrinking works.
        // (No generated length lies between 2^41 and TASK_SIZE, whichever
        // paging mode sets TASK_SIZE: longer ones are all above 2^63.)
        let want = match page_align(new_len) {
            None | Some(0) => Err(libc::EINVAL),
            Some(n) if n > 1 << 47 => Err(libc::EINVAL),
            Some(n) if n > old => Err(libc::EFAULT),
            Some(_) => Ok(m.addr as i64),
        };
        // SAFETY: remaps a mapping we own; on success we track the result.
        let p = unsafe { libc::mremap(m.addr as *mut _, m.len, new_len as usize, flags) };
        let got = if p == libc::MAP_FAILED {
            Err(errno())
        } else {
            Ok(p as i64)
        };
        if let Ok(p) = got {
            self.maps[i].addr = p as usize;
            self.maps[i].len = new_len as usize;
        }
        compare(&format!("mremap({:#x} -> {new_len:#x})", m.len), got, want)?;
        Ok(Done::Syscall)
    }

    fn mprotect(&mut self, k: usize, prot: i32) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        // The driver cleared VM_MAYEXEC always and VM_MAYWRITE on private
        // mappings; the core clears VM_MAYWRITE for a read-only fd.
        let may_write = m.shared && m.fd_writable;
        let want = if prot & libc::PROT_EXEC != 0 || (prot & libc::PROT_WRITE != 0 && !may_write) {
            Err(libc::EACCES)
        } else {
            Ok(0)
        };
        // SAFETY: changes protection of a mapping we own.
        let got = ret_of(unsafe { libc::mprotect(m.addr as *mut _, m.len, prot) } as isize);
        if got.is_ok() {
            self.maps[i].prot = prot;
        }
        compare(
            &format!(
                "mprotect({prot:#x}) of a {} mapping",
                if m.shared { "shared" } else { "private" }
            ),
            got,
            want,
        )?;
        Ok(Done::Syscall)
    }

    /// What `madvise` must return on one of mapdrv's VMAs (file-backed,
    /// `VM_DONTEXPAND`, so in `VM_SPECIAL`), from mm/madvise.c.
    fn madvise_want(m: &Map, len: u64, advice: i32) -> Ret {
        if !ADVICES[..ADVICES.len() - 1].contains(&advice) {
            return Err(libc::EINVAL);
        }
        if len == 0 {
            return Ok(0);
        }
        match advice {
            // madvise_vma_behavior(): VM_SPECIAL (the driver's VM_DONTEXPAND)
            // refuses MADV_DOFORK and MADV_DODUMP; MADV_DONTFORK and
            // MADV_DONTDUMP only set a flag.
            libc::MADV_DOFORK | libc::MADV_DODUMP => Err(libc::EINVAL),
            // madvise_dontneed_free_valid_vma(), can_madv_lru_vma().
            libc::MADV_DONTNEED | libc::MADV_COLD | libc::MADV_PAGEOUT if m.locked => {
                Err(libc::EINVAL)
            }
            // madvise_free_single_vma(): anonymous memory only.
            libc::MADV_FREE => Err(libc::EINVAL),
            // madvise_remove(): then vfs_fallocate() on a character device.
            libc::MADV_REMOVE if m.locked => Err(libc::EINVAL),
            libc::MADV_REMOVE if !(m.shared && m.fd_writable) => Err(libc::EACCES),
            libc::MADV_REMOVE => Err(libc::ENODEV),
            // madvise_populate(): check_vma_flags() failures are EINVAL.
            libc::MADV_POPULATE_READ if m.prot & libc::PROT_READ == 0 => Err(libc::EINVAL),
            libc::MADV_POPULATE_WRITE if m.prot & libc::PROT_WRITE == 0 => Err(libc::EINVAL),
            _ => Ok(0),
        }
    }

    fn madvise(&mut self, k: usize, from: u64, len: u64, advice: i32) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let mapped = page_align(m.len as u64).unwrap_or(0);
        if from >= mapped {
            return Ok(Done::Skipped);
        }
        let len = len.min(mapped - from);
        let want = if self.has_madvise {
            Self::madvise_want(&m, len, advice)
        } else {
            Err(libc::ENOSYS)
        };
        // SAFETY: advice on a range of a mapping we own; none of these
        // advices changes what we may touch (DONTNEED refaults the buffer).
        let got = ret_of(unsafe {
            libc::madvise((m.addr + from as usize) as *mut _, len as usize, advice)
        } as isize);
        compare(&format!("madvise({advice}) of {len:#x} bytes"), got, want)?;
        if advice == libc::MADV_DONTFORK && got == Ok(0) {
            let ps = page_size() as u64;
            let m = &mut self.maps[i];
            for p in from / ps..(from + len).div_ceil(ps) {
                match 1u128.checked_shl(p as u32) {
                    Some(bit) if p < 128 => m.dontfork |= bit,
                    _ => m.fork_unknown = true,
                }
            }
        }
        Ok(Done::Syscall)
    }

    fn msync(&mut self, k: usize, flags: i32) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let known = libc::MS_SYNC | libc::MS_ASYNC | libc::MS_INVALIDATE;
        // mm/msync.c: unknown bits or SYNC|ASYNC are EINVAL; INVALIDATE of
        // a locked mapping is EBUSY; MS_SYNC of a shared mapping calls
        // vfs_fsync_range(), EINVAL for a file without ->fsync (the device);
        // a shared mapping of a read-only fd is not VM_SHARED (do_mmap()).
        let want = if flags & !known != 0
            || flags & (libc::MS_SYNC | libc::MS_ASYNC) == libc::MS_SYNC | libc::MS_ASYNC
        {
            Err(libc::EINVAL)
        } else if flags & libc::MS_INVALIDATE != 0 && m.locked {
            Err(libc::EBUSY)
        } else if flags & libc::MS_SYNC != 0 && m.shared && m.fd_writable && self.device {
            Err(libc::EINVAL)
        } else {
            Ok(0)
        };
        // SAFETY: msync of a mapping we own.
        let got = ret_of(unsafe { libc::msync(m.addr as *mut _, m.len, flags) } as isize);
        compare(&format!("msync({flags:#x})"), got, want)?;
        Ok(Done::Syscall)
    }

    /// What a read or write of `len` bytes at `off` must return.
    fn rw_want(&self, fd: Fd, write: bool, len: usize, off: i64, bad_buf: bool) -> Ret {
        // ksys_pread64(): a negative offset first; vfs_read()/vfs_write():
        // the access mode; then the driver.
        if off < 0 {
            return Err(libc::EINVAL);
        }
        let allowed = if write {
            fd.mode != libc::O_RDONLY
        } else {
            fd.mode != libc::O_WRONLY
        };
        if !allowed {
            return Err(libc::EBADF);
        }
        if len == 0 {
            return Ok(0);
        }
        let size = self.size as i64;
        if off >= size {
            return if write { Err(libc::ENOSPC) } else { Ok(0) };
        }
        if bad_buf {
            return Err(libc::EFAULT);
        }
        Ok(len.min((size - off) as usize) as i64)
    }

    fn rw(
        &mut self,
        k: usize,
        write: bool,
        positional: bool,
        len: usize,
        off: i64,
        bad_buf: bool,
    ) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        let fd = self.fds[i];
        let at = if positional { fd.pos } else { off };
        // read()/write() at the position: rw_verify_area() sees the same offset.
        let want = self.rw_want(fd, write, len, at, bad_buf);
        if self.scratch.len() < len {
            self.scratch.resize(len, 0);
        }
        self.counter = self.counter.wrapping_add(1);
        for (j, b) in self.scratch[..len].iter_mut().enumerate() {
            *b = (j as u8).wrapping_mul(3).wrapping_add(self.counter);
        }
        let buf = if bad_buf {
            0x10 as *mut libc::c_void
        } else {
            self.scratch.as_mut_ptr().cast()
        };
        // SAFETY: `buf` is either our scratch buffer of at least `len`
        // bytes or a bogus address the kernel must refuse with EFAULT.
        let n = unsafe {
            match (write, positional) {
                (true, false) => libc::pwrite(fd.raw, buf, len, off),
                (false, false) => libc::pread(fd.raw, buf, len, off),
                (true, true) => libc::write(fd.raw, buf, len),
                (false, true) => libc::read(fd.raw, buf, len),
            }
        };
        let got = ret_of(n);
        let call = match (write, positional) {
            (true, false) => "pwrite",
            (false, false) => "pread",
            (true, true) => "write",
            (false, true) => "read",
        };
        compare(&format!("{call} of {len} bytes at {at}"), got, want)?;
        if let Ok(n @ 1..) = got {
            let (from, n) = (at as usize, n as usize);
            if write {
                self.shadow[from..from + n].copy_from_slice(&self.scratch[..n]);
            } else if self.scratch[..n] != self.shadow[from..from + n] {
                let d = (0..n)
                    .find(|&j| self.scratch[j] != self.shadow[from + j])
                    .unwrap_or(0);
                return Err(format!(
                    "{call} at {at}: byte {} reads {:#04x}, the buffer holds {:#04x}",
                    from + d,
                    self.scratch[d],
                    self.shadow[from + d]
                ));
            }
            if positional {
                self.fds[i].pos += n as i64;
            }
        }
        Ok(Done::Syscall)
    }

    fn lseek(&mut self, k: usize, off: i64, whence: i32) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        let fd = self.fds[i];
        let size = self.size as i64;
        // fixed_size_llseek(): SET/CUR/END only; vfs_setpos(): 0..=size.
        let target = match whence {
            libc::SEEK_SET => Some(off),
            libc::SEEK_CUR => Some(fd.pos.wrapping_add(off)),
            libc::SEEK_END => Some(size.wrapping_add(off)),
            _ => None,
        };
        let want = match target {
            Some(t) if (0..=size).contains(&t) => Ok(t),
            _ => Err(libc::EINVAL),
        };
        // SAFETY: lseek on an fd we own.
        let got = unsafe { libc::lseek(fd.raw, off, whence) };
        let got = if got < 0 { Err(errno()) } else { Ok(got) };
        if let Ok(p) = got {
            self.fds[i].pos = p;
        }
        compare(
            &format!("lseek({off}, {whence}) from {}", fd.pos),
            got,
            want,
        )?;
        Ok(Done::Syscall)
    }

    fn ioctl(&mut self, k: usize, cmd: u32, arg: u64) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        // Numbers the VFS answers before the driver (do_vfs_ioctl()) are
        // not the device's contract: not sent.
        const VFS: [u32; 6] = [0x5450, 0x5451, 0x5421, 0x5452, 0x5460, 0x2];
        let ours = cmd == MAPDRV_IOC_GET_STATS || cmd == MAPDRV_IOC_EXERCISE;
        if VFS.contains(&cmd) || (!ours && (cmd >> 8) & 0xff == b'f' as u32) {
            return Ok(Done::Skipped);
        }
        let valid = arg == u64::MAX && cmd == MAPDRV_IOC_GET_STATS;
        if arg == u64::MAX && !valid {
            return Ok(Done::Skipped);
        }
        let mut stats = MapdrvStats::default();
        let ptr = if valid {
            &mut stats as *mut MapdrvStats as u64
        } else {
            arg
        };
        let want = if !ours || !self.device {
            Err(libc::ENOTTY)
        } else if valid {
            Ok(0)
        } else {
            Err(libc::EFAULT)
        };
        // SAFETY: the argument is a bogus address (the kernel must fail
        // with EFAULT) or `stats`, which GET_STATS fills.
        let got = ret_of(unsafe { libc::ioctl(self.fds[i].raw, cmd as _, ptr) } as isize);
        compare(&format!("ioctl({cmd:#x}, {arg:#x})"), got, want)?;
        if valid
            && got.is_ok()
            && (stats.version != MAPDRV_ABI_VERSION || stats.buffer_size != self.size)
        {
            return Err(format!(
                "GET_STATS: version {}, buffer_size {}",
                stats.version, stats.buffer_size
            ));
        }
        Ok(Done::Syscall)
    }

    /// What a forked child must see: each page of each live mapping
    /// present with the shadow's bytes (where readable), or absent where
    /// `MADV_DONTFORK` applied. The child exits with the first mismatch's
    /// code (2: a `DONTFORK` page present, 3: a page missing, 4: a byte
    /// differs).
    fn fork_child(&self) -> i32 {
        let ps = page_size();
        for m in self.maps.iter().filter(|m| !m.fork_unknown) {
            for p in 0..m.len.div_ceil(ps) {
                let addr = m.addr + p * ps;
                let mut v = 0u8;
                // SAFETY: mincore only reports on the range.
                let present = unsafe { libc::mincore(addr as *mut _, ps, &mut v) } == 0;
                if m.dontfork & (1u128 << p) != 0 {
                    if present {
                        return 2;
                    }
                    continue;
                }
                if !present {
                    return 3;
                }
                if m.prot & libc::PROT_READ == 0 {
                    continue;
                }
                for i in p * ps..((p + 1) * ps).min(m.len) {
                    // SAFETY: a readable page of a mapping the child inherited.
                    let got = unsafe { std::ptr::read_volatile((m.addr + i) as *const u8) };
                    if got != self.shadow[m.off + i] {
                        return 4;
                    }
                }
            }
        }
        0
    }

    fn fork(&mut self) -> Result<Done, String> {
        // SAFETY: the fuzzer's child is single-threaded (forked from
        // single-threaded `maptest`); the grandchild only reads its mappings
        // and `_exit`s.
        let pid = match unsafe { crate::fork::fork() }.map_err(|e| format!("fork: {e}"))? {
            crate::fork::Forked::Parent(pid) => pid,
            crate::fork::Forked::Child => {
                let code = self.fork_child();
                // SAFETY: leave without running the parent's destructors.
                unsafe { libc::_exit(code) };
            }
        };
        let mut status = 0;
        // SAFETY: waits for the child just forked.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            return Err(format!("waitpid: {}", io::Error::last_os_error()));
        }
        match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
            (true, 0) => Ok(Done::Syscall),
            (true, 2) => Err("fork: the child has a page MADV_DONTFORK kept out".into()),
            (true, 3) => Err("fork: a mapping's page is missing in the child".into()),
            (true, 4) => {
                Err("fork: a byte of a mapping differs in the child from the buffer".into())
            }
            _ => Err(format!("fork: the child ended with status {status:#x}")),
        }
    }

    fn touch(&mut self, k: usize, at: u64, write: bool) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let at = at as usize % m.len;
        let p = (m.addr + at) as *mut u8;
        let b = m.off + at;
        if write && m.prot & libc::PROT_WRITE != 0 {
            self.counter = self.counter.wrapping_add(1);
            // SAFETY: inside a live mapping we own with PROT_WRITE; the
            // contract says the store succeeds (else the child dies and
            // the driver reports it).
            unsafe { std::ptr::write_volatile(p, self.counter) };
            self.shadow[b] = self.counter;
        } else if !write && m.prot & libc::PROT_READ != 0 {
            // SAFETY: as above, a readable mapping.
            let got = unsafe { std::ptr::read_volatile(p) };
            if got != self.shadow[b] {
                return Err(format!(
                    "a load at buffer byte {b} reads {got:#04x}, the buffer holds {:#04x}",
                    self.shadow[b]
                ));
            }
        } else {
            return Ok(Done::Skipped);
        }
        Ok(Done::Access)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        for m in &self.maps {
            // SAFETY: mappings we own.
            unsafe { libc::munmap(m.addr as *mut _, m.len) };
        }
        for f in &self.fds {
            // SAFETY: fds we own.
            unsafe { libc::close(f.raw) };
        }
    }
}

/// Counts of what a run did, per `Done` kind.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Operations carried out so far (the index of the next one).
    pub index: u64,
    /// System calls made and checked.
    pub syscalls: u64,
    /// Loads and stores into mappings.
    pub accesses: u64,
    /// Operations with nothing live to act on.
    pub skipped: u64,
}

impl Tally {
    fn add(&mut self, d: Done) {
        match d {
            Done::Syscall => self.syscalls += 1,
            Done::Access => self.accesses += 1,
            Done::Skipped => self.skipped += 1,
        }
    }
}

/// Runs `ops` against `path` in this process, recording progress in
/// `tally`; `Err((index, what))` is the first violation.
pub fn run_ops(
    path: &str,
    size: u64,
    device: bool,
    ops: &[Op],
    tally: &mut Tally,
) -> Result<(), (u64, String)> {
    let mut model =
        Model::new(path, size, device).map_err(|e| (0, format!("setting up the model: {e}")))?;
    for (i, op) in ops.iter().enumerate() {
        tally.index = i as u64;
        let d = model.exec(*op).map_err(|what| (i as u64, what))?;
        tally.add(d);
    }
    tally.index = ops.len() as u64;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::ops::generate;

    /// A regular file of `pages` pages, for running the model against.
    fn file(name: &str, pages: u64) -> String {
        let path = std::env::temp_dir().join(format!("maptest-fuzz-{}-{name}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(pages * page_size() as u64).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// A regular file breaks the device's contract (it takes PROT_EXEC,
    /// writable private mappings, writes past the end...): the model must
    /// catch it on every seed, quickly.
    #[test]
    fn a_regular_file_breaks_the_contract() {
        let size = 8 * page_size() as u64;
        let path = file("plain", 8);
        for seed in 1..=20 {
            let mut t = Tally::default();
            let r = run_ops(&path, size, false, &generate(seed, 400, size), &mut t);
            assert!(r.is_err(), "seed {seed}: no violation found in {t:?}");
        }
        std::fs::remove_file(path).unwrap();
    }

    /// Data is checked both ways: a file whose bytes change behind the
    /// model's back (here: the file is bigger than the model believes, so
    /// a pread at the model's end returns data instead of 0 bytes, and a
    /// pwrite there succeeds instead of ENOSPC) fails.
    #[test]
    fn bytes_and_counts_are_checked() {
        let ps = page_size() as u64;
        let path = file("bigger", 4);
        let ops = [
            Op::Open {
                mode: libc::O_RDWR,
                extra: 0,
            },
            Op::Rw {
                fd: 0,
                write: true,
                positional: false,
                len: 16,
                off: (2 * ps) as i64,
                bad_buf: false,
            },
        ];
        let mut t = Tally::default();
        let r = run_ops(&path, 2 * ps, false, &ops, &mut t);
        assert!(
            matches!(&r, Err((1, w)) if w.contains("pwrite") && w.contains("ENOSPC")),
            "{r:?}"
        );
        // Bytes: the model's shadow says zeros; write something behind its back.
        std::fs::write(&path, [7u8; 64]).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(4 * ps).unwrap();
        let mut model = Model::new(&path, 4 * ps, false).unwrap();
        model
            .exec(Op::Open {
                mode: libc::O_RDWR,
                extra: 0,
            })
            .unwrap();
        use std::os::unix::fs::FileExt;
        f.write_at(&[9u8], 3).unwrap();
        let e = model
            .exec(Op::Rw {
                fd: 0,
                write: false,
                positional: false,
                len: 8,
                off: 0,
                bad_buf: false,
            })
            .unwrap_err();
        assert!(
            e.contains("byte 3 reads 0x09, the buffer holds 0x07"),
            "{e}"
        );
        std::fs::remove_file(path).unwrap();
    }
}
