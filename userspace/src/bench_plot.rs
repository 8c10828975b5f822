//! `maptest bench-plot ALLOC.json FAULT.json`: one SVG of both benchmark
//! sets, from their `--json` results (so it can be redrawn on the host
//! without rerunning anything).
//!
//! Top: every allocator's wrapper/raw ratio, median dot and p10..p90
//! whisker, against the 1.00 line and the 1.02 target. Bottom: first touch
//! per page for every mode, size and access, log scale, median bars with
//! p10..p90 whiskers, and the second touch (the page already mapped) as a
//! tick: the floor.

use crate::bench::spread;
use crate::json::{self, Value};
use std::fmt::Write;
use std::io;

const W: f64 = 960.0;
const COLORS: [&str; 10] = [
    "#d95f02", "#7570b3", "#fdae6b", "#1b9e77", "#a6d854", "#66c2a5", "#b3de69", "#e7298a",
    "#999999", "#e6ab02",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn load(path: &str) -> io::Result<Value> {
    let text = std::fs::read_to_string(path)?;
    json::parse(&text).map_err(|e| io::Error::other(format!("{path}: {e}")))
}

fn median_p10_p90(v: &[Value]) -> (f64, f64, f64) {
    spread(&v.iter().filter_map(Value::num).collect::<Vec<_>>())
}

/// The SVG for the two parsed result sets.
pub fn svg(alloc: &Value, fault: &Value) -> Result<String, String> {
    let mut o = String::new();
    let cases = alloc.get("cases").ok_or("alloc JSON: no \"cases\"")?.arr();
    let samples = fault
        .get("samples")
        .ok_or("fault JSON: no \"samples\"")?
        .arr();
    let modes: Vec<&str> = fault
        .get("modes")
        .ok_or("fault JSON: no \"modes\"")?
        .arr()
        .iter()
        .filter_map(Value::str)
        .collect();
    let row = 20.0;
    let top_h = 90.0 + row * cases.len() as f64;
    let bot_y = top_h + 30.0;
    let bot_h = 380.0;
    let h = bot_y + bot_h + 60.0;
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="{W}" height="{h}" fill="white"/>"#);

    // --- Top: wrapper / raw ratios. ---
    let rounds = alloc.get("rounds").and_then(Value::num).unwrap_or(0.0);
    let iters = alloc.get("iterations").and_then(Value::num).unwrap_or(0.0);
    let _ = writeln!(
        o,
        r##"<text x="10" y="22" font-size="15" font-weight="bold">Safe wrapper / raw C call, time per alloc+free pair</text><text x="10" y="38" fill="#555">median (dot, value) and p10..p90 (whisker) of the per-round ratios; {rounds} interleaved rounds x {iters} pairs</text>"##
    );
    let ratio = |c: &Value, k: &str| c.get(k).and_then(Value::num).unwrap_or(f64::NAN);
    let lo = cases
        .iter()
        .map(|c| ratio(c, "ratio_p10"))
        .fold(0.95, f64::min)
        .max(0.5);
    let hi = cases
        .iter()
        .map(|c| ratio(c, "ratio_p90"))
        .fold(1.08, f64::max)
        .min(2.0);
    let (x0, x1) = (250.0, W - 30.0);
    let x = |r: f64| x0 + (r - lo) / (hi - lo) * (x1 - x0);
    let y0 = 66.0;
    for (tick, label) in [(1.0, "1.00"), (1.02, "1.02 target")] {
        let dash = if tick == 1.0 {
            ""
        } else {
            r#" stroke-dasharray="4 3""#
        };
        let color = if tick == 1.0 { "#555" } else { "#c00" };
        let anchor = if tick == 1.0 { "end" } else { "start" };
        let _ = writeln!(
            o,
            r#"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="{color}"{dash}/><text x="{0:.1}" y="{3}" text-anchor="{anchor}" fill="{color}">{label}</text>"#,
            x(tick),
            y0 - 8.0,
            y0 + row * cases.len() as f64,
            y0 - 12.0
        );
    }
    for t in [lo, hi] {
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#777">{t:.2}</text>"##,
            x(t),
            y0 + row * cases.len() as f64 + 14.0
        );
    }
    for (i, c) in cases.iter().enumerate() {
        let y = y0 + row * (i as f64 + 0.5);
        let name = c.get("case").and_then(Value::str).unwrap_or("?");
        let (m, p10, p90) = (
            ratio(c, "ratio_median"),
            ratio(c, "ratio_p10"),
            ratio(c, "ratio_p90"),
        );
        let color = if m <= 1.02 { "#1b9e77" } else { "#d95f02" };
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2"/><circle cx="{:.1}" cy="{y:.1}" r="4.5" fill="{color}"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{color}">{m:.3}</text>"#,
            x0 - 60.0,
            y + 4.0,
            esc(name),
            x(p10.max(lo)),
            x(p90.min(hi)),
            x(m.clamp(lo, hi)),
            x0 - 10.0,
            y + 4.0
        );
    }

    // --- Bottom: first touch per page. ---
    let frounds = fault.get("rounds").and_then(Value::num).unwrap_or(0.0);
    let _ = writeln!(
        o,
        r##"<text x="10" y="{:.1}" font-size="15" font-weight="bold">First touch of every page of a mapping, ns per page (log scale)</text><text x="10" y="{:.1}" fill="#555">median (bar, value) and p10..p90 (whisker) of {frounds} interleaved rounds; mmap included; dashed: the second touch</text>"##,
        bot_y,
        bot_y + 16.0
    );
    // Groups: (size, access) in sample order.
    let mut groups: Vec<(f64, String)> = Vec::new();
    for s in samples {
        let key = (
            s.get("size_mib").and_then(Value::num).unwrap_or(0.0),
            s.get("access")
                .and_then(Value::str)
                .unwrap_or("?")
                .to_owned(),
        );
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    let find = |mode: &str, g: &(f64, String)| {
        samples.iter().find(|s| {
            s.get("mode").and_then(Value::str) == Some(mode)
                && s.get("size_mib").and_then(Value::num) == Some(g.0)
                && s.get("access").and_then(Value::str) == Some(g.1.as_str())
        })
    };
    let all: Vec<f64> = samples
        .iter()
        .flat_map(|s| {
            s.get("first_ns")
                .map(Value::arr)
                .unwrap_or(&[])
                .iter()
                .chain(s.get("second_ns").map(Value::arr).unwrap_or(&[]))
                .filter_map(Value::num)
        })
        .filter(|v| *v > 0.0)
        .collect();
    let vmax = all.iter().copied().fold(10.0, f64::max) * 1.5;
    let vmin = all.iter().copied().fold(vmax, f64::min).max(0.1) / 1.5;
    let (py0, py1) = (bot_y + 60.0, bot_y + bot_h - 40.0);
    let y = |v: f64| py1 - (v.max(vmin).ln() - vmin.ln()) / (vmax.ln() - vmin.ln()) * (py1 - py0);
    let (gx0, gx1) = (70.0, W - 20.0);
    // Decade grid.
    let mut d = 10f64.powf(vmin.log10().floor());
    while d <= vmax {
        if d >= vmin {
            let _ = writeln!(
                o,
                r##"<line x1="{gx0}" y1="{0:.1}" x2="{gx1}" y2="{0:.1}" stroke="#ddd"/><text x="{1}" y="{2:.1}" text-anchor="end" fill="#555">{d} ns</text>"##,
                y(d),
                gx0 - 6.0,
                y(d) + 4.0
            );
        }
        d *= 10.0;
    }
    let gw = (gx1 - gx0) / groups.len().max(1) as f64;
    let bw = gw * 0.8 / modes.len().max(1) as f64;
    for (gi, g) in groups.iter().enumerate() {
        let gx = gx0 + gw * gi as f64 + gw * 0.1;
        for (mi, mode) in modes.iter().enumerate() {
            let Some(s) = find(mode, g) else { continue };
            let (m, p10, p90) = median_p10_p90(s.get("first_ns").map(Value::arr).unwrap_or(&[]));
            let bx = gx + bw * mi as f64;
            let color = COLORS[mi % COLORS.len()];
            let (ym, wx, y10, y90) = (y(m), bx + bw / 2.0 - 1.0, y(p10), y(p90));
            let (bwid, bh, label) = (bw - 2.0, py1 - y(m), esc(mode));
            let (mib, acc) = (g.0, &g.1);
            let _ = writeln!(
                o,
                r#"<rect x="{bx:.1}" y="{ym:.1}" width="{bwid:.1}" height="{bh:.1}" fill="{color}"><title>{label} {mib} MiB {acc}: {m:.0} ns/page (p10 {p10:.0}, p90 {p90:.0})</title></rect><line x1="{wx:.1}" y1="{y10:.1}" x2="{wx:.1}" y2="{y90:.1}" stroke="black"/>"#
            );
            let _ = writeln!(
                o,
                r#"<text transform="translate({:.1},{:.1}) rotate(-90)" font-size="9">{m:.0}</text>"#,
                bx + bw / 2.0 + 2.0,
                y(p90) - 3.0
            );
        }
        // The floor: the second touch through mapdrv's default mode.
        if let Some(s) = find(modes.first().copied().unwrap_or("rust"), g) {
            let (m, _, _) = median_p10_p90(s.get("second_ns").map(Value::arr).unwrap_or(&[]));
            let _ = writeln!(
                o,
                r#"<line x1="{gx:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="black" stroke-width="2" stroke-dasharray="6 3"><title>second touch: {m:.1} ns/page</title></line>"#,
                y(m),
                gx + bw * modes.len() as f64
            );
        }
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{} MiB {}</text>"#,
            gx + bw * modes.len() as f64 / 2.0,
            py1 + 16.0,
            g.0,
            esc(&g.1)
        );
    }
    // Legend.
    let names = |m: &str| match m {
        "rust" => "mapdrv (Rust), one page per fault".to_owned(),
        "c-ref" => "C reference, one page per fault".to_owned(),
        "eager" => "mapdrv eager (remap_vmalloc_range)".to_owned(),
        "anon" => "anonymous memory".to_owned(),
        other => match other.strip_prefix("around-") {
            Some(n) => format!("mapdrv fault-around, {n} pages"),
            None => other.to_owned(),
        },
    };
    let mut ly = py1 + 34.0;
    let mut lx = gx0;
    for (mi, mode) in modes.iter().enumerate() {
        let label = names(mode);
        let lw = 14.0 + 7.0 * label.len() as f64 + 14.0;
        if lx + lw > W - 10.0 {
            lx = gx0;
            ly += 16.0;
        }
        let _ = writeln!(
            o,
            r#"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="{}"/><text x="{:.1}" y="{ly:.1}">{}</text>"#,
            ly - 9.0,
            COLORS[mi % COLORS.len()],
            lx + 14.0,
            esc(&label)
        );
        lx += lw;
    }
    let _ = writeln!(
        o,
        r#"<line x1="{gx0}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="black" stroke-width="2" stroke-dasharray="6 3"/><text x="{2}" y="{3:.1}">second touch (page already mapped)</text>"#,
        ly + 13.0,
        gx0 + 30.0,
        gx0 + 36.0,
        ly + 17.0
    );
    o.push_str("</svg>\n");
    Ok(o)
}

/// `maptest bench-plot ALLOC.json FAULT.json`.
pub fn run(alloc: &str, fault: &str) -> io::Result<bool> {
    let s = svg(&load(alloc)?, &load(fault)?).map_err(io::Error::other)?;
    print!("{s}");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_panels() {
        let alloc = json::parse(
            r#"{"rounds":3,"iterations":10,"cases":[{"case":"kmalloc 64 B","ratio_median":1.01,"ratio_p10":0.99,"ratio_p90":1.03}]}"#,
        )
        .unwrap();
        let fault = json::parse(
            r#"{"rounds":3,"fault_around_pages":[16],"modes":["rust","anon"],"samples":[
            {"mode":"rust","size_mib":4,"access":"read","first_ns":[900,1000,1100],"second_ns":[5,6,7]},
            {"mode":"anon","size_mib":4,"access":"read","first_ns":[300,310,320],"second_ns":[5,5,5]}]}"#,
        )
        .unwrap();
        let s = svg(&alloc, &fault).unwrap();
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("kmalloc 64 B") && s.contains("1.010"));
        assert!(s.contains("rust 4 MiB read: 1000 ns/page"));
        assert!(s.contains("second touch: 6.0 ns/page"));
        assert!(svg(&fault, &alloc).is_err());
    }
}
