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
    /// What runs have cost since, per baseline run (see [`Pace`]).
    pub pace: Pace,
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
            pace: Pace::default(),
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
        if Instant::now() >= self.probe_deadline || !self.affords(runs) {
            self.over_budget.push(text.to_string());
            return false;
        }
        let limit = self.limit(runs);
        self.events.stage(id, text, limit, input);
        true
    }

    /// How long `runs` baseline runs may take before the probe counts as hung.
    fn limit(&self, runs: f64) -> Option<Duration> {
        self.per_run()
            .map(|s| Duration::from_secs_f64((s * runs * 30.0).max(10.0) + 5.0))
    }

    /// Seconds one baseline run is expected to take now: the measured baseline, raised when
    /// runs since have been slower (a loaded machine, a model slower than its first timing).
    pub fn per_run(&self) -> Option<f64> {
        self.base_seconds.map(|b| self.pace.per_run(b))
    }

    /// Whether `runs` more baseline runs fit before the budget ends (always, before the
    /// baseline is timed: setup runs are not budgeted).
    pub fn affords(&self, runs: f64) -> bool {
        self.per_run()
            .is_none_or(|s| fits(Instant::now(), s * runs, self.deadline))
    }

    /// Run the model once.
    pub fn run(&mut self, data: &[(String, Data)]) -> Result<Outputs, String> {
        self.runs += 1;
        let t = Instant::now();
        let r = self.model.run(data);
        let took = t.elapsed();
        self.run_time += took;
        if self.base_seconds.is_some() {
            let cost = self.pace.cost(data.iter().map(|(_, d)| d.len()).sum());
            self.pace
                .observe(took.as_secs_f64(), cost, self.base_seconds.unwrap_or(0.0));
        }
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

    /// One info finding for the work not done for lack of budget since the last call.
    pub fn report_over_budget(&mut self, budget_seconds: f64) {
        if self.over_budget.is_empty() {
            return;
        }
        let n = self.over_budget.len();
        let first = self
            .over_budget
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        self.push(Finding::new(
            &rules::PROBE_SKIPPED,
            format!(
                "{n} probe(s) not run or not finished ({first}{}): they did not fit in --budget-seconds {budget_seconds} (raise it to run them)",
                if n > 3 { "; …" } else { "" }
            ),
        ));
        self.over_budget.clear();
    }

    /// Seconds left in the whole budget.
    pub fn left(&self) -> f64 {
        self.deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    }
}

/// Whether work expected to take `seconds` from `now` ends by `deadline`.
pub fn fits(now: Instant, seconds: f64, deadline: Instant) -> bool {
    seconds.is_finite()
        && Duration::try_from_secs_f64(seconds.max(0.0)).is_ok_and(|d| now + d <= deadline)
}

/// What runs actually cost, against the baseline's timing: every run after the baseline is
/// timed reports its seconds and its size in baseline runs (input elements over the baseline's,
/// at least 1); a moving average of seconds per baseline run follows, each run counted at no
/// less than the baseline's median (so fast small probes do not hide a slowdown). The budget checks take the larger of it and
/// the baseline's median, so a machine that slows down, or a model that runs slower than its
/// first timing, makes later work be skipped instead of overrunning `--budget-seconds`.
#[derive(Clone, Debug, Default)]
pub struct Pace {
    /// Input elements of the baseline run (0: unknown, every run counts as one).
    pub base_elements: usize,
    /// Moving average of observed seconds per baseline run.
    observed: Option<f64>,
}

impl Pace {
    /// A run of `elements` input elements, in baseline runs (at least 1).
    pub fn cost(&self, elements: usize) -> f64 {
        if self.base_elements == 0 {
            1.0
        } else {
            (elements as f64 / self.base_elements as f64).max(1.0)
        }
    }

    /// A run of `cost` baseline runs took `seconds` (the baseline's median being `base`).
    pub fn observe(&mut self, seconds: f64, cost: f64, base: f64) {
        if !(seconds.is_finite() && cost > 0.0) {
            return;
        }
        let per = (seconds / cost).max(base);
        self.observed = Some(self.observed.map_or(per, |o| 0.7 * o + 0.3 * per));
    }

    /// Expected seconds per baseline run, given the baseline's own median `base`.
    pub fn per_run(&self, base: f64) -> f64 {
        self.observed.map_or(base, |o| o.max(base))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slower_runs_raise_the_estimate_and_small_ones_never_lower_it() {
        let mut p = Pace {
            base_elements: 100,
            observed: None,
        };
        assert_eq!(p.per_run(0.2), 0.2);
        // A tiny probe (10 elements) counts as one baseline run and is fast: no change.
        p.observe(0.01, p.cost(10), 0.2);
        assert_eq!(p.per_run(0.2), 0.2);
        // A batch of 4 baselines at the baseline's pace: still 0.2 per run.
        assert_eq!(p.cost(400), 4.0);
        p.observe(0.8, p.cost(400), 0.2);
        assert!(
            (p.per_run(0.2) - 0.2).abs() < 0.2 * 0.2,
            "{}",
            p.per_run(0.2)
        );
        // The machine slows down by half: the estimate follows within a few runs.
        for _ in 0..6 {
            p.observe(0.3, 1.0, 0.2);
        }
        assert!(p.per_run(0.2) > 0.28, "{}", p.per_run(0.2));
        // Non-finite or empty observations are ignored.
        let before = p.per_run(0.2);
        p.observe(f64::NAN, 1.0, 0.2);
        p.observe(1.0, 0.0, 0.2);
        assert_eq!(p.per_run(0.2), before);
    }

    #[test]
    fn work_fits_only_when_it_ends_by_the_deadline() {
        let now = Instant::now();
        let deadline = now + Duration::from_secs(10);
        assert!(fits(now, 9.5, deadline));
        assert!(fits(now, 10.0, deadline));
        assert!(!fits(now, 10.5, deadline));
        assert!(!fits(now, f64::INFINITY, deadline));
        assert!(!fits(now, f64::NAN, deadline));
        assert!(fits(now, -1.0, deadline));
        assert!(!fits(deadline + Duration::from_secs(1), 0.0, deadline));
    }
}
