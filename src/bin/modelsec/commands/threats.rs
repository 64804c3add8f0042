//! `modelsec threats`: threat models, and their coverage by a deployment's configs and
//! modelsec evidence.

use crate::output;
use anyhow::Result;
use modelsec::check::{self, PolicySet};
use modelsec::report::{ExitStatus, Format, escape};
use modelsec::threat;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `modelsec threats`.
#[derive(Debug, clap::Args)]
pub struct ThreatsArgs {
    /// Deployment configs to judge (as for check); without them, the models are listed.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Threat model: a built-in id (classifier-http-k8s, llm-inference-api) or a TOML file;
    /// repeatable [default: every built-in model].
    #[arg(long, value_name = "ID_OR_FILE")]
    pub model: Vec<String>,
    /// A modelsec JSON report (verify, scan, fuzz, serve) evidencing a capability control;
    /// repeatable.
    #[arg(long, value_name = "FILE")]
    pub evidence: Vec<PathBuf>,
    /// Extra policy file or directory; repeatable.
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub policy: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Suppressions file [default: ./.modelsec.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore inline suppressions.
    #[arg(long)]
    pub no_inline_suppressions: bool,
}

pub fn run(a: ThreatsArgs) -> Result<ExitStatus> {
    let set = PolicySet::load(&a.policy)?;
    let models = threat::select_models(&set, &a.model)?;
    if a.paths.is_empty() {
        return output::stdout(ExitStatus::Clean, |out| match a.format {
            Format::Human => list(&models, out),
            Format::Json | Format::Sarif => {
                serde_json::to_writer_pretty(&mut *out, &models)?;
                writeln!(out)
            }
        });
    }
    let opts = threat::AssessOptions {
        paths: &a.paths,
        evidence: &a.evidence,
        suppressions: check::load_suppressions(a.config.as_deref())?,
        inline_suppressions: !a.no_inline_suppressions,
    };
    let mut assessment = threat::assess(&set, &models, &opts)?;
    let status = assessment.report.exit_status();
    output::stdout(status, |out| {
        if a.format == Format::Human {
            threat::render_human(&assessment.coverage, out)?;
            // The coverage table above is the human form of facts.threats.
            assessment.report.facts.remove("threats");
        }
        assessment.report.render(a.format, out)
    })
}

/// The threat models, their threats and controls, as text.
fn list(models: &[threat::ThreatModel], out: &mut dyn Write) -> std::io::Result<()> {
    for m in models {
        writeln!(
            out,
            "{} — {} (exposure: {})",
            escape::line(&m.id),
            escape::line(&m.title),
            m.exposure
        )?;
        for t in &m.threats {
            writeln!(
                out,
                "  {} — {} [{}; {}]",
                escape::line(&t.id),
                escape::line(&t.title),
                escape::line(&t.area),
                escape::line(&t.atlas.join(", "))
            )?;
            for (c, why) in &t.controls {
                let why = why
                    .as_deref()
                    .map(|w| format!(" ({})", escape::line(w)))
                    .unwrap_or_default();
                writeln!(out, "      {}{why}", escape::line(&threat::control_name(c)))?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}
