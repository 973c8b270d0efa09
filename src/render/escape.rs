//! Report text made safe to show a person: every character that would act on the terminal or
//! the log instead of being read is written as a visible escape.
//!
//! A crash report is written by the crashing process and whatever it loaded: its process name,
//! thread names, symbols, exception reason and application-specific messages are text that
//! someone else chose, and so are the names of the files in a reports folder. Printed raw, an
//! `ESC ] 0 ;` retitles the terminal, `ESC [ 2 J` clears it, a carriage return overwrites what a
//! line said, a bidi override (U+202E) shows `exe.txt` for `txt.exe`, and a newline starts a new
//! line of the CI log, where `::error::`, `::add-mask::` or `::stop-commands::` at the start of a
//! line is a command to the runner. So every human rendering (and every stderr line of the
//! binary) passes report- and path-derived text through [`visible`], the way `ls -q` and ripgrep
//! do: the C0 controls (newline, carriage return and tab included), DEL, the C1 controls
//! U+0080–U+009F, the bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069),
//! the bidi marks (U+200E, U+200F, U+061C) and the line and paragraph separators
//! (U+2028, U+2029) are written as `\n`, `\r`, `\t`, `\e`, `\xHH` or `\u{HHHH}`.
//!
//! Text that legitimately spans lines (an exception reason, an application-specific message) is
//! escaped as a whole, not split into lines: the shape of a human rendering (one `Key: value`
//! per line, one line per table cell) is the writer's, never the report's, so a line that says
//! `Rule:` is always crashdelta's own. The JSON output keeps the exact text for whoever needs it.
//!
//! A backslash is doubled only where it would otherwise read as the start of one of these
//! escapes (before another backslash, before `n r t e x u`, or before a character that is
//! escaped), so ordinary symbols and paths print unchanged while the escaping stays reversible:
//! two different strings never print the same (the unit tests decode it back).
//!
//! Human tables are made by construction: [`HumanTable`] escapes every cell it is given, and
//! [`Lines`] escapes every line it is given, so a new field cannot forget.

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};

use comfy_table::Table;

/// Whether `c` would act on a terminal or a log rather than be read, and so is printed escaped.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() // C0, DEL and C1 (Unicode category Cc)
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' // embeddings and overrides
                | '\u{2066}'..='\u{2069}' // isolates
                | '\u{200E}' | '\u{200F}' | '\u{061C}' // marks
                | '\u{2028}' | '\u{2029}' // line and paragraph separators
        )
}

/// The characters after a backslash that make it read as an escape.
fn escape_letter(c: char) -> bool {
    matches!(c, '\\' | 'n' | 'r' | 't' | 'e' | 'x' | 'u')
}

/// `s` with every [unsafe](is_unsafe) character written visibly (`\n`, `\r`, `\t`, `\e`,
/// `\x7f`, `\u{202e}`); borrowed when there is nothing to escape, which is almost always.
pub fn visible(s: &str) -> Cow<'_, str> {
    let needs = s.char_indices().any(|(i, c)| {
        is_unsafe(c)
            || (c == '\\'
                && s.get(i + 1..)
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(|n| escape_letter(n) || is_unsafe(n)))
    });
    if !needs {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{1b}' => out.push_str("\\e"),
            '\\' => {
                out.push('\\');
                if chars
                    .peek()
                    .is_some_and(|&n| escape_letter(n) || is_unsafe(n))
                {
                    out.push('\\');
                }
            }
            c if (c as u32) < 0x100 && is_unsafe(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Displays a string [`visible`]: `format!("{}", Visible(name))`.
#[derive(Debug, Clone, Copy)]
pub struct Visible<'a>(pub &'a str);

impl Display for Visible<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&visible(self.0))
    }
}

/// A human table whose cells are escaped as they are added: no cell can hold a control
/// character, whoever fills it. Made by [`super::table`].
///
/// On a terminal too narrow for its columns (each needs room for its header and a few
/// characters of its cells), a table drawn with wrapped cells reads as a column of syllables
/// ("cras / hes"). It is written as one block per row instead, `header  value` a line, blocks
/// apart: every cell reads whole, and the terminal wraps a long value as it wraps any line.
pub struct HumanTable {
    table: Table,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    width: Option<u16>,
}

/// What each column needs on a terminal to read: its header, and this much of its cells.
const READABLE_CELL: usize = 10;

impl HumanTable {
    pub(super) fn new(table: Table, header: &[&str], width: Option<u16>) -> HumanTable {
        HumanTable {
            table,
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            width,
        }
    }

    /// Adds a row, each cell [`visible`].
    pub fn add_row<I, S>(&mut self, cells: I) -> &mut HumanTable
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| visible(c.as_ref()).into_owned())
            .collect();
        self.table.add_row(cells.clone());
        self.rows.push(cells);
        self
    }

    /// Whether the terminal is too narrow for the columns to read.
    fn too_narrow(&self) -> bool {
        let Some(width) = self.width else {
            return false;
        };
        let needed: usize = self
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let longest = self
                    .rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0);
                // A cell and its borders: "│ x " is three more than the text.
                h.chars().count().max(longest.min(READABLE_CELL)) + 3
            })
            .sum::<usize>()
            + 1;
        usize::from(width) < needed
    }
}

impl Display for HumanTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.too_narrow() {
            let pad = self
                .header
                .iter()
                .map(|h| h.chars().count())
                .max()
                .unwrap_or(0);
            for (n, row) in self.rows.iter().enumerate() {
                if n > 0 {
                    writeln!(f)?;
                }
                for (h, cell) in self.header.iter().zip(row) {
                    writeln!(f, "{h:<pad$}  {cell}")?;
                }
            }
            return Ok(());
        }
        // comfy-table writes no styling here (no colour is loaded), so what it draws is the
        // escaped cells and its own box characters.
        Display::fmt(&self.table, f)
    }
}

/// What a line of a human rendering says, for the colour it is shown in when colour is on
/// (`--color`): the verdicts a person scans a long CI log for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// The gate failed: the run's exit code is 86.
    Failed,
    /// The gate passed.
    Passed,
    /// A crash a rule marks known (the AGX race, ...).
    Known,
    /// A crash no rule marks known: the one to look at.
    New,
    /// A warning: something was not as it should be, and the run went on.
    Warning,
    /// A headline: the delta, a campaign's verdict.
    Heading,
}

impl Tone {
    /// The style (anstyle, the crate clap draws its own help with).
    fn style(self) -> anstyle::Style {
        use anstyle::{AnsiColor, Style};
        let colour = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        match self {
            Tone::Failed => colour(AnsiColor::Red).bold(),
            Tone::Passed => colour(AnsiColor::Green).bold(),
            Tone::Known => colour(AnsiColor::Yellow),
            Tone::New => colour(AnsiColor::Magenta).bold(),
            Tone::Warning => colour(AnsiColor::Yellow),
            Tone::Heading => Style::new().bold(),
        }
    }

    /// `text` in this tone: its style, the text, a reset. The text must already be escaped:
    /// the only escape sequences in a rendering are the ones put there here.
    pub fn paint(self, text: &str) -> String {
        let style = self.style();
        format!("{}{text}{}", style.render(), style.render_reset())
    }
}

/// A human rendering built a line at a time: each line is escaped whole as it is added, so the
/// report's text can never start a line of its own. Only a [`HumanTable`] is added as it is.
///
/// With colour on ([`Lines::coloured`]), a line added with a [`Tone`] is wrapped in that tone's
/// escape sequences after it was escaped: the report's own escapes stay visible text, and only
/// crashdelta's colour reaches the terminal. With colour off (a pipe, a file, `NO_COLOR`,
/// `--color never`) the rendering is the same text without them.
#[derive(Debug, Default)]
pub struct Lines {
    text: String,
    colour: bool,
}

impl Lines {
    /// An empty rendering, without colour.
    pub fn new() -> Lines {
        Lines::default()
    }

    /// An empty rendering whose toned lines are coloured when `colour` is true.
    pub fn coloured(colour: bool) -> Lines {
        Lines {
            text: String::new(),
            colour,
        }
    }

    /// Adds one line (no newline in `text`: one would be shown as `\n`).
    pub fn line(&mut self, text: impl Display) {
        let text = text.to_string();
        self.text.push_str(&visible(&text));
        self.text.push('\n');
    }

    /// Adds one line in `tone` (coloured when colour is on).
    pub fn toned(&mut self, tone: Tone, text: impl Display) {
        let text = visible(&text.to_string()).into_owned();
        if self.colour {
            self.text.push_str(&tone.paint(&text));
        } else {
            self.text.push_str(&text);
        }
        self.text.push('\n');
    }

    /// Adds an empty line.
    pub fn blank(&mut self) {
        self.text.push('\n');
    }

    /// Adds a table, already escaped cell by cell, and a newline after it.
    pub fn table(&mut self, table: &HumanTable) {
        let _ = writeln!(self.text, "{table}");
    }

    /// The rendering.
    pub fn into_string(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The inverse of [`visible`], to show that it loses nothing.
    fn decode(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.peek().copied() {
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('r') => {
                    chars.next();
                    out.push('\r');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('e') => {
                    chars.next();
                    out.push('\u{1b}');
                }
                Some('x') => {
                    chars.next();
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(char::from(u8::from_str_radix(&hex, 16).unwrap()));
                }
                Some('u') => {
                    chars.next();
                    assert_eq!(chars.next(), Some('{'));
                    let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                _ => out.push('\\'),
            }
        }
        out
    }

    #[test]
    fn terminal_and_log_controls_are_shown_not_obeyed() {
        assert_eq!(
            visible("a\u{1b}]0;pwned\u{7}b\u{1b}[2J"),
            "a\\e]0;pwned\\x07b\\e[2J"
        );
        assert_eq!(
            visible("x\n::error::owned\r\ty"),
            "x\\n::error::owned\\r\\ty"
        );
        assert_eq!(visible("\u{9b}31m\u{7f}"), "\\x9b31m\\x7f");
        assert_eq!(visible("gpj.\u{202e}exe"), "gpj.\\u{202e}exe");
        assert_eq!(
            visible("\u{2066}\u{2069}\u{2028}"),
            "\\u{2066}\\u{2069}\\u{2028}"
        );
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in [
            "AGX::ComputeContext::prepareForEnqueue(bool) + 1268",
            "Python [81920]",
            "C:\\Program Files\\app",
            "émoji 🎉 — ×",
            "trailing \\",
        ] {
            assert!(matches!(visible(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn a_backslash_is_doubled_only_where_it_would_read_as_an_escape() {
        assert_eq!(visible("a\\nb"), "a\\\\nb");
        assert_eq!(visible("a\\\nb"), "a\\\\\\nb");
        assert_eq!(visible("a\\\\b"), "a\\\\\\b");
        assert_eq!(decode(&visible("a\\\\b")), "a\\\\b");
    }

    #[test]
    fn the_table_and_the_lines_escape_what_they_are_given() {
        let mut t = super::super::table(Some(60), &["a", "b"]);
        t.add_row(["x\u{1b}[2J", "line\n::error::x"]);
        let mut lines = Lines::new();
        lines.line(format_args!("Process: {}", "evil\r\n::add-mask::x"));
        lines.table(&t);
        let text = lines.into_string();
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text}");
        assert!(text.lines().all(|l| !l.starts_with("::")), "{text}");
        assert!(text.contains("x\\e[2J") && text.contains("line\\n::error::x"));
        assert_eq!(format!("[{:<6}]", Visible("a\tb")), "[a\\tb  ]");
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_control_and_decodes_back(s in any::<String>()) {
            let v = visible(&s);
            prop_assert!(!v.chars().any(is_unsafe), "{v:?}");
            prop_assert_eq!(decode(&v), s);
        }

        #[test]
        fn escaped_text_of_likely_strings_decodes_back(s in "[\\\\nrtexu{}a\\n\\r\\t\u{1b}\u{9b}\u{202e}]{0,12}") {
            let v = visible(&s);
            prop_assert!(!v.chars().any(is_unsafe), "{v:?}");
            prop_assert_eq!(decode(&v), s);
        }
    }
}
