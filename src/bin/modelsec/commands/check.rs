//! `modelsec check`: deployment configs against the secure-default rules.

use crate::output;
use anyhow::Result;
use modelsec::check::{self, Exposure, PolicySet};
use modelsec::report::{ExitStatus, Format, Severity};
use std::path::PathBuf;

/// Arguments of `modelsec check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Config files or directories (walked recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Extra policy file, or a directory of *.toml policies; repeatable.
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub policy: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Leave out findings below this severity.
    #[arg(long, value_enum, default_value_t = Severity::Info, value_name = "LEVEL")]
    pub min_severity: Severity,
    /// Ignore `# modelsec:ignore` comments and `modelsec.dev/ignore` annotations (for CI);
    /// suppressions in the config file still apply.
    #[arg(long)]
    pub no_inline_suppressions: bool,
    /// Suppressions file [default: ./.modelsec.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Judge as if exposed this way: raises severities where a rule says so.
    #[arg(long, value_enum)]
    pub exposure: Option<Exposure>,
    /// Also write the results as JUnit XML (one test case per rule).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

pub fn run(a: CheckArgs) -> Result<ExitStatus> {
    let set = PolicySet::load(&a.policy)?;
    let opts = check::CheckOptions {
        paths: a.paths,
        min_severity: a.min_severity,
        inline_suppressions: !a.no_inline_suppressions,
        suppressions: check::load_suppressions(a.config.as_deref())?,
        exposure: a.exposure,
        ..check::CheckOptions::default()
    };
    let result = check::check(&set, &opts)?;
    output::junit(a.junit.as_deref(), &result.report)?;
    output::report(&result.report, a.format)
}
