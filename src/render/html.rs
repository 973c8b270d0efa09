//! Self-contained HTML pages: inline CSS and SVG, no script, no network. A page can be attached
//! to a CI run or an issue and opened offline years later.

use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values: the XML escaping of the JUnit
/// writer serves HTML too, control characters dropped.
pub use super::junit::escape;

const STYLE: &str = "
body{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;max-width:980px;color:#1f2328;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
.meta{color:#59636e;font-size:.9em}code{background:#f6f8fa;padding:.1em .3em;border-radius:4px;font-size:.9em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict{border-left:4px solid #0969da;background:#ddf4ff;padding:.6em 1em;margin:1em 0}
.verdict.strong{border-color:#cf222e;background:#ffebe9}
svg text{font-family:inherit;font-size:12px;fill:#1f2328}
";

/// A whole page around `body`.
pub fn page(title: &str, subtitle: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{STYLE}</style></head>\n<body>\n<h1>{t}</h1>\n\
         <p class=\"meta\">{s}</p>\n{body}\n</body></html>\n",
        t = escape(title),
        s = subtitle,
    )
}

/// Colours for configurations and signatures, distinguishable and print-safe.
pub const PALETTE: &[&str] = &[
    "#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#6e7781",
];

pub fn colour(i: usize) -> &'static str {
    PALETTE.get(i % PALETTE.len()).copied().unwrap_or("#0969da")
}

/// One bar of a rate chart.
pub struct RateBar<'a> {
    pub label: &'a str,
    pub rate: f64,
    /// The 95% interval, drawn as a whisker.
    pub interval: Option<[f64; 2]>,
    pub text: String,
}

/// Horizontal bars of crash rates from 0 to 100%, with their intervals.
pub fn rate_chart(bars: &[RateBar]) -> String {
    let (left, width, row) = (170.0, 560.0, 34.0);
    let height = 30.0 + row * bars.len() as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg role=\"img\" aria-label=\"crash rates\" width=\"{w}\" height=\"{height}\" \
         viewBox=\"0 0 {w} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        w = left + width + 130.0
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = left + tick * width;
        let _ = write!(
            s,
            "<line x1=\"{x}\" y1=\"4\" x2=\"{x}\" y2=\"{y}\" stroke=\"#d0d7de\"/>\
             <text x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\">{p:.0}%</text>",
            y = height - 18.0,
            ty = height - 4.0,
            p = tick * 100.0
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = 8.0 + row * i as f64;
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{bw:.1}\" height=\"18\" fill=\"{c}\" opacity=\"0.85\" \
             data-series=\"{label}\"><title>{label}: {text}</title></rect>",
            lx = left - 8.0,
            ty = y + 13.0,
            label = escape(bar.label),
            bw = (bar.rate.clamp(0.0, 1.0) * width).max(1.0),
            c = colour(i),
            text = escape(&bar.text),
        );
        if let Some([lo, hi]) = bar.interval {
            let (x1, x2) = (left + lo * width, left + hi * width);
            let ym = y + 9.0;
            let _ = write!(
                s,
                "<line x1=\"{x1:.1}\" y1=\"{ym}\" x2=\"{x2:.1}\" y2=\"{ym}\" stroke=\"#1f2328\" stroke-width=\"1.5\"/>\
                 <line x1=\"{x1:.1}\" y1=\"{a}\" x2=\"{x1:.1}\" y2=\"{b}\" stroke=\"#1f2328\" stroke-width=\"1.5\"/>\
                 <line x1=\"{x2:.1}\" y1=\"{a}\" x2=\"{x2:.1}\" y2=\"{b}\" stroke=\"#1f2328\" stroke-width=\"1.5\"/>",
                a = y + 3.0,
                b = y + 15.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{tx}\" y=\"{ty}\">{text}</text>",
            tx = left + width + 8.0,
            ty = y + 13.0,
            text = escape(&bar.text)
        );
    }
    s.push_str("</svg>");
    s
}

/// One cell of a timeline.
pub struct Cell {
    /// Which row (configuration).
    pub row: usize,
    /// 1-based position in time.
    pub index: usize,
    pub crashed: bool,
    pub command_failed: bool,
    pub tooltip: String,
}

/// Runs in the order they happened, one row per configuration: red crashed, green clean, amber
/// a command that failed without a crash report.
pub fn timeline(rows: &[&str], cells: &[Cell]) -> String {
    let (left, cell, gap) = (170.0, 16.0, 3.0);
    let count = cells.iter().map(|c| c.index).max().unwrap_or(0) as f64;
    // Long campaigns get thinner cells rather than a page-wide scroll.
    let step = if count > 0.0 {
        ((760.0 - left) / count).clamp(3.0, cell + gap)
    } else {
        cell + gap
    };
    // Wide enough for the legend under a short campaign.
    let w = (left + step * count + 20.0).max(left + 480.0);
    let h = 26.0 * rows.len() as f64 + 40.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg role=\"img\" aria-label=\"timeline of runs\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, name) in rows.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"end\">{n}</text>",
            x = left - 8.0,
            y = 8.0 + 26.0 * i as f64 + 13.0,
            n = escape(name)
        );
    }
    for c in cells {
        let x = left + step * (c.index.saturating_sub(1)) as f64;
        let y = 8.0 + 26.0 * c.row as f64;
        let (fill, series) = if c.crashed {
            ("#cf222e", "crash report")
        } else if c.command_failed {
            ("#bf8700", "command failed, no crash report")
        } else {
            ("#2da44e", "no crash")
        };
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{cw:.1}\" height=\"{cell}\" rx=\"2\" fill=\"{fill}\" \
             data-series=\"{series}\"><title>{t}</title></rect>",
            cw = (step - gap).max(2.0),
            t = escape(&c.tooltip)
        );
    }
    let ly = 26.0 * rows.len() as f64 + 22.0;
    for (i, (fill, label)) in [
        ("#cf222e", "crash report"),
        ("#2da44e", "no crash"),
        ("#bf8700", "command failed, no crash report"),
    ]
    .iter()
    .enumerate()
    {
        let x = left + 150.0 * i as f64;
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{fill}\" data-series=\"{label}\"/>\
             <text x=\"{tx}\" y=\"{ty}\">{label}</text>",
            y = ly - 10.0,
            tx = x + 16.0,
            ty = ly
        );
    }
    s.push_str("</svg>");
    s
}

/// One bar of a count chart.
pub struct CountBar {
    pub label: String,
    pub count: u64,
    /// Colour group (signature): bars of one group share a colour.
    pub group: usize,
    /// What the group is (the signature id), named on the bar for readers and checks.
    pub series: String,
    pub tooltip: String,
}

/// Horizontal bars of counts, coloured by group.
pub fn count_chart(bars: &[CountBar]) -> String {
    let (left, width, row) = (330.0, 420.0, 24.0);
    let max = bars.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let h = 10.0 + row * bars.len() as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg role=\"img\" aria-label=\"crash counts\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">",
        w = left + width + 60.0
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 5.0 + row * i as f64;
        let label: String = b.label.chars().take(52).collect();
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{l}</text>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{bw:.1}\" height=\"16\" fill=\"{c}\" data-series=\"{g}\"><title>{t}</title></rect>\
             <text x=\"{tx:.1}\" y=\"{ty}\">{n}</text>",
            lx = left - 8.0,
            ty = y + 12.0,
            l = escape(&label),
            bw = (b.count as f64 / max * width).max(1.0),
            c = colour(b.group),
            t = escape(&b.tooltip),
            g = escape(&b.series),
            tx = left + b.count as f64 / max * width + 6.0,
            n = b.count
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_reports_cannot_break_out_of_the_page() {
        let bars = [RateBar {
            label: "<script>alert(1)</script>",
            rate: 0.5,
            interval: Some([0.2, 0.8]),
            text: "a \"quoted\" & 'odd' name".into(),
        }];
        let svg = rate_chart(&bars);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("&quot;quoted&quot; &amp; &apos;odd&apos;"));
    }

    #[test]
    fn a_page_is_self_contained() {
        let p = page("t", "s", &timeline(&["A"], &[]));
        assert!(p.starts_with("<!DOCTYPE html>"));
        for external in ["src=", "href=", "http://", "https://"] {
            // The SVG namespace is an identifier, not a fetch.
            let p = p.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            assert!(!p.contains(external), "{external} in {p}");
        }
    }
}
