//! One reading of the board for `jetstress probe`: two samples
//! [`PROBE_GAP`] apart, so rates (CPU load, power) are defined.

use std::time::Duration;

use super::{Prober, Root, Watch};
use crate::snapshot::Snapshot;

/// Gap between the two samples.
pub const PROBE_GAP: Duration = Duration::from_millis(250);

/// Sample twice, [`PROBE_GAP`] apart, and return the second snapshot.
pub fn read_twice(root: Root, watches: Vec<Watch>) -> Snapshot {
    let mut prober = Prober::new(root, watches);
    let _ = prober.sample();
    std::thread::sleep(PROBE_GAP);
    prober.sample()
}
