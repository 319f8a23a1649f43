//! One file per subcommand: arguments → plan → library → output and exit code.

pub mod probe;
pub mod run;
