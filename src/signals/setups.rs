use super::{Signal, Thresholds};
use crate::model::SignalInputs;

pub(super) fn evaluate_into(_inputs: &SignalInputs, _th: &Thresholds, _out: &mut Vec<Signal>) {}
