//! `maptest bench-plot ALLOC.json FAULT.json`: one SVG of both benchmark
//! sets, from their `--json` results (so it can be redrawn on the host
//! without rerunning anything).
//!
//! Top: every allocator's wrapper/raw ratio, median dot and p10..p90
//! whisker, against the 1.00 line and the 1.02 target. Bottom: first touch
//! per page for every mode, size and access, log scale, median bars with
//! p10..p90 whiskers, and the second touch (the page already mapped) as a
//! tick: the floor.

use crate::bench::{spread, AllocResult};
use crate::bench_fault::{FaultResult, SampleRow};
use anyhow::Context;
use serde::de::DeserializeOwned;
use std::fmt::Write;

const W: f64 = 960.0;
const COLORS: [&str; 10] = [
    "#d95f02", "#7570b3", "#fdae6b", "#1b9e77", "#a6d854", "#66c2a5", "#b3de69", "#e7298a",
    "#999999", "#e6ab02",
];
/// The height of one case's row in the top panel.
const ROW: f64 = 20.0;
/// The height of the bottom panel.
const BOT_H: f64 = 380.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn load<T: DeserializeOwned>(path: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {path}"))
}

/// The SVG for the two result sets.
pub fn svg(alloc: &AllocResult, fault: &FaultResult) -> String {
    let mut o = String::new();
    let top_h = 90.0 + ROW * alloc.cases.len() as f64;
    let bot_y = top_h + 30.0;
    let h = bot_y + BOT_H + 60.0;
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="{W}" height="{h}" fill="white"/>"#);
    ratios_panel(&mut o, alloc);
    let plot = FaultPlot::new(fault, bot_y);
    plot.title(&mut o);
    plot.grid(&mut o);
    for (gi, g) in plot.groups.iter().enumerate() {
        plot.group(&mut o, gi, g);
    }
    plot.legend(&mut o);
    o.push_str("</svg>\n");
    o
}

/// Top: every allocator's wrapper/raw ratio, median dot and p10..p90
/// whisker, against the 1.00 line and the 1.02 target.
fn ratios_panel(o: &mut String, alloc: &AllocResult) {
    let n = alloc.cases.len() as f64;
    let _ = writeln!(
        o,
        r##"<text x="10" y="22" font-size="15" font-weight="bold">Safe wrapper / raw C call, time per alloc+free pair</text><text x="10" y="38" fill="#555">median (dot, value) and p10..p90 (whisker) of the per-round ratios; {} interleaved rounds x {} pairs</text>"##,
        alloc.rounds, alloc.iterations
    );
    let lo = alloc
        .cases
        .iter()
        .map(|c| c.ratio.ratio_p10)
        .fold(0.95, f64::min)
        .max(0.5);
    let hi = alloc
        .cases
        .iter()
        .map(|c| c.ratio.ratio_p90)
        .fold(1.08, f64::max)
        .min(2.0);
    let (x0, x1) = (250.0, W - 30.0);
    let x = |r: f64| x0 + (r - lo) / (hi - lo) * (x1 - x0);
    let y0 = 66.0;
    for (tick, label, color, dash, anchor) in [
        (1.0, "1.00", "#555", "", "end"),
        (
            1.02,
            "1.02 target",
            "#c00",
            r#" stroke-dasharray="4 3""#,
            "start",
        ),
    ] {
        let _ = writeln!(
            o,
            r#"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="{color}"{dash}/><text x="{0:.1}" y="{3}" text-anchor="{anchor}" fill="{color}">{label}</text>"#,
            x(tick),
            y0 - 8.0,
            y0 + ROW * n,
            y0 - 12.0
        );
    }
    for t in [lo, hi] {
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#777">{t:.2}</text>"##,
            x(t),
            y0 + ROW * n + 14.0
        );
    }
    for (i, c) in alloc.cases.iter().enumerate() {
        let y = y0 + ROW * (i as f64 + 0.5);
        let q = c.ratio;
        let m = q.ratio_median;
        let color = if m <= 1.02 { "#1b9e77" } else { "#d95f02" };
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2"/><circle cx="{:.1}" cy="{y:.1}" r="4.5" fill="{color}"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{color}">{m:.3}</text>"#,
            x0 - 60.0,
            y + 4.0,
            esc(&c.case),
            x(q.ratio_p10.max(lo)),
            x(q.ratio_p90.min(hi)),
            x(m.clamp(lo, hi)),
            x0 - 10.0,
            y + 4.0
        );
    }
}

/// Bottom: first touch per page for every mode, size and access, log
/// scale, median bars with p10..p90 whiskers, and the second touch (the
/// page already mapped) as a dashed line: the floor.
struct FaultPlot<'a> {
    fault: &'a FaultResult,
    /// (size, access) in sample order.
    groups: Vec<(u64, String)>,
    bot_y: f64,
    vmin: f64,
    vmax: f64,
    /// The plot's top and bottom.
    py: (f64, f64),
    /// The plot's left and right.
    gx: (f64, f64),
}

impl<'a> FaultPlot<'a> {
    fn new(fault: &'a FaultResult, bot_y: f64) -> Self {
        let mut groups: Vec<(u64, String)> = Vec::new();
        for s in &fault.samples {
            let key = (s.size_mib, s.access.clone());
            if !groups.contains(&key) {
                groups.push(key);
            }
        }
        let all: Vec<f64> = fault
            .samples
            .iter()
            .flat_map(|s| s.first_ns.iter().chain(&s.second_ns).copied())
            .filter(|v| *v > 0.0)
            .collect();
        let vmax = all.iter().copied().fold(10.0, f64::max) * 1.5;
        let vmin = all.iter().copied().fold(vmax, f64::min).max(0.1) / 1.5;
        FaultPlot {
            fault,
            groups,
            bot_y,
            vmin,
            vmax,
            py: (bot_y + 60.0, bot_y + BOT_H - 40.0),
            gx: (70.0, W - 20.0),
        }
    }

    /// The y of value `v` (log scale).
    fn y(&self, v: f64) -> f64 {
        let (py0, py1) = self.py;
        let (lo, hi) = (self.vmin.ln(), self.vmax.ln());
        py1 - (v.max(self.vmin).ln() - lo) / (hi - lo) * (py1 - py0)
    }

    fn find(&self, mode: &str, g: &(u64, String)) -> Option<&'a SampleRow> {
        self.fault
            .samples
            .iter()
            .find(|s| s.mode == mode && s.size_mib == g.0 && s.access == g.1)
    }

    /// The width of one bar.
    fn bar_width(&self) -> f64 {
        let gw = (self.gx.1 - self.gx.0) / self.groups.len().max(1) as f64;
        gw * 0.8 / self.fault.modes.len().max(1) as f64
    }

    fn title(&self, o: &mut String) {
        let _ = writeln!(
            o,
            r##"<text x="10" y="{:.1}" font-size="15" font-weight="bold">First touch of every page of a mapping, ns per page (log scale)</text><text x="10" y="{:.1}" fill="#555">median (bar, value) and p10..p90 (whisker) of {} interleaved rounds; mmap included; dashed: the second touch</text>"##,
            self.bot_y,
            self.bot_y + 16.0,
            self.fault.rounds
        );
    }

    /// The decade grid.
    fn grid(&self, o: &mut String) {
        let (gx0, gx1) = self.gx;
        let mut d = 10f64.powf(self.vmin.log10().floor());
        while d <= self.vmax {
            if d >= self.vmin {
                let _ = writeln!(
                    o,
                    r##"<line x1="{gx0}" y1="{0:.1}" x2="{gx1}" y2="{0:.1}" stroke="#ddd"/><text x="{1}" y="{2:.1}" text-anchor="end" fill="#555">{d} ns</text>"##,
                    self.y(d),
                    gx0 - 6.0,
                    self.y(d) + 4.0
                );
            }
            d *= 10.0;
        }
    }

    /// One (size, access) group: a bar per mode and the floor.
    fn group(&self, o: &mut String, gi: usize, g: &(u64, String)) {
        let gw = (self.gx.1 - self.gx.0) / self.groups.len().max(1) as f64;
        let gx = self.gx.0 + gw * gi as f64 + gw * 0.1;
        let bw = self.bar_width();
        let py1 = self.py.1;
        for (mi, mode) in self.fault.modes.iter().enumerate() {
            let Some(s) = self.find(mode, g) else {
                continue;
            };
            let (m, p10, p90) = spread(&s.first_ns);
            let bx = gx + bw * mi as f64;
            let color = COLORS[mi % COLORS.len()];
            let (ym, wx, y10, y90) = (self.y(m), bx + bw / 2.0 - 1.0, self.y(p10), self.y(p90));
            let (bwid, bh, label) = (bw - 2.0, py1 - ym, esc(mode));
            let (mib, acc) = (g.0, &g.1);
            let _ = writeln!(
                o,
                r#"<rect x="{bx:.1}" y="{ym:.1}" width="{bwid:.1}" height="{bh:.1}" fill="{color}"><title>{label} {mib} MiB {acc}: {m:.0} ns/page (p10 {p10:.0}, p90 {p90:.0})</title></rect><line x1="{wx:.1}" y1="{y10:.1}" x2="{wx:.1}" y2="{y90:.1}" stroke="black"/>"#
            );
            let _ = writeln!(
                o,
                r#"<text transform="translate({:.1},{:.1}) rotate(-90)" font-size="9">{m:.0}</text>"#,
                bx + bw / 2.0 + 2.0,
                y90 - 3.0
            );
        }
        let width = bw * self.fault.modes.len() as f64;
        // The floor: the second touch through the first mode.
        if let Some(s) = self.fault.modes.first().and_then(|m| self.find(m, g)) {
            let (m, _, _) = spread(&s.second_ns);
            let _ = writeln!(
                o,
                r#"<line x1="{gx:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="black" stroke-width="2" stroke-dasharray="6 3"><title>second touch: {m:.1} ns/page</title></line>"#,
                self.y(m),
                gx + width
            );
        }
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{} MiB {}</text>"#,
            gx + width / 2.0,
            py1 + 16.0,
            g.0,
            esc(&g.1)
        );
    }

    /// The legend: one swatch per mode, and the floor's dash.
    fn legend(&self, o: &mut String) {
        let gx0 = self.gx.0;
        let mut ly = self.py.1 + 34.0;
        let mut lx = gx0;
        for (mi, mode) in self.fault.modes.iter().enumerate() {
            let label = legend_name(mode);
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
    }
}

/// What a mode's name means, for the legend.
fn legend_name(mode: &str) -> String {
    match mode {
        "fault" => "mapdrv (Rust), one page per fault".to_owned(),
        "c-ref" => "C reference, one page per fault".to_owned(),
        "eager" => "mapdrv eager (remap_vmalloc_range)".to_owned(),
        "anon" => "anonymous memory".to_owned(),
        other => match other.strip_prefix("fault-around-") {
            Some("1") => "mapdrv fault-around, 1 page".to_owned(),
            Some(n) => format!("mapdrv fault-around, {n} pages"),
            None => other.to_owned(),
        },
    }
}

/// `maptest bench-plot ALLOC.json FAULT.json`.
pub fn run(alloc: &str, fault: &str) -> anyhow::Result<bool> {
    print!("{}", svg(&load(alloc)?, &load(fault)?));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_panels() {
        let alloc: AllocResult = serde_json::from_str(
            r#"{"rounds":3,"iterations":10,"cases":[{"case":"kmalloc 64 B","ratio_median":1.01,"ratio_p10":0.99,"ratio_p90":1.03}]}"#,
        )
        .unwrap();
        let fault: FaultResult = serde_json::from_str(
            r#"{"rounds":3,"fault_around_pages":[16],"modes":["fault","anon"],"samples":[
            {"mode":"fault","size_mib":4,"access":"read","first_ns":[900,1000,1100],"second_ns":[5,6,7]},
            {"mode":"anon","size_mib":4,"access":"read","first_ns":[300,310,320],"second_ns":[5,5,5]}]}"#,
        )
        .unwrap();
        let s = svg(&alloc, &fault);
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("kmalloc 64 B") && s.contains("1.010"));
        assert!(s.contains("fault 4 MiB read: 1000 ns/page"));
        assert!(s.contains("second touch: 6.0 ns/page"));
        assert!(serde_json::from_str::<AllocResult>(r#"{"rounds":3}"#).is_err());
    }

    #[test]
    fn reads_the_published_results() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/perf");
        let alloc: AllocResult = load(&format!("{dir}/alloc.json")).unwrap();
        let fault: FaultResult = load(&format!("{dir}/fault.json")).unwrap();
        assert_eq!(alloc.cases.len(), crate::abi::BenchCase::ALL.len());
        assert!(svg(&alloc, &fault).contains("fault-around"));
    }
}
