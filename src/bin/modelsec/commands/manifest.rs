//! `modelsec manifest`: what `sign` would sign, with digests.

use crate::{output, progress};
use anyhow::{Context, Result};
use modelsec::report::ExitStatus;
use modelsec::signing::{self, ManifestOptions};
use std::path::PathBuf;

/// Output format of `manifest`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ManifestFormat {
    /// A table: digest, size, path.
    Human,
    /// One JSON document.
    Json,
}

/// Arguments of `modelsec manifest`.
#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// Model directory or file.
    pub model: PathBuf,
    /// Leave this path out; repeatable.
    #[arg(long, value_name = "PATH")]
    pub ignore: Vec<String>,
    /// Include file symlinks that point inside the model.
    #[arg(long)]
    pub allow_symlinks: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ManifestFormat::Human)]
    pub format: ManifestFormat,
}

pub fn run(a: ManifestArgs) -> Result<ExitStatus> {
    let opts = ManifestOptions {
        ignore: a.ignore,
        allow_symlinks: a.allow_symlinks,
        signature: None,
    };
    let m = signing::manifest(&a.model, &opts, &progress::Bytes::new())
        .with_context(|| format!("could not read `{}`", a.model.display()))?;
    output::stdout(ExitStatus::Clean, |out| match a.format {
        ManifestFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &m)?;
            writeln!(out)
        }
        ManifestFormat::Human => {
            let width = m
                .files
                .iter()
                .map(|f| f.size.to_string().len())
                .max()
                .unwrap_or(1);
            for f in &m.files {
                let name = modelsec::report::escape::line(&f.name);
                writeln!(out, "{}  {:>width$}  {name}", f.digest, f.size)?;
            }
            writeln!(
                out,
                "{} file(s), {} bytes; subject {} sha256:{}",
                m.files.len(),
                m.total_bytes,
                modelsec::report::escape::line(&m.subject_name),
                m.subject_sha256
            )
        }
    })
}
