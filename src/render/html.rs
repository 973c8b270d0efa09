//! Self-contained HTML pages: inline CSS and SVG, no script, no network. A page can be attached
//! to a CI run or an issue and opened offline years later.

use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values: the XML escaping of the JUnit
/// writer serves HTML too, control characters dropped.
pub use super::junit::escape;

// Long words (a symbol, a path, an environment variable, a rule id) wrap anywhere in the `w`
// cells, which keep 6em (a phone would squeeze them to a letter a line), so that tables fit the
// column on a wide window; `k` cells (ids and dates we write) never wrap. A table still wider
// than the window (a phone) scrolls inside its own `.wide` box instead of pushing the whole page
// sideways. Charts are grids: labels are HTML, which wraps where SVG text would be cut, in a
// column of at most 40% beside the bars (above them on a phone); each bar is an SVG stretched to
// its track, so a chart is as wide as the column, whatever the window.
const STYLE: &str = "
body{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;max-width:980px;color:#1f2328;padding:0 1em;overflow-wrap:break-word}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
.meta{color:#59636e;font-size:.9em}code{background:#f6f8fa;padding:.1em .3em;border-radius:4px;font-size:.9em}
.wide{overflow-x:auto;margin:.6em 0}
table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.w{overflow-wrap:anywhere;min-width:6em}td.k{white-space:nowrap}
.verdict{border-left:4px solid #0969da;background:#ddf4ff;padding:.6em 1em;margin:1em 0}
.verdict.strong{border-color:#cf222e;background:#ffebe9}
.chart{display:grid;grid-template-columns:fit-content(40%) minmax(8em,1fr) max-content;gap:.3em .6em;align-items:center;font-size:12px;margin:.8em 0}
.chart .l{text-align:right;overflow-wrap:anywhere}.chart .v{font-variant-numeric:tabular-nums;white-space:nowrap}
.chart svg{display:block;width:100%;overflow:visible}svg text{font-family:inherit;font-size:12px;fill:#1f2328}
.legend{display:flex;flex-wrap:wrap;gap:.2em 1.2em;font-size:12px;margin:.2em 0 .8em}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
@media (max-width:600px){.chart{grid-template-columns:minmax(0,1fr) max-content}.chart .l{grid-column:1/-1;text-align:left;margin-top:.3em}}
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

/// Colours for signatures, distinguishable and print-safe.
const PALETTE: &[&str] = &[
    "#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#6e7781",
];

/// Colours for configurations: the palette without the red, green and amber that the timeline
/// gives to its outcomes on the same page, so that no configuration looks like "crashed".
const CONFIG_PALETTE: &[&str] = &["#0969da", "#8250df", "#1b7c83", "#bf3989", "#6e7781"];

/// The timeline's outcomes: colour and what it means, in the legend's order.
const OUTCOMES: [(&str, &str); 3] = [
    ("#cf222e", "crash report"),
    ("#2da44e", "no crash"),
    ("#bf8700", "command failed, no crash report"),
];

/// The colour of signature `i`: its own for every one, so that two bars of one colour are the
/// same crash. The palette's eight, then generated ones.
pub fn colour(i: usize) -> String {
    from_palette(PALETTE, i)
}

/// The colour of configuration `i`, distinct from every other and from the outcomes.
fn config_colour(i: usize) -> String {
    from_palette(CONFIG_PALETTE, i)
}

/// `palette[i]`, and past its end hues 137° apart (137 is prime to 360: the first 360 differ) in
/// three bands of lightness: no two of the first 1,080 colours past the palette are the same.
/// A chart of more groups than that repeats colours, and could not be read by colour anyway.
fn from_palette(palette: &[&str], i: usize) -> String {
    match palette.get(i) {
        Some(c) => (*c).to_owned(),
        None => {
            let j = i - palette.len();
            let hue = j * 137 % 360;
            let light = [42, 32, 52].get(j / 360 % 3).copied().unwrap_or(42);
            format!("hsl({hue},65%,{light}%)")
        }
    }
}

/// The opening of a chart's grid: `label` names it for screen readers.
fn chart_open(label: &str) -> String {
    format!("<div class=\"chart\" role=\"figure\" aria-label=\"{label}\">")
}

/// An SVG `units` wide and `height` px tall, stretched to its grid track (to at most
/// `max_width` px): bars are drawn in units (a rate's 0 to 100, a count's 0 to the largest),
/// strokes keep their width.
fn track(units: f64, height: f64, max_width: Option<f64>, inner: &str) -> String {
    let style = max_width.map_or_else(String::new, |w| format!(" style=\"max-width:{w}px\""));
    format!(
        "<svg viewBox=\"0 0 {units} {height}\" preserveAspectRatio=\"none\" height=\"{height}\"{style} \
         xmlns=\"http://www.w3.org/2000/svg\">{inner}</svg>"
    )
}

/// One bar of a rate chart.
pub struct RateBar<'a> {
    pub label: &'a str,
    pub rate: f64,
    /// The 95% interval, drawn as a whisker.
    pub interval: Option<[f64; 2]>,
    pub text: String,
}

/// Horizontal bars of crash rates from 0 to 100%, with their intervals, one colour per
/// configuration; a scale under them.
pub fn rate_chart(bars: &[RateBar]) -> String {
    // Percent, and how the scale's word aligns there: the ends inwards, so none sticks out.
    let ticks = [
        (0, "start"),
        (25, "middle"),
        (50, "middle"),
        (75, "middle"),
        (100, "end"),
    ];
    let mut s = chart_open("crash rates");
    for (i, bar) in bars.iter().enumerate() {
        let label = escape(bar.label);
        let text = escape(&bar.text);
        let mut inner = String::new();
        for (x, _) in ticks {
            let _ = write!(
                inner,
                "<line x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"18\" stroke=\"#d0d7de\" vector-effect=\"non-scaling-stroke\"/>"
            );
        }
        let _ = write!(
            inner,
            "<rect x=\"0\" y=\"0\" width=\"{bw:.2}\" height=\"18\" fill=\"{c}\" opacity=\"0.85\" \
             data-series=\"{label}\"><title>{label}: {text}</title></rect>",
            bw = (bar.rate.clamp(0.0, 1.0) * 100.0).max(0.3),
            c = config_colour(i),
        );
        if let Some([lo, hi]) = bar.interval {
            let (x1, x2) = (lo.clamp(0.0, 1.0) * 100.0, hi.clamp(0.0, 1.0) * 100.0);
            for (xa, ya, xb, yb) in [(x1, 9.0, x2, 9.0), (x1, 3.0, x1, 15.0), (x2, 3.0, x2, 15.0)] {
                let _ = write!(
                    inner,
                    "<line x1=\"{xa:.2}\" y1=\"{ya}\" x2=\"{xb:.2}\" y2=\"{yb}\" stroke=\"#1f2328\" \
                     stroke-width=\"1.5\" vector-effect=\"non-scaling-stroke\"/>"
                );
            }
        }
        let _ = write!(
            s,
            "<div class=\"l\">{label}</div>{}<div class=\"v\">{text}</div>",
            track(100.0, 18.0, None, &inner)
        );
    }
    // The scale: not stretched, so that its words keep their shape.
    s.push_str("<div class=\"l\"></div><svg height=\"14\" xmlns=\"http://www.w3.org/2000/svg\">");
    for (x, anchor) in ticks {
        let _ = write!(
            s,
            "<text x=\"{x}%\" y=\"11\" text-anchor=\"{anchor}\">{x}%</text>"
        );
    }
    s.push_str("</svg><div class=\"v\"></div></div>");
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
/// a command that failed without a crash report; the legend under the rows. A square is 16 px
/// with 3 between, narrower when the runs would not fit the column (a long campaign).
pub fn timeline(rows: &[&str], cells: &[Cell]) -> String {
    let (cell, gap) = (16.0, 3.0);
    let count = cells.iter().map(|c| c.index).max().unwrap_or(0).max(1) as f64;
    let units = count * (cell + gap);
    let mut s = chart_open("timeline of runs");
    for (i, name) in rows.iter().enumerate() {
        let mut inner = String::new();
        for c in cells.iter().filter(|c| c.row == i) {
            let [crash, clean, failed] = OUTCOMES;
            let (fill, series) = if c.crashed {
                crash
            } else if c.command_failed {
                failed
            } else {
                clean
            };
            let _ = write!(
                inner,
                "<rect x=\"{x}\" y=\"0\" width=\"{cell}\" height=\"{cell}\" rx=\"2\" fill=\"{fill}\" \
                 data-series=\"{series}\"><title>{t}</title></rect>",
                x = (cell + gap) * c.index.saturating_sub(1) as f64,
                t = escape(&c.tooltip)
            );
        }
        // At most its natural width: a short campaign's squares stay square.
        let _ = write!(
            s,
            "<div class=\"l\">{}</div>{}<div class=\"v\"></div>",
            escape(name),
            track(units, cell, Some(units), &inner)
        );
    }
    s.push_str("</div>\n<div class=\"legend\">");
    for (fill, label) in OUTCOMES {
        let _ = write!(
            s,
            "<span><i style=\"background:{fill}\" data-series=\"{label}\"></i>{label}</span>"
        );
    }
    s.push_str("</div>");
    s
}

/// One bar of a count chart.
pub struct CountBar {
    /// What the bar is (the rule) and what tells it from bars of the same rule (OS build, driver,
    /// model).
    pub label: String,
    pub count: u64,
    /// Colour group (signature): bars of one group share a colour.
    pub group: usize,
    /// What the group is (the signature id), named on the bar for readers and checks.
    pub series: String,
    pub tooltip: String,
}

/// Horizontal bars of counts, coloured by group, the largest as long as the track.
pub fn count_chart(bars: &[CountBar]) -> String {
    let max = bars.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    let mut s = chart_open("crash counts");
    for b in bars {
        let bar = format!(
            "<rect x=\"0\" y=\"0\" width=\"{n}\" height=\"16\" fill=\"{c}\" data-series=\"{g}\">\
             <title>{t}</title></rect>",
            n = b.count,
            c = colour(b.group),
            g = escape(&b.series),
            t = escape(&b.tooltip),
        );
        let _ = write!(
            s,
            "<div class=\"l\">{}</div>{}<div class=\"v\">{}</div>",
            escape(&b.label),
            track(max as f64, 16.0, None, &bar),
            b.count
        );
    }
    s.push_str("</div>");
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
    fn hostile_names_stay_text_in_every_chart() {
        let evil = "\"><script>alert(1)</script>";
        let timeline = timeline(
            &[evil],
            &[Cell {
                row: 0,
                index: 1,
                crashed: true,
                command_failed: false,
                tooltip: evil.into(),
            }],
        );
        let counts = count_chart(&[CountBar {
            label: evil.into(),
            count: 2,
            group: 0,
            series: evil.into(),
            tooltip: evil.into(),
        }]);
        for chart in [timeline, counts] {
            assert!(!chart.contains("<script>"), "{chart}");
            assert!(!chart.contains(evil), "an attribute was closed: {chart}");
            assert!(chart.contains("&quot;&gt;&lt;script&gt;"), "{chart}");
        }
    }

    #[test]
    fn every_series_has_its_own_colour() {
        // Past the palette too, far beyond any chart's count of signatures.
        let signatures: std::collections::HashSet<String> = (0..1088).map(colour).collect();
        assert_eq!(signatures.len(), 1088);
        // No configuration looks like an outcome of the timeline on the same page.
        for i in 0..40 {
            let c = config_colour(i);
            assert!(OUTCOMES.iter().all(|(fill, _)| *fill != c), "{i}: {c}");
        }
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
