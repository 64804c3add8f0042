//! `modelsec check`: deployment configs against the secure-default rules.

use crate::output;
use anyhow::Result;
use modelsec::check::{self, Exposure, PolicySet};
use modelsec::report::{ExitStatus, Format, Severity};
use std::path::PathBuf;

/// Arguments of `modelsec check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Config files or directories (walked recursively); `-` reads rendered manifests from
    /// standard input (helm template … | modelsec check -).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The file name findings on standard input are reported under (it also decides the format).
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub stdin_name: String,
    /// KServe version whose built-in ServingRuntimes and webhook defaults are assumed
    /// (their securityContext arrived in 0.14).
    #[arg(long, value_name = "VERSION", default_value = "0.15", value_parser = kserve_version)]
    pub kserve_version: [u64; 2],
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

fn kserve_version(v: &str) -> Result<[u64; 2], String> {
    check::model::parse_kserve_version(v)
        .ok_or_else(|| format!("`{v}` is not a version such as 0.15"))
}

/// Standard input, capped like any config file.
fn read_stdin() -> Result<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::io::stdin()
        .take(check::MAX_FILE + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > check::MAX_FILE {
        anyhow::bail!(
            "standard input is over the 16 MiB limit for a config file; split the rendered output"
        );
    }
    let text = String::from_utf8(buf).map_err(|e| {
        anyhow::anyhow!(
            "standard input is not UTF-8 (invalid byte at offset {}); it was not checked",
            e.utf8_error().valid_up_to()
        )
    })?;
    // Nothing rendered is not a clean deployment: the command before the pipe most likely failed.
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        anyhow::bail!(
            "standard input is empty: nothing was checked (did the command before the pipe fail? \
             run it alone, e.g. `helm template RELEASE CHART > rendered.yaml`, then `modelsec check rendered.yaml`)"
        );
    }
    Ok(text)
}

pub fn run(a: CheckArgs) -> Result<ExitStatus> {
    let set = PolicySet::load(&a.policy)?;
    let dash = std::path::Path::new("-");
    let stdin = if a.paths.iter().any(|p| p == dash) {
        let text = read_stdin()?;
        Some((
            a.stdin_name.clone(),
            text.strip_prefix('\u{feff}')
                .map(str::to_string)
                .unwrap_or(text),
        ))
    } else {
        None
    };
    let opts = check::CheckOptions {
        paths: a.paths.into_iter().filter(|p| p != dash).collect(),
        stdin,
        kserve_version: a.kserve_version,
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
