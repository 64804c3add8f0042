//! `threats`: threat models (TOML in `threat-models/`) mapped to the controls that mitigate
//! each threat — `check` rules, and the other capabilities (signature verified, model scanned,
//! fuzzing, runtime monitoring) evidenced by their JSON reports.
//!
//! ```toml
//! [threat_model]
//! id = "llm-inference-api"
//! title = "LLM inference API"
//! exposure = "internet"            # internet | internal | local: escalates rule severities
//! description = "…"
//!
//! [[threat]]
//! id = "unauthenticated-use"
//! title = "Anyone who reaches the API uses the model"
//! area = "Secure deployment"       # NCSC/CISA guideline area
//! atlas = ["AML.T0040"]
//! controls = [
//!   { rule = "vllm/no-api-key" },              # a check rule id (a trailing * matches a family)
//!   { capability = "monitor", why = "rate limits and abuse signals" },
//! ]
//! ```
//!
//! A threat is *mitigated* when a control passes and none fails, *weakened* when one passes but
//! another fails (a failing control is an open path whatever else passes), and *unmitigated*
//! when no control passes. Rule controls pass when the rule applied to something in the configs
//! and found nothing; capability controls pass on a passing modelsec report given as evidence.

use crate::check::Exposure;
use crate::report::diag::{ConfigError as PolicyError, Diagnostics as Errors};

fn render(name: &str, text: &str, errors: &Errors) -> PolicyError {
    crate::report::diag::render("threat model", name, text, errors)
}
use crate::check::{CheckResult, PolicySet};
use crate::report::{Finding, Location, Report, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

mod assess;
pub use assess::{AssessOptions, Assessment, ThreatError, assess, select_models};

/// The built-in threat models.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "classifier-http-k8s.toml",
        include_str!("../../threat-models/classifier-http-k8s.toml"),
    ),
    (
        "llm-inference-api.toml",
        include_str!("../../threat-models/llm-inference-api.toml"),
    ),
];

/// A modelsec capability a threat-model control can name, evidenced by a passing modelsec JSON
/// report of the matching command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// The model's OMS signature is verified.
    Verify,
    /// The model files are scanned for code-execution payloads.
    Scan,
    /// The model's input handling and robustness are fuzzed.
    Fuzz,
    /// Requests are monitored at run time; evidenced by `log verify` on the monitor's log.
    Monitor,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 4] = [
        Capability::Verify,
        Capability::Scan,
        Capability::Fuzz,
        Capability::Monitor,
    ];

    /// The name threat models use.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Verify => "verify",
            Capability::Scan => "scan",
            Capability::Fuzz => "fuzz",
            Capability::Monitor => "monitor",
        }
    }

    /// The capability with this name.
    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The `command` of the report that evidences it. `serve` and `proxy` write an event log,
    /// not a report: the monitor is evidenced by `log verify` on that log (the monitor ran, and
    /// its record is intact).
    pub fn evidence_command(self) -> &'static str {
        match self {
            Capability::Verify => "verify",
            Capability::Scan => "scan",
            Capability::Fuzz => "fuzz",
            Capability::Monitor => "log verify",
        }
    }

    /// The command to run for that evidence.
    pub fn evidence_hint(self) -> &'static str {
        match self {
            Capability::Verify => "modelsec verify MODEL --key KEY --format json",
            Capability::Scan => "modelsec scan MODEL --format json",
            Capability::Fuzz => "modelsec fuzz MODEL.onnx --format json",
            Capability::Monitor => "modelsec log verify EVENTS.jsonl --format json",
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

crate::rule_catalogue! {
    UNMITIGATED = ("threat/unmitigated", High,
        "A threat in the threat model has no passing control in the configs and evidence given",
        "fix a failing control, or add one of the listed controls (and its evidence)");
    WEAKENED = ("threat/weakened", Medium,
        "A threat has a passing control, but another of its controls fails",
        "a failing control is an open path to the threat whatever else passes; fix it");
}

use crate::report::Rule;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRaw {
    threat_model: Spanned<HeaderRaw>,
    threat: Vec<Spanned<ThreatRaw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderRaw {
    id: Spanned<String>,
    title: String,
    exposure: Spanned<String>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThreatRaw {
    id: Spanned<String>,
    title: String,
    area: Spanned<String>,
    #[serde(default)]
    atlas: Vec<String>,
    #[serde(default)]
    owasp: Vec<String>,
    #[serde(default)]
    severity: Option<Spanned<String>>,
    controls: Vec<Spanned<ControlRaw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlRaw {
    rule: Option<String>,
    capability: Option<String>,
    #[serde(default)]
    why: Option<String>,
}

/// A control: a check rule (or family), or another modelsec capability.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase", tag = "kind", content = "name")]
pub enum Control {
    Rule(String),
    Capability(Capability),
}

#[derive(Clone, Debug, Serialize)]
pub struct Threat {
    pub id: String,
    pub title: String,
    pub area: String,
    pub atlas: Vec<String>,
    pub owasp: Vec<String>,
    pub severity: Severity,
    pub controls: Vec<(Control, Option<String>)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ThreatModel {
    pub id: String,
    pub title: String,
    pub exposure: Exposure,
    pub description: String,
    pub threats: Vec<Threat>,
    pub source: String,
}

/// The NCSC/CISA guideline areas a threat can sit in.
pub const AREAS: &[&str] = &[
    "Secure design",
    "Secure development",
    "Secure deployment",
    "Secure operation and maintenance",
];

/// Parse and validate a threat model against the rules it may name.
pub fn load(name: &str, text: &str, policy: &PolicySet) -> Result<ThreatModel, PolicyError> {
    let mut errors = Errors::new();
    let raw: FileRaw = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            errors.push(e.span().unwrap_or(0..0), e.message().trim().to_string());
            return Err(render(name, text, &errors));
        }
    };
    let h = raw.threat_model.get_ref();
    let exposure = Exposure::parse(h.exposure.get_ref());
    if exposure.is_none() {
        errors.push_note(
            h.exposure.span(),
            format!("unknown exposure `{}`", h.exposure.get_ref()),
            "exposures: internet, internal, local",
        );
    }
    let mut threats = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for t in &raw.threat {
        let tr = t.get_ref();
        if ids.contains(tr.id.get_ref()) {
            errors.push(
                tr.id.span(),
                format!("duplicate threat id `{}`", tr.id.get_ref()),
            );
        }
        ids.push(tr.id.get_ref().clone());
        if !AREAS.contains(&tr.area.get_ref().as_str()) {
            errors.push_note(
                tr.area.span(),
                format!("unknown guideline area `{}`", tr.area.get_ref()),
                format!("areas: {}", AREAS.join(", ")),
            );
        }
        if tr.atlas.is_empty() && tr.owasp.is_empty() {
            errors.push(
                tr.id.span(),
                "a threat cites at least one MITRE ATLAS or OWASP id",
            );
        }
        // A threat's severity must fail the run when it is unmitigated, so not `info`.
        let severity = match tr.severity.as_ref().map(|s| s.get_ref().as_str()) {
            None => Severity::High,
            Some(name) if Severity::parse(name).is_some_and(|s| s.fails()) => {
                Severity::parse(name).expect("checked")
            }
            Some(other) => {
                errors.push(
                    tr.severity.as_ref().map(|s| s.span()).unwrap_or(0..0),
                    format!("unknown severity `{other}`: use low, medium, high or critical"),
                );
                Severity::High
            }
        };
        if tr.controls.is_empty() {
            errors.push(tr.id.span(), "a threat lists at least one control");
        }
        let mut controls = Vec::new();
        for c in &tr.controls {
            let cr = c.get_ref();
            match (&cr.rule, &cr.capability) {
                (Some(r), None) => {
                    if !policy
                        .rules
                        .iter()
                        .any(|x| crate::check::id_matches(r, &x.id))
                    {
                        errors.push_note(
                            c.span(),
                            format!("no rule matches `{r}`"),
                            "name a rule id from `modelsec rules` (a trailing * matches a family, e.g. \"k8s/*\")",
                        );
                    }
                    controls.push((Control::Rule(r.clone()), cr.why.clone()));
                }
                (None, Some(cap)) => match Capability::parse(cap) {
                    Some(cap) => controls.push((Control::Capability(cap), cr.why.clone())),
                    None => errors.push_note(
                        c.span(),
                        format!("unknown capability `{cap}`"),
                        "capabilities: verify, scan, fuzz, monitor",
                    ),
                },
                _ => errors.push(
                    c.span(),
                    "a control is either { rule = \"…\" } or { capability = \"…\" }",
                ),
            }
        }
        threats.push(Threat {
            id: tr.id.get_ref().clone(),
            title: tr.title.clone(),
            area: tr.area.get_ref().clone(),
            atlas: tr.atlas.clone(),
            owasp: tr.owasp.clone(),
            severity,
            controls,
        });
    }
    let Some(exposure) = exposure.filter(|_| errors.list.is_empty()) else {
        return Err(render(name, text, &errors));
    };
    Ok(ThreatModel {
        id: h.id.get_ref().clone(),
        title: h.title.clone(),
        exposure,
        description: h.description.trim().to_string(),
        threats,
        source: name.to_string(),
    })
}

/// Every built-in threat model.
pub fn builtin(policy: &PolicySet) -> Result<Vec<ThreatModel>, PolicyError> {
    BUILTIN
        .iter()
        .map(|(n, t)| load(&format!("builtin:threat-models/{n}"), t, policy))
        .collect()
}

/// Status of one control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    /// Failing, but waived by a valid suppression.
    Waived,
    /// Nothing in the configs or evidence shows this control.
    NotEvidenced,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Waived => "waived",
            Status::NotEvidenced => "not evidenced",
        }
    }
}

/// A modelsec JSON report given as evidence for a capability.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub path: String,
    pub command: String,
    pub verdict: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ControlResult {
    pub control: Control,
    pub status: Status,
    pub detail: String,
}

/// How a threat stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreatStatus {
    /// At least one control passes and none fails.
    Mitigated,
    /// A control passes, but another fails (or is waived).
    Weakened,
    /// No control passes.
    Unmitigated,
}

impl ThreatStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ThreatStatus::Mitigated => "mitigated",
            ThreatStatus::Weakened => "weakened",
            ThreatStatus::Unmitigated => "UNMITIGATED",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ThreatResult {
    pub id: String,
    pub title: String,
    pub area: String,
    pub atlas: Vec<String>,
    pub status: ThreatStatus,
    pub controls: Vec<ControlResult>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    pub model: String,
    pub title: String,
    pub exposure: Exposure,
    pub threats: Vec<ThreatResult>,
}

/// Judge each threat's controls from a check run (with the model's exposure) and evidence.
pub fn evaluate(model: &ThreatModel, check: &CheckResult, evidence: &[Evidence]) -> Coverage {
    let threats = model
        .threats
        .iter()
        .map(|t| {
            let controls: Vec<ControlResult> = t
                .controls
                .iter()
                .map(|(c, why)| {
                    let (status, detail) = match c {
                        Control::Rule(pattern) => {
                            let (mut applied, mut failed, mut waived) = (0, 0, 0);
                            for (id, o) in &check.outcomes {
                                if crate::check::id_matches(pattern, id) {
                                    applied += o.applied;
                                    failed += o.failed - o.suppressed.min(o.failed);
                                    waived += o.suppressed;
                                }
                            }
                            if failed > 0 {
                                (
                                    Status::Fail,
                                    format!("{failed} of {applied} checked subject(s) fail"),
                                )
                            } else if waived > 0 {
                                (Status::Waived, format!("{waived} failure(s) suppressed"))
                            } else if applied > 0 {
                                (Status::Pass, format!("{applied} checked subject(s) pass"))
                            } else {
                                (
                                    Status::NotEvidenced,
                                    "nothing in the configs this rule applies to".to_string(),
                                )
                            }
                        }
                        Control::Capability(cap) => {
                            let command = cap.evidence_command();
                            let reports: Vec<&Evidence> =
                                evidence.iter().filter(|e| e.command == command).collect();
                            if reports.iter().any(|e| e.verdict == "fail") {
                                let e =
                                    reports.iter().find(|e| e.verdict == "fail").expect("found");
                                (Status::Fail, format!("{} reports fail", e.path))
                            } else if let Some(e) = reports.first() {
                                (Status::Pass, format!("{} reports pass", e.path))
                            } else {
                                (
                                    Status::NotEvidenced,
                                    format!(
                                        "no `{}` report given (--evidence)",
                                        cap.evidence_hint()
                                    ),
                                )
                            }
                        }
                    };
                    let detail = match why {
                        Some(w) => format!("{detail}; {w}"),
                        None => detail,
                    };
                    ControlResult {
                        control: c.clone(),
                        status,
                        detail,
                    }
                })
                .collect();
            ThreatResult {
                id: t.id.clone(),
                title: t.title.clone(),
                area: t.area.clone(),
                atlas: t.atlas.clone(),
                status: if !controls.iter().any(|c| c.status == Status::Pass) {
                    ThreatStatus::Unmitigated
                } else if controls
                    .iter()
                    .any(|c| matches!(c.status, Status::Fail | Status::Waived))
                {
                    ThreatStatus::Weakened
                } else {
                    ThreatStatus::Mitigated
                },
                controls,
            }
        })
        .collect();
    Coverage {
        model: model.id.clone(),
        title: model.title.clone(),
        exposure: model.exposure,
        threats,
    }
}

/// Read a modelsec JSON report given as evidence.
pub fn read_evidence(path: &str, text: &str) -> Result<Evidence, String> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("{path} is not a modelsec JSON report: {e}"))?;
    let command = v["command"].as_str().ok_or_else(|| {
        format!(
            "{path} has no `command`: give a report written by `modelsec <command> --format json`"
        )
    })?;
    let verdict = v["summary"]["verdict"]
        .as_str()
        .ok_or_else(|| format!("{path} has no summary.verdict"))?;
    Ok(Evidence {
        path: path.to_string(),
        command: command.to_string(),
        verdict: verdict.to_string(),
    })
}

/// A report of threat coverage: one finding per threat without a passing control (fails the
/// run), one info finding per partly covered threat; the coverage itself in `facts.threats`.
pub fn report(models: &[ThreatModel], coverage: &[Coverage], targets: Vec<String>) -> Report {
    let mut report = Report::new("threats", ALL);
    report.targets = targets;
    for (m, c) in models.iter().zip(coverage) {
        for (t, r) in m.threats.iter().zip(&c.threats) {
            let loc = Location::path(m.source.clone());
            let not_passing: Vec<String> = r
                .controls
                .iter()
                .filter(|x| x.status != Status::Pass)
                .map(|x| format!("{} ({})", control_name(&x.control), x.status.as_str()))
                .collect();
            let failing: Vec<String> = r
                .controls
                .iter()
                .filter(|x| matches!(x.status, Status::Fail | Status::Waived))
                .map(|x| format!("{} ({})", control_name(&x.control), x.status.as_str()))
                .collect();
            if r.status == ThreatStatus::Unmitigated {
                report.push(
                    Finding::new(
                        &UNMITIGATED,
                        format!(
                            "{}: threat `{}` ({}) has no passing control: {}",
                            m.id,
                            t.id,
                            t.title,
                            not_passing.join(", ")
                        ),
                    )
                    .with_severity(t.severity)
                    .at(loc),
                );
            } else if r.status == ThreatStatus::Weakened {
                report.push(
                    Finding::new(
                        &WEAKENED,
                        format!(
                            "{}: threat `{}` ({}) has a passing control, but these fail: {}",
                            m.id,
                            t.id,
                            t.title,
                            failing.join(", ")
                        ),
                    )
                    .at(loc),
                );
            }
        }
    }
    report.fact(
        "threats",
        serde_json::to_value(coverage).unwrap_or_default(),
    );
    let total: usize = coverage.iter().map(|c| c.threats.len()).sum();
    let mitigated: usize = coverage
        .iter()
        .map(|c| {
            c.threats
                .iter()
                .filter(|t| t.status == ThreatStatus::Mitigated)
                .count()
        })
        .sum();
    report.fact("threats_mitigated", format!("{mitigated} of {total}"));
    report.finish();
    report
}

pub fn control_name(c: &Control) -> String {
    match c {
        Control::Rule(r) => r.clone(),
        Control::Capability(c) => format!("capability:{c}"),
    }
}

/// The coverage as text for people.
pub fn render_human(coverage: &[Coverage], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for c in coverage {
        writeln!(out, "{} — {} (exposure: {})", c.model, c.title, c.exposure)?;
        for t in &c.threats {
            writeln!(
                out,
                "  {:<11} {} — {} [{}; {}]",
                t.status.as_str(),
                t.id,
                t.title,
                t.area,
                t.atlas.join(", ")
            )?;
            for ctl in &t.controls {
                writeln!(
                    out,
                    "      {:<14} {:<40} {}",
                    ctl.status.as_str(),
                    control_name(&ctl.control),
                    ctl.detail
                )?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Counts per threat model for the summary line.
pub fn tally(coverage: &[Coverage]) -> BTreeMap<String, (usize, usize)> {
    coverage
        .iter()
        .map(|c| {
            (
                c.model.clone(),
                (
                    c.threats
                        .iter()
                        .filter(|t| t.status == ThreatStatus::Mitigated)
                        .count(),
                    c.threats.len(),
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_models_load_and_name_real_rules() {
        let p = PolicySet::builtin().unwrap();
        let models = builtin(&p).unwrap();
        assert!(models.len() >= 2);
        for m in &models {
            assert!(m.threats.len() >= 4, "{} has few threats", m.id);
        }
    }

    #[test]
    fn unknown_rule_is_an_error_with_position() {
        let p = PolicySet::builtin().unwrap();
        let text = "[threat_model]\nid = \"x\"\ntitle = \"x\"\nexposure = \"internet\"\n\n[[threat]]\nid = \"t\"\ntitle = \"t\"\narea = \"Secure deployment\"\natlas = [\"AML.T0040\"]\ncontrols = [{ rule = \"nope/rule\" }]\n";
        let e = load("m.toml", text, &p).unwrap_err();
        assert!(
            e.rendered.contains("no rule matches `nope/rule`"),
            "{}",
            e.rendered
        );
        assert_eq!(e.errors[0].0, 11);
    }
}
