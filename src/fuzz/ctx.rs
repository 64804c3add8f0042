//! The running fuzz session: the model, the report, the clock and budget, and the event stream
//! a supervising process reads (each probe as it starts, each finding and fact as it is made),
//! so a crash or a hang loses nothing found before it.

use super::rules;
use crate::onnx::{Data, Model, Outputs};
use crate::report::{Finding, Location, Report};
use crate::util::Rng;
use std::time::{Duration, Instant};

/// Where a session's progress goes as it happens.
pub trait Events {
    /// A probe starts: its stable id, what it does, how long it may take before it counts as
    /// hung, and its input's shapes (the reproducer if it crashes the runtime).
    fn stage(
        &mut self,
        id: &str,
        text: &str,
        limit: Option<Duration>,
        input: Option<&serde_json::Value>,
    );
    /// A finding was made.
    fn finding(&mut self, finding: &Finding);
    /// A fact was recorded.
    fn fact(&mut self, key: &str, value: &serde_json::Value);
}

/// No supervisor: nothing to tell.
pub struct Quiet;

impl Events for Quiet {
    fn stage(&mut self, _: &str, _: &str, _: Option<Duration>, _: Option<&serde_json::Value>) {}
    fn finding(&mut self, _: &Finding) {}
    fn fact(&mut self, _: &str, _: &serde_json::Value) {}
}

/// How a (restarted) worker runs: probes to skip, and the time left.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Control {
    /// Skip every probe up to and including this one (it crashed or hung the runtime).
    pub resume_after: Option<String>,
    /// Probes never to run again.
    pub skip: Vec<String>,
    /// Seconds of budget left (a restarted worker gets what the first did not use).
    pub budget_seconds: Option<f64>,
}

/// The session.
pub struct Ctx<'a> {
    pub model: Model,
    pub report: Report,
    events: &'a mut dyn Events,
    loc: Location,
    pub seed: u64,
    /// Inferences run, and the time spent in them.
    pub runs: usize,
    pub run_time: Duration,
    pub started: Instant,
    /// When the whole budget ends.
    pub deadline: Instant,
    /// When the probes must stop (the attack gets the rest).
    pub probe_deadline: Instant,
    /// Seconds one run of the baseline input takes (once measured).
    pub base_seconds: Option<f64>,
    resume_after: Option<String>,
    skip: Vec<String>,
    /// Probes not run for lack of budget.
    pub over_budget: Vec<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        model: Model,
        report: Report,
        events: &'a mut dyn Events,
        loc: Location,
        seed: u64,
        budget: Duration,
        control: &Control,
    ) -> Self {
        let started = Instant::now();
        let budget = control
            .budget_seconds
            .map(|s| Duration::from_secs_f64(s.max(0.0)))
            .unwrap_or(budget);
        Ctx {
            model,
            report,
            events,
            loc,
            seed,
            runs: 0,
            run_time: Duration::ZERO,
            started,
            deadline: started + budget,
            probe_deadline: started + budget,
            base_seconds: None,
            resume_after: control.resume_after.clone(),
            skip: control.skip.clone(),
            over_budget: vec![],
        }
    }

    /// A generator for probe `id`: the same seed and id give the same values, whatever ran
    /// before (so a restarted worker repeats exactly what a first one would have done).
    pub fn rng(&self, id: &str) -> Rng {
        let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Rng::new(self.seed ^ h)
    }

    /// Start a setup step (always run, even when resuming).
    pub fn setup(&mut self, id: &str, text: &str, input: Option<&serde_json::Value>) {
        let limit = self.limit(1.0);
        self.events.stage(id, text, limit, input);
    }

    /// Start probe `id` of `runs` (in baseline-run units of time): false when it is to be
    /// skipped (resuming past it, or the budget is spent).
    pub fn probe(
        &mut self,
        id: &str,
        text: &str,
        runs: f64,
        input: Option<&serde_json::Value>,
    ) -> bool {
        if let Some(r) = &self.resume_after {
            if r == id {
                self.resume_after = None;
            }
            return false;
        }
        if self.skip.iter().any(|s| s == id) {
            return false;
        }
        let now = Instant::now();
        let expected = self.base_seconds.map(|s| Duration::from_secs_f64(s * runs));
        if now >= self.probe_deadline || expected.is_some_and(|e| now + e > self.deadline) {
            self.over_budget.push(text.to_string());
            return false;
        }
        let limit = self.limit(runs);
        self.events.stage(id, text, limit, input);
        true
    }

    /// How long `runs` baseline runs may take before the probe counts as hung.
    fn limit(&self, runs: f64) -> Option<Duration> {
        self.base_seconds
            .map(|s| Duration::from_secs_f64((s * runs * 30.0).max(10.0) + 5.0))
    }

    /// Run the model once.
    pub fn run(&mut self, data: &[(String, Data)]) -> Result<Outputs, String> {
        self.runs += 1;
        let t = Instant::now();
        let r = self.model.run(data);
        self.run_time += t.elapsed();
        r
    }

    /// Report a finding (located at the model).
    pub fn push(&mut self, finding: Finding) {
        let f = finding.at(self.loc.clone());
        self.events.finding(&f);
        self.report.push(f);
    }

    /// Record a fact.
    pub fn fact(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        let v = value.into();
        self.events.fact(key, &v);
        self.report.fact(key, v);
    }

    /// Say that a probe was skipped and why (the fuzzer's limit, not the model's defect).
    pub fn skipped(&mut self, what: &str, why: &str) {
        self.push(Finding::new(
            &rules::PROBE_SKIPPED,
            format!("{what}: not run: {why}"),
        ));
    }

    /// Seconds left in the whole budget.
    pub fn left(&self) -> f64 {
        self.deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    }
}

/// One set of inputs, by name.
pub type Feed = Vec<(String, Data)>;

/// Input shapes (and values when few) of a probe, for stages and reproducers.
pub fn describe_inputs(
    data: &[(String, Data)],
    seed: u64,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut inputs = serde_json::Map::new();
    for (name, d) in data {
        let mut v = serde_json::json!({ "dtype": d.dtype(), "shape": d.shape() });
        if d.len() <= 64 {
            v["values"] = d.values_json();
        }
        inputs.insert(name.clone(), v);
    }
    let mut r = serde_json::json!({ "input": inputs, "seed": seed });
    if let (Some(r), serde_json::Value::Object(extra)) = (r.as_object_mut(), extra) {
        r.extend(extra);
    }
    r
}

/// `input [0, 576], state [2, 0, 128]`.
pub fn shapes_text(data: &[(String, Data)]) -> String {
    data.iter()
        .map(|(n, d)| format!("{n} {:?}", d.shape()))
        .collect::<Vec<_>>()
        .join(", ")
}
