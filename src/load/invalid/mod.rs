//! Invalid inputs: the probes one tool's own `inputSchema` forbids (or
//! allows at its edges), and the judge that tells which. Pure: a schema in,
//! exact arguments out. `jetstress check` sends every probe once; a load
//! phase with `invalid_pct` mixes the ones the schema forbids into its calls.

pub(crate) mod probes;
pub(crate) mod validate;

pub use probes::{
    control_args, derive, show_arguments, Expect, Probe, EXTRA_PROPERTY, HUGE_STRING, MAX_DEPTH,
};
pub use validate::{judge, Verdict};
