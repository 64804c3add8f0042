//! `modelsec rules`: every rule id of every command (the registry), or the `check` policy's
//! inline test cases.

use crate::output;
use anyhow::Result;
use modelsec::check::{self, PolicySet};
use modelsec::report::{ExitStatus, escape};
use modelsec::{registry, threat};
use std::path::PathBuf;

/// Output format of `rules`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RulesFormat {
    /// A table.
    Human,
    /// One JSON document.
    Json,
    /// The rule reference (docs/rules.md).
    Markdown,
}

/// Arguments of `modelsec rules`.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// Extra policy file or directory; repeatable.
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub policy: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
    pub format: RulesFormat,
    /// Run every rule's inline test cases; exit 1 if one does not hold.
    #[arg(long)]
    pub test: bool,
}

pub fn run(a: RulesArgs) -> Result<ExitStatus> {
    let set = PolicySet::load(&a.policy)?;
    if a.test {
        let (count, failures) = check::run_tests(&set);
        let status = if failures.is_empty() {
            ExitStatus::Clean
        } else {
            ExitStatus::Findings
        };
        return output::stdout(status, |out| {
            for f in &failures {
                writeln!(
                    out,
                    "FAIL {} ({}): expected {}, got {}",
                    escape::line(&f.rule),
                    escape::line(&f.origin),
                    f.expected,
                    f.got
                )?;
            }
            writeln!(
                out,
                "{count} inline case(s) in {} rule(s): {} failed",
                set.rules.len(),
                failures.len()
            )
        });
    }
    let models = match a.format {
        RulesFormat::Markdown => threat::builtin(&set)?,
        _ => Vec::new(),
    };
    let entries = registry::entries(&set);
    output::stdout(ExitStatus::Clean, |out| match a.format {
        RulesFormat::Human => {
            let width = entries.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in &entries {
                let targets = if r.targets.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", escape::line(&r.targets.join(", ")))
                };
                writeln!(
                    out,
                    "{:<width$}  {:<8}  {:<7}  {}{targets}",
                    escape::line(&r.id),
                    r.severity.as_str(),
                    r.command,
                    escape::line(&r.description),
                )?;
            }
            writeln!(
                out,
                "{} rule(s); `--format json` adds help and references",
                entries.len()
            )
        }
        RulesFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &entries)?;
            writeln!(out)
        }
        RulesFormat::Markdown => out.write_all(registry::markdown(&set, &models).as_bytes()),
    })
}
