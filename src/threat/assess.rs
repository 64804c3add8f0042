//! `threats PATH…`: run `check` once per exposure the chosen threat models use, read the
//! evidence reports, and judge every threat's controls into one report.

use super::{Coverage, Evidence, ThreatModel};
use crate::check::{self, CheckError, CheckResult, PolicySet, suppress::Suppression};
use crate::report::Report;
use crate::report::diag::ConfigError as PolicyError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a threat assessment could not run (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThreatError {
    /// A threat model or policy is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// `check` could not run.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// A `--model` argument names neither a built-in model nor a file.
    #[error("`{given}` is neither a built-in threat model ({known}) nor a file")]
    UnknownModel {
        /// What was given.
        given: String,
        /// The built-in ids.
        known: String,
    },
    /// A file could not be read.
    #[error("cannot read {what} `{}`: {source}", path.display())]
    Read {
        /// What the file is (`threat model`, `evidence`).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: crate::util::fs::ReadError,
    },
    /// An evidence file is not a modelsec report.
    #[error("{0}")]
    Evidence(String),
}

/// The threat models named by `--model` (built-in ids or files), or every built-in one.
pub fn select_models(set: &PolicySet, wanted: &[String]) -> Result<Vec<ThreatModel>, ThreatError> {
    let builtin = super::builtin(set)?;
    if wanted.is_empty() {
        return Ok(builtin);
    }
    let mut models = Vec::new();
    for m in wanted {
        if let Some(b) = builtin.iter().find(|b| b.id == *m) {
            models.push(b.clone());
        } else if Path::new(m).is_file() {
            let text = crate::util::fs::read_text(Path::new(m), crate::util::fs::MAX_CONFIG_BYTES)
                .map_err(|source| ThreatError::Read {
                    what: "threat model",
                    path: PathBuf::from(m),
                    source,
                })?;
            models.push(super::load(m, &text, set)?);
        } else {
            return Err(ThreatError::UnknownModel {
                given: m.clone(),
                known: builtin
                    .iter()
                    .map(|b| b.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(models)
}

/// What `threats PATH…` is asked to judge.
pub struct AssessOptions<'a> {
    /// Deployment configs.
    pub paths: &'a [PathBuf],
    /// modelsec JSON reports given as evidence for capability controls.
    pub evidence: &'a [PathBuf],
    /// Suppressions for the check runs.
    pub suppressions: Vec<Suppression>,
    /// Honour inline suppression comments.
    pub inline_suppressions: bool,
}

/// The assessment: the report, and the coverage table it summarises (for human output).
pub struct Assessment {
    /// The report (coverage in `facts.threats`).
    pub report: Report,
    /// Per model, per threat.
    pub coverage: Vec<Coverage>,
}

/// Judge `models` against the configs and evidence.
pub fn assess(
    set: &PolicySet,
    models: &[ThreatModel],
    opts: &AssessOptions<'_>,
) -> Result<Assessment, ThreatError> {
    let mut evidence: Vec<Evidence> = Vec::new();
    for e in opts.evidence {
        let text =
            crate::util::fs::read_text(e, crate::util::fs::MAX_REPORT_BYTES).map_err(|source| {
                ThreatError::Read {
                    what: "evidence",
                    path: e.clone(),
                    source,
                }
            })?;
        evidence.push(
            super::read_evidence(&e.display().to_string(), &text).map_err(ThreatError::Evidence)?,
        );
    }
    // One check run per exposure the models use (the built-in models share one).
    let mut results: BTreeMap<check::Exposure, CheckResult> = BTreeMap::new();
    for m in models {
        if let std::collections::btree_map::Entry::Vacant(e) = results.entry(m.exposure) {
            let copts = check::CheckOptions {
                paths: opts.paths.to_vec(),
                inline_suppressions: opts.inline_suppressions,
                suppressions: opts.suppressions.clone(),
                exposure: Some(m.exposure),
                ..check::CheckOptions::default()
            };
            e.insert(check::check(set, &copts)?);
        }
    }
    let check_failures = results
        .values()
        .map(|r| {
            r.report
                .findings
                .iter()
                .filter(|f| f.severity.fails() && f.suppressed.is_none())
                .count()
        })
        .max()
        .unwrap_or(0);
    let coverage: Vec<Coverage> = models
        .iter()
        .map(|m| super::evaluate(m, &results[&m.exposure], &evidence))
        .collect();
    let targets = opts.paths.iter().map(|p| p.display().to_string()).collect();
    let mut report = super::report(models, &coverage, targets);
    report.fact("check_failing_findings", check_failures);
    report.fact(
        "evidence",
        evidence
            .iter()
            .map(|e| format!("{} ({}: {})", e.path, e.command, e.verdict))
            .collect::<Vec<_>>(),
    );
    Ok(Assessment { report, coverage })
}
