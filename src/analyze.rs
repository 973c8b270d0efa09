//! One report, from bytes to a classified crash: parse, name the unnamed frames (`--symbols`,
//! the system's AGX bundles, `atos`), then classify. Classification runs after symbolication, so
//! a frame named here can match a rule.

use std::path::PathBuf;

use crate::classify::{self, Classification, RuleSet};
use crate::report::{self, ParseError, Report};
use crate::symbols::{SymbolIndex, atos};

pub struct Analyzer {
    pub rules: RuleSet,
    pub symbols: Option<SymbolIndex>,
    /// `atos` and the running OS build, when both are there (macOS).
    pub atos: Option<(PathBuf, String)>,
}

impl Analyzer {
    pub fn new(rules: RuleSet, symbols: Option<SymbolIndex>) -> Analyzer {
        let atos = atos::which("atos").zip(atos::system_build());
        Analyzer {
            rules,
            symbols,
            atos,
        }
    }

    /// Parses `bytes` and returns the report with its classification (none for non-crashes).
    pub fn analyze(&self, bytes: &[u8]) -> Result<(Report, Option<Classification>), ParseError> {
        let mut report = report::parse(bytes)?;
        self.symbolicate(&mut report);
        let class = classify::classify(&report, &self.rules);
        Ok((report, class))
    }

    /// Names what can be named; returns how many frames were named.
    pub fn symbolicate(&self, report: &mut Report) -> usize {
        let mut named = 0;
        if let Some(index) = &self.symbols {
            named += index.symbolicate(report);
        }
        if let Some((path, build)) = &self.atos {
            named += atos::symbolicate(report, path, build);
        }
        named
    }
}
