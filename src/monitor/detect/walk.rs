//! Label flips at low margins among a client's recent answers.

use std::collections::VecDeque;

/// Recent (label, margin) of one client, for the boundary-walk signal.
#[derive(Clone, Debug, Default)]
pub struct Walk {
    recent: VecDeque<(usize, f32)>,
}

impl Walk {
    /// Record one answer; the label flips at margins below `margin` among the last 64.
    pub fn observe(&mut self, label: usize, m: f32, margin: f32) -> usize {
        self.recent.push_back((label, m));
        if self.recent.len() > 64 {
            self.recent.pop_front();
        }
        self.recent
            .iter()
            .zip(self.recent.iter().skip(1))
            .filter(|(a, b)| a.0 != b.0 && a.1 < margin && b.1 < margin)
            .count()
    }
}
