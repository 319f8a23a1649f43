//! Run reports: acceptance verdicts ([`criteria`]).

pub mod criteria;
