//! [`Report`] → SARIF 2.1.0 through the `serde-sarif` model.
//!
//! One run; one rule per catalogue entry (with `security-severity` so code scanning ranks it);
//! 1-based lines; a namespaced partial fingerprint (rule, file, member, byte offset, message — not
//! the line) so results stay stable across runs and edits.

use super::{Finding, Report, Severity};
use serde_sarif::sarif;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFO_URI: &str = "https://github.com/modelsec/modelsec";

fn level(s: Severity) -> sarif::ResultLevel {
    match s {
        Severity::Info => sarif::ResultLevel::Note,
        Severity::Low | Severity::Medium => sarif::ResultLevel::Warning,
        Severity::High | Severity::Critical => sarif::ResultLevel::Error,
    }
}

fn bag(entries: &[(&str, serde_json::Value)]) -> sarif::PropertyBag {
    let map: BTreeMap<String, serde_json::Value> = entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    sarif::PropertyBag::builder()
        .additional_properties(map)
        .build()
}

fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.rule_id.as_bytes());
    h.update([0]);
    if let Some(l) = &f.location {
        h.update(l.path.as_bytes());
        h.update([0]);
        h.update(l.member.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
        // Not the line: a finding keeps its fingerprint when lines above it move (config
        // findings name their resource and value in the message). Byte offsets stay: they tell
        // apart payloads inside one binary file.
        h.update(l.offset.unwrap_or(0).to_le_bytes());
    }
    h.update([0]);
    h.update(f.message.as_bytes());
    hex::encode(&h.finalize()[..16])
}

fn location(f: &Finding) -> Option<sarif::Location> {
    let l = f.location.as_ref()?;
    let artifact = sarif::ArtifactLocation::builder()
        .uri(l.path.clone())
        .build();
    let region = match (l.line, l.column, l.offset) {
        (None, None, None) => None,
        (line, column, offset) => {
            let mut r = sarif::Region::builder().build();
            r.start_line = line.map(|v| v as i64);
            r.start_column = column.map(|v| v as i64);
            r.byte_offset = offset.map(|v| v as i64);
            Some(r)
        }
    };
    let mut physical = sarif::PhysicalLocation::builder()
        .artifact_location(artifact)
        .build();
    physical.region = region;
    let mut loc = sarif::Location::builder()
        .physical_location(physical)
        .build();
    if let Some(member) = &l.member {
        loc.logical_locations = Some(vec![
            sarif::LogicalLocation::builder()
                .fully_qualified_name(format!("{}!{member}", l.path))
                .kind("member".to_string())
                .build(),
        ]);
    }
    Some(loc)
}

pub(super) fn to_sarif(report: &Report) -> sarif::Sarif {
    // Rules: the catalogue, plus any rule id a finding uses that the catalogue lacks.
    let mut rules: Vec<(String, String, Severity, String, Option<String>)> = report
        .rules
        .iter()
        .map(|r| {
            (
                r.id.to_string(),
                r.description.to_string(),
                r.severity,
                r.help.to_string(),
                r.help_uri.clone(),
            )
        })
        .collect();
    for f in &report.findings {
        if !rules.iter().any(|r| r.0 == f.rule_id) {
            rules.push((
                f.rule_id.clone(),
                f.rule_id.clone(),
                f.severity,
                f.help.clone().unwrap_or_default(),
                None,
            ));
        }
    }
    let descriptors: Vec<sarif::ReportingDescriptor> = rules
        .iter()
        .map(|(id, description, severity, help, uri)| {
            let mut d = sarif::ReportingDescriptor::builder()
                .id(id.clone())
                .name(id.clone())
                .short_description(description)
                .full_description(description)
                .help(help)
                .properties(bag(&[
                    (
                        "security-severity",
                        serde_json::Value::from(severity.security_severity()),
                    ),
                    ("tags", serde_json::json!(["security"])),
                ]))
                .build();
            d.help_uri = uri.clone();
            d.default_configuration = Some(
                sarif::ReportingConfiguration::builder()
                    .level(serde_json::to_value(level(*severity)).unwrap_or_default())
                    .build(),
            );
            d
        })
        .collect();

    let results: Vec<sarif::Result> = report
        .findings
        .iter()
        .map(|f| {
            let index = rules.iter().position(|r| r.0 == f.rule_id).unwrap_or(0) as i64;
            let text = match &f.help {
                Some(h) => format!("{}\nhelp: {h}", f.message),
                None => f.message.clone(),
            };
            let mut fp = BTreeMap::new();
            fp.insert("modelsec/v1".to_string(), fingerprint(f));
            let mut r = sarif::Result::builder()
                .rule_id(f.rule_id.clone())
                .rule_index(index)
                .level(level(f.severity))
                .message(sarif::Message::builder().text(text).build())
                .partial_fingerprints(fp)
                .properties(bag(&[
                    ("severity", serde_json::Value::from(f.severity.as_str())),
                    (
                        "security-severity",
                        serde_json::Value::from(f.severity.security_severity()),
                    ),
                ]))
                .build();
            if let Some(rep) = &f.reproducer
                && let Some(props) = r.properties.as_mut()
            {
                props
                    .additional_properties
                    .insert("reproducer".into(), rep.clone());
            }
            if let Some(loc) = location(f) {
                r.locations = Some(vec![loc]);
            }
            if let Some(sup) = &f.suppressed {
                let kind = if sup.kind == super::SuppressionKind::Config {
                    "external"
                } else {
                    "inSource"
                };
                let value = serde_json::json!({
                    "kind": kind,
                    "status": "accepted",
                    "justification": format!("{} (until {}; {})", sup.reason, sup.expires, sup.origin),
                });
                r.suppressions = serde_json::from_value(serde_json::json!([value])).ok();
            }
            r
        })
        .collect();

    let driver = sarif::ToolComponent::builder()
        .name(report.tool.name.clone())
        .version(report.tool.version.clone())
        .semantic_version(report.tool.version.clone())
        .information_uri(INFO_URI.to_string())
        .rules(descriptors)
        .build();
    let facts: Vec<(&str, serde_json::Value)> = report
        .facts
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let invocation = sarif::Invocation::builder()
        .execution_successful(true)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .properties(bag(&[
            ("command", serde_json::Value::from(report.command.clone())),
            ("targets", serde_json::json!(report.targets)),
            (
                "facts",
                serde_json::json!(facts.into_iter().collect::<BTreeMap<_, _>>()),
            ),
            (
                "verdict",
                serde_json::Value::from(report.summary.verdict.clone()),
            ),
        ]))
        .build();
    sarif::Sarif::builder()
        .schema(SCHEMA.to_string())
        .version(serde_json::Value::from("2.1.0"))
        .runs(vec![run])
        .build()
}

#[cfg(test)]
mod tests {
    use crate::report::{Finding, Format, Location, Report, Rule, Severity};

    const RULE: Rule = Rule::builtin(
        "verify/file-modified",
        Severity::Critical,
        "a signed file's content changed",
        "restore the file",
    );

    #[test]
    fn sarif_has_rules_levels_and_one_based_lines() {
        let mut r = Report::new("verify", &[RULE]);
        r.push(Finding::new(&RULE, "changed").at(Location {
            path: "config.json".into(),
            line: Some(3),
            column: Some(1),
            ..Location::default()
        }));
        r.finish();
        let mut out = Vec::new();
        r.render(Format::Sarif, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "modelsec");
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
            "9.5"
        );
        let res = &run["results"][0];
        assert_eq!(res["ruleId"], "verify/file-modified");
        assert_eq!(res["level"], "error");
        let region = &res["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 3, "SARIF lines are 1-based, as given");
        assert_eq!(
            res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "config.json"
        );
        assert!(res["partialFingerprints"]["modelsec/v1"].is_string());
    }
}
