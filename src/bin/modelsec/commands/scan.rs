//! `modelsec scan`: model files for code-execution payloads.

use crate::{output, progress};
use anyhow::{Context, Result, bail};
use modelsec::report::{ExitStatus, Format};
use modelsec::scan::{self, Allowlist, Limits, ScanOptions};
use modelsec::util::fs::{self, WriteOptions};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `modelsec scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files or directories (scanned recursively).
    #[arg(value_name = "PATH", required_unless_present_any = ["print_allowlist", "list_profiles"])]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Extra allow-list (TOML, same shape as policies/scan.toml); repeatable. Entries for
    /// known-dangerous globals are refused.
    #[arg(long, value_name = "FILE")]
    pub allowlist: Vec<PathBuf>,
    /// A reviewed allow-list profile shipped with modelsec (see --list-profiles); repeatable.
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,
    /// Exit 0 even when no file is a model file (by default that is a finding: a scan that
    /// read nothing proves nothing).
    #[arg(long)]
    pub allow_empty: bool,
    /// Time budget per top-level file, in seconds, across every archive nested in it.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
    /// Write allow-list entries (TOML) for the unknown globals found, for review; the report
    /// is shown as usual. Refuses to overwrite an existing file.
    #[arg(long, value_name = "FILE")]
    pub emit_allowlist: Option<PathBuf>,
    /// With --emit-allowlist: replace an existing file.
    #[arg(long, requires = "emit_allowlist")]
    pub force: bool,
    /// Print the allow-list in effect (built-in, profiles, --allowlist files) and exit.
    #[arg(long)]
    pub print_allowlist: bool,
    /// List the allow-list profiles and exit.
    #[arg(long)]
    pub list_profiles: bool,
}

pub fn run(a: ScanArgs) -> Result<ExitStatus> {
    if a.list_profiles {
        return output::stdout(ExitStatus::Clean, |out| {
            for p in scan::PROFILES {
                writeln!(out, "{:<18} {}", p.name, p.summary)?;
            }
            Ok(())
        });
    }
    let allowlist = Allowlist::with_profiles(&a.profile, &a.allowlist)?;
    if a.print_allowlist {
        return output::stdout(ExitStatus::Clean, |out| {
            writeln!(out, "# allow-list digest {}", allowlist.digest())?;
            for (source, text) in allowlist.texts() {
                writeln!(out, "\n# ===== {source} =====\n")?;
                out.write_all(text.as_bytes())?;
            }
            Ok(())
        });
    }
    if a.timeout == 0 {
        bail!("--timeout must be at least 1 second");
    }
    if let Some(path) = &a.emit_allowlist {
        fs::check_writable(path, a.force)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    let opts = ScanOptions {
        allow_empty: a.allow_empty,
        limits: Limits {
            time: Duration::from_secs(a.timeout),
            ..Limits::default()
        },
        ..ScanOptions::new(&allowlist)
    };
    let (report, _) = scan::scan_with(&a.paths, &opts, &progress::Files::new())?;
    if let Some(path) = &a.emit_allowlist {
        let toml = scan::emit::allowlist_toml(&report);
        if toml.is_empty() {
            eprintln!("no unknown globals: nothing written to {}", path.display());
        } else {
            let opts = WriteOptions {
                mode: 0o644,
                overwrite: a.force,
            };
            fs::write_atomic(path, toml.as_bytes(), opts)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            let entries = toml.matches("[[allow]]").count();
            eprintln!(
                "wrote {entries} allow-list entr{} to {} for review",
                if entries == 1 { "y" } else { "ies" },
                path.display()
            );
        }
    }
    output::report(&report, a.format)
}
