//! Contents checks: every page of the buffer gets a pattern of its own,
//! written through one path (stores into a mapping, `pwrite`, `write`) and
//! read back through every other (loads from a fresh mapping, an offset
//! mapping, a read-only `MAP_PRIVATE` mapping, `pread`, `read`). A fault
//! handler that serves the wrong page, a window that maps its pages shifted,
//! a `pwrite` that lands in another page or an off-by-one at the end shows
//! up as a named page and byte.
//!
//! The checks need only a file that behaves like the device's data
//! contract, so `cargo test` runs them against a regular file (where they
//! pass) and against one that breaks the contract (where they must fail).

use crate::device::{self, Mapping};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// One check's name and result.
pub type Named = (String, Result<(), String>);

/// The bytes of page `p` in pattern generation `generation`: a header that
/// names the generation and the page, a fill byte that differs from page to
/// page, and the page number again in the last eight bytes, so a shifted or
/// swapped page, or a shift inside a page, never matches.
pub fn page_image(generation: u8, p: usize, ps: usize) -> Vec<u8> {
    let fill = (p as u8)
        .wrapping_mul(31)
        .wrapping_add(generation.wrapping_mul(97))
        | 1;
    let mut page = vec![fill; ps];
    page[..4].copy_from_slice(b"MDPG");
    page[4] = generation;
    page[8..16].copy_from_slice(&(p as u64).to_le_bytes());
    page[ps - 8..].copy_from_slice(&(!(p as u64)).to_le_bytes());
    page
}

/// Pages `from..to` of generation `generation`, back to back.
pub fn image(generation: u8, from: usize, to: usize, ps: usize) -> Vec<u8> {
    (from..to)
        .flat_map(|p| page_image(generation, p, ps))
        .collect()
}

/// `Ok` if `got` is `want`; else names the first differing page and byte
/// (`first_page` is the page number of `want[0]`).
pub fn same(
    what: &str,
    got: &[u8],
    want: &[u8],
    first_page: usize,
    ps: usize,
) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(i) => Err(format!(
            "{what}: page {} byte {}: got {:#04x}, want {:#04x}",
            first_page + i / ps,
            i % ps,
            got[i],
            want[i]
        )),
        None => Err(format!("{what}: {} bytes, want {}", got.len(), want.len())),
    }
}

fn io(e: io::Error) -> String {
    e.to_string()
}

/// The page offsets at which offset mappings are checked: every page of a
/// small buffer, about 64 spread over a large one, always the last.
fn offsets(pages: usize) -> Vec<usize> {
    let step = pages.div_ceil(64).max(1);
    let mut v: Vec<usize> = (0..pages).step_by(step).collect();
    if v.last() != Some(&(pages - 1)) {
        v.push(pages - 1);
    }
    v
}

/// At most this many pages per offset mapping (not a multiple of any
/// power-of-two fault-around window, so clipping at the VMA's end is hit).
const OFFSET_MAP_PAGES: usize = 70;

/// What the contents checks work on.
struct Target<'a> {
    /// The device, open read-write.
    file: &'a File,
    /// Its path, opened again read-only for `read()` and `MAP_PRIVATE`.
    path: &'a str,
    pages: usize,
    ps: usize,
    size: usize,
    /// A read-write shared mapping of the whole buffer, made first.
    whole: std::io::Result<Mapping>,
}

/// A named contents check.
type Check = (&'static str, fn(&Target<'_>) -> Result<(), String>);

/// The contents checks, in order: each writes a pattern generation one
/// way and reads it back others.
const CHECKS: &[Check] = &[
    ("contents: every page stored through a whole mapping reads back with pread and read()", stores_through_mapping),
    ("contents: pwrite of every page (last first) reads back through a fresh mapping and offset MAP_PRIVATE mappings", pwrite_last_first),
    ("contents: write() in 1000-byte chunks reads back through an existing mapping and pread", write_chunks),
    ("contents: stores through offset shared mappings land in their pages (pread of the whole buffer)", offset_stores),
];

/// Runs the contents checks on `file` (open read-write) of `pages` pages;
/// `path` is opened again read-only for the `read()` and `MAP_PRIVATE`
/// checks. Leaves the buffer holding pattern generation 4.
pub fn run(file: &File, path: &str, pages: usize, ps: usize) -> Vec<Named> {
    let size = pages * ps;
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    let whole = Mapping::new(file, size, rw, libc::MAP_SHARED, 0);
    let t = Target {
        file,
        path,
        pages,
        ps,
        size,
        whole,
    };
    CHECKS
        .iter()
        .map(|(name, check)| ((*name).to_owned(), check(&t)))
        .collect()
}

/// Stores into a whole mapping, read back with pread and read().
fn stores_through_mapping(t: &Target<'_>) -> Result<(), String> {
    let (file, path, pages, ps, size) = (t.file, t.path, t.pages, t.ps, t.size);
    let m = t.whole.as_ref().map_err(|e| format!("mmap: {e}"))?;
    let want = image(1, 0, pages, ps);
    m.write_at(0, &want);
    same(
        "pread",
        &device::pread(file, size, 0).map_err(io)?,
        &want,
        0,
        ps,
    )?;
    let mut got = Vec::new();
    File::open(path)
        .map_err(io)?
        .read_to_end(&mut got)
        .map_err(io)?;
    same("read() to EOF", &got, &want, 0, ps)
}

/// pwrite of every page, last to first; a fresh mapping (new faults)
//    and read-only private mappings at many offsets read it back.
fn pwrite_last_first(t: &Target<'_>) -> Result<(), String> {
    let (file, path, pages, ps, size) = (t.file, t.path, t.pages, t.ps, t.size);
    for p in (0..pages).rev() {
        let n = device::pwrite(file, &page_image(2, p, ps), (p * ps) as u64).map_err(io)?;
        if n != ps {
            return Err(format!("pwrite of page {p} wrote {n} bytes"));
        }
    }
    let fresh = Mapping::new(file, size, libc::PROT_READ, libc::MAP_SHARED, 0)
        .map_err(|e| format!("mmap: {e}"))?;
    same(
        "fresh mapping",
        &fresh.read_at(0, size),
        &image(2, 0, pages, ps),
        0,
        ps,
    )?;
    let ro = File::open(path).map_err(io)?;
    for o in offsets(pages) {
        let n = (pages - o).min(OFFSET_MAP_PAGES);
        let m = Mapping::new(&ro, n * ps, libc::PROT_READ, libc::MAP_PRIVATE, o * ps)
            .map_err(|e| format!("mmap at page {o}: {e}"))?;
        same(
            &format!("MAP_PRIVATE mapping at page {o}"),
            &m.read_at(0, n * ps),
            &image(2, o, o + n, ps),
            o,
            ps,
        )?;
    }
    Ok(())
}

/// write() in chunks that straddle pages; the old mapping (pages
//    already mapped) and pread see it.
fn write_chunks(t: &Target<'_>) -> Result<(), String> {
    let (file, pages, ps, size) = (t.file, t.pages, t.ps, t.size);
    let m = t.whole.as_ref().map_err(|e| format!("mmap: {e}"))?;
    let want = image(3, 0, pages, ps);
    let mut f = file;
    f.seek(SeekFrom::Start(0)).map_err(io)?;
    for chunk in want.chunks(1000) {
        let n = f.write(chunk).map_err(io)?;
        if n != chunk.len() {
            return Err(format!("write() of {} bytes wrote {n}", chunk.len()));
        }
    }
    same("existing mapping", &m.read_at(0, size), &want, 0, ps)?;
    same(
        "pread",
        &device::pread(file, size, 0).map_err(io)?,
        &want,
        0,
        ps,
    )
}

/// Stores through shared mappings at offsets land in their own pages.
fn offset_stores(t: &Target<'_>) -> Result<(), String> {
    let (file, pages, ps, size) = (t.file, t.pages, t.ps, t.size);
    let mut want = image(3, 0, pages, ps);
    for o in offsets(pages) {
        let n = (pages - o).min(OFFSET_MAP_PAGES);
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        let m = Mapping::new(file, n * ps, rw, libc::MAP_SHARED, o * ps)
            .map_err(|e| format!("mmap at page {o}: {e}"))?;
        let part = image(4, o, o + n, ps);
        m.write_at(0, &part);
        want[o * ps..(o + n) * ps].copy_from_slice(&part);
    }
    same(
        "pread",
        &device::pread(file, size, 0).map_err(io)?,
        &want,
        0,
        ps,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

    fn temp(name: &str, pages: usize) -> String {
        let path = std::env::temp_dir().join(format!("maptest-{}-{name}", std::process::id()));
        let f = File::create(&path).unwrap();
        f.set_len((pages * device::page_size()) as u64).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn images_differ_per_page_and_generation() {
        let ps = device::page_size();
        assert_ne!(page_image(1, 0, ps), page_image(1, 1, ps));
        assert_ne!(page_image(1, 256, ps), page_image(1, 0, ps));
        assert_ne!(page_image(1, 3, ps), page_image(2, 3, ps));
    }

    #[test]
    fn a_file_that_keeps_the_contract_passes() {
        for pages in [1, 3, 37] {
            let path = temp(&format!("good{pages}"), pages);
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            for (name, r) in run(&f, &path, pages, device::page_size()) {
                assert!(r.is_ok(), "{name}: {r:?}");
            }
            std::fs::remove_file(path).unwrap();
        }
    }

    #[test]
    fn writes_that_land_elsewhere_fail() {
        // O_APPEND: Linux's pwrite() ignores the offset and appends, the
        // way a driver that writes to the wrong page would.
        let pages = 3;
        let path = temp("append", pages);
        let f = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .custom_flags(0)
            .open(&path)
            .unwrap();
        let res = run(&f, &path, pages, device::page_size());
        let failed: Vec<_> = res.iter().filter(|(_, r)| r.is_err()).collect();
        assert!(
            failed
                .iter()
                .any(|(n, _)| n.contains("pwrite of every page")),
            "{res:?}"
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_wrong_page_is_named() {
        let ps = device::page_size();
        let mut got = image(1, 0, 4, ps);
        let want = got.clone();
        got[2 * ps + 9] ^= 1;
        let e = same("x", &got, &want, 10, ps).unwrap_err();
        assert!(e.contains("page 12 byte 9"), "{e}");
    }
}
