//! Talking to `/dev/mapdrv`: open, map, read.

use crate::cli::Options;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// A read-only shared mapping of a file, unmapped on drop.
pub struct Mapping {
    addr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of `file` at offset 0 with `prot` and `flags`.
    pub fn new(file: &File, len: usize, prot: i32, flags: i32) -> io::Result<Self> {
        // SAFETY: a fresh mapping chosen by the kernel (addr NULL) aliases no
        // Rust object; the fd is valid for the duration of the call.
        let addr =
            unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, file.as_raw_fd(), 0) };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { addr, len })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `addr..addr+len` is mapped readable for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.addr.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `addr`/`len` describe a mapping this value owns.
        unsafe { libc::munmap(self.addr, self.len) };
    }
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

/// `maptest read`: the classic mapdrv demo.
pub fn read(opts: &Options) -> io::Result<()> {
    let file = File::open(&opts.device)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", opts.device)))?;
    let map = Mapping::new(&file, page_size(), libc::PROT_READ, libc::MAP_PRIVATE)
        .map_err(|e| io::Error::new(e.kind(), format!("mmap {}: {e}", opts.device)))?;
    let s = c_string(map.bytes());
    if opts.json {
        println!(
            "{{\"device\":\"{}\",\"string\":\"{}\"}}",
            opts.device,
            s.escape_default()
        );
    } else {
        println!("{}: the kernel's buffer reads \"{}\"", opts.device, s);
    }
    Ok(())
}

/// `maptest info`: the running kernel and whether the device node exists.
pub fn info(opts: &Options) -> io::Result<()> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let present = std::path::Path::new(&opts.device).exists();
    if opts.json {
        println!(
            "{{\"kernel\":\"{release}\",\"device\":\"{}\",\"present\":{present},\"page_size\":{}}}",
            opts.device,
            page_size()
        );
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
    fn maps_a_regular_file() {
        let path = std::env::temp_dir().join(format!("maptest-{}", std::process::id()));
        std::fs::write(&path, b"hello\0world").unwrap();
        let f = File::open(&path).unwrap();
        let m = Mapping::new(&f, 11, libc::PROT_READ, libc::MAP_PRIVATE).unwrap();
        assert_eq!(c_string(m.bytes()), "hello");
        std::fs::remove_file(&path).unwrap();
    }
}
