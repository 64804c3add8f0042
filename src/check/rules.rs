//! The catalogue of `check`'s own rule ids (the policy rules live in `policies/check/*.toml`).
//! Ids are stable: never rename one, add a new one instead.

use crate::report::{Rule, Severity};

crate::rule_catalogue! {
    UNRECOGNISED = ("check/unrecognised-file", Info,
        "A file is not a config format modelsec reads, so no rule looked at it",
        "formats: Kubernetes/compose/generic YAML, JSON, TOML, .properties, INI, .env, Dockerfile, systemd units, Jupyter config, requirements.txt; rename the file so its format is recognised");
    PARSE_ERROR = ("check/parse-error", High,
        "A config file could not be parsed, so it was not checked (fail closed)",
        "fix the syntax at the position shown; a Helm chart must be rendered first (helm template … > rendered.yaml)");
    UNREADABLE = ("check/unreadable", High,
        "A config file could not be read (permissions, not UTF-8, too large), so it was not checked",
        "make the file readable as UTF-8 text under 16 MiB, or leave it out of the paths given");
    SUPPRESSION_EXPIRED = ("check/suppression-expired", Medium,
        "A suppression's expiry date has passed; it no longer hides its finding",
        "fix the finding, or renew the suppression with a new reason and expiry date after review");
    SUPPRESSION_INVALID = ("check/suppression-invalid", Medium,
        "A suppression lacks a reason or a valid expiry date, or names no rule; it hides nothing",
        "write it as: RULE-ID expires=YYYY-MM-DD reason=\"why this is acceptable\"");
}
