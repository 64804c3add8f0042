//! Suppressions: a finding may be waived, but only with a reason and an expiry date.
//!
//! Three places, one syntax (`RULE[,RULE…] expires=YYYY-MM-DD reason="…"`, rule ids may end in
//! `*`):
//! * `.modelsec.toml` `[[suppress]]` tables (rule, reason, expires; optional `paths` globs and
//!   `resource`);
//! * an inline comment `# modelsec:ignore …` — applies to the document it is written in;
//! * the Kubernetes annotation `modelsec.dev/ignore: "…"` on an object or pod template — one
//!   directive per line.
//!
//! An expired, reason-less or undated suppression, or one expiring more than [`MAX_DAYS`] ahead,
//! hides nothing and is itself reported.

use super::lang::PolicyError;
use serde::Deserialize;
use toml::Spanned;

/// The furthest ahead a suppression may expire: waivers are re-reviewed at least yearly.
pub const MAX_DAYS: i64 = 366;

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let year: i32 = it.next()?.parse().ok()?;
        let month: u32 = it.next()?.parse().ok()?;
        let day: u32 = it.next()?.parse().ok()?;
        let days_in = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
            2 => 28,
            _ => return None,
        };
        (s.trim().len() == 10 && (1..=days_in).contains(&day)).then_some(Date { year, month, day })
    }

    /// Today (UTC) from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Date::from_days(secs.div_euclid(86_400))
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    pub fn to_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    pub fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Date {
            year: (if m <= 2 { y + 1 } else { y }) as i32,
            month: m,
            day: d,
        }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A suppression from any of the three places.
#[derive(Clone, Debug)]
pub struct Suppression {
    /// `config`, `inline` or `annotation`.
    pub kind: &'static str,
    pub rules: Vec<String>,
    pub reason: String,
    pub expires: Option<Date>,
    /// Globs over the checked file's path (config only; empty = every file).
    pub paths: Vec<globset::GlobMatcher>,
    pub resource: Option<String>,
    /// Scope for inline/annotation ones: (file index, document index, resource).
    pub file: Option<usize>,
    pub doc: Option<usize>,
    pub subject_resource: Option<String>,
    /// Where it was written, for reports.
    pub origin_path: String,
    pub line: u32,
    pub col: u32,
    /// Why it is invalid, if it is.
    pub problem: Option<String>,
}

impl Suppression {
    pub fn matches_rule(&self, id: &str) -> bool {
        self.rules.iter().any(|r| super::id_matches(r, id))
    }
}

/// Parse one directive (`RULE[,RULE] expires=YYYY-MM-DD reason="…"`).
pub fn parse_directive(
    text: &str,
    kind: &'static str,
    origin_path: &str,
    line: u32,
    col: u32,
) -> Suppression {
    let words =
        shlex::split(text).unwrap_or_else(|| text.split_whitespace().map(str::to_string).collect());
    let mut s = Suppression {
        kind,
        rules: vec![],
        reason: String::new(),
        expires: None,
        paths: vec![],
        resource: None,
        file: None,
        doc: None,
        subject_resource: None,
        origin_path: origin_path.to_string(),
        line,
        col,
        problem: None,
    };
    let mut problems = Vec::new();
    for w in words {
        if let Some(v) = w.strip_prefix("expires=") {
            match Date::parse(v) {
                Some(d) => s.expires = Some(d),
                None => problems.push(format!("expires=`{v}` is not a date YYYY-MM-DD")),
            }
        } else if let Some(v) = w.strip_prefix("reason=") {
            s.reason = v.trim().to_string();
        } else if w.contains('=') {
            problems.push(format!("unknown field `{w}`"));
        } else {
            s.rules
                .extend(w.split(',').filter(|r| !r.is_empty()).map(str::to_string));
        }
    }
    finish(&mut s, problems);
    s
}

fn finish(s: &mut Suppression, mut problems: Vec<String>) {
    if s.rules.is_empty() {
        problems.push("names no rule id".into());
    }
    if s.reason.trim().is_empty() {
        problems.push("has no reason".into());
    }
    if s.expires.is_none() && !problems.iter().any(|p| p.contains("expires")) {
        problems.push("has no expiry date (expires=YYYY-MM-DD)".into());
    }
    if !problems.is_empty() {
        s.problem = Some(problems.join("; "));
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigRaw {
    #[serde(default)]
    suppress: Vec<Spanned<SuppressRaw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuppressRaw {
    rule: toml::Value,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    expires: Option<toml::value::Datetime>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    resource: Option<String>,
}

/// Read a `.modelsec.toml`. Syntax errors and unknown keys are errors (exit 2); a suppression
/// without reason or expiry loads but is reported as invalid.
pub fn load_config(name: &str, text: &str) -> Result<Vec<Suppression>, PolicyError> {
    let raw: ConfigRaw = toml::from_str(text).map_err(|e| {
        crate::report::diag::single(
            "suppressions file",
            name,
            text,
            e.span().unwrap_or(0..0),
            e.message().trim(),
        )
    })?;
    let index = super::doc::LineIndex::new(text);
    let mut out = Vec::new();
    for entry in raw.suppress {
        let pos = index.pos(entry.span().start);
        let r = entry.get_ref();
        let mut problems = Vec::new();
        let rules = super::lang::string_or_list(&r.rule);
        let expires = match &r.expires {
            Some(d) => match d.date {
                Some(date) if d.time.is_none() => Some(Date {
                    year: date.year as i32,
                    month: date.month as u32,
                    day: date.day as u32,
                }),
                _ => {
                    problems.push("expires must be a plain date such as 2026-12-31".to_string());
                    None
                }
            },
            None => None,
        };
        let mut paths = Vec::new();
        for p in &r.paths {
            match globset::Glob::new(p.get_ref()) {
                Ok(g) => paths.push(g.compile_matcher()),
                Err(e) => {
                    return Err(crate::report::diag::single(
                        "suppressions file",
                        name,
                        text,
                        p.span(),
                        &format!("bad glob: {e}"),
                    ));
                }
            }
        }
        let mut s = Suppression {
            kind: "config",
            rules,
            reason: r.reason.clone().unwrap_or_default(),
            expires,
            paths,
            resource: r.resource.clone(),
            file: None,
            doc: None,
            subject_resource: None,
            origin_path: name.to_string(),
            line: pos.line,
            col: pos.col,
            problem: None,
        };
        finish(&mut s, problems);
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_515).to_string(), "2026-03-03");
        for d in [-1000, 0, 59, 60, 20_515, 40_000] {
            assert_eq!(Date::from_days(d).to_days(), d);
        }
        assert!(Date::parse("2026-02-29").is_none());
        assert!(Date::parse("2028-02-29").is_some());
        assert!(Date::parse("2026-1-01").is_none());
    }

    #[test]
    fn directives() {
        let s = parse_directive(
            "ollama/host-all-interfaces,k8s/* expires=2030-01-31 reason=\"dev only\"",
            "inline",
            "a",
            1,
            1,
        );
        assert!(s.problem.is_none());
        assert!(s.matches_rule("k8s/run-as-root"));
        assert!(!s.matches_rule("ollama/origins-wildcard"));
        let s = parse_directive("x/y reason=\"\"", "inline", "a", 1, 1);
        let p = s.problem.unwrap();
        assert!(p.contains("no reason") && p.contains("no expiry"), "{p}");
    }
}
