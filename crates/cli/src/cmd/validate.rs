//! `hashpivot` command module (to be filled in by its owner).

use crate::Global;

/// Arguments (placeholder until implemented).
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {}

/// Runs the command.
pub fn run(_args: &ValidateArgs, _g: &Global) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
