//! Sweeps (MODEL.md section 12): a grid of scenarios that differ in a few numeric keys (named as
//! in [`super::keys`], the one key table), each run like `simulate`, one row per grid point.
//!
//! A grid file is TOML, either a Cartesian product of axes (the first axis varies slowest):
//!
//! ```toml
//! base = "site.toml"            # optional; relative to the grid file; default: the embedded scenario
//! [[axis]]
//! key = "price.vol"
//! values = [0.4, 0.6]
//! [[axis]]
//! key = "ai.lease_usd_per_kw_month"
//! values = [100, 130, 160]
//! ```
//!
//! or an explicit list of points:
//!
//! ```toml
//! keys = ["price.vol", "ai.lease_usd_per_kw_month"]
//! points = [[0.4, 100], [0.6, 160]]
//! ```

use serde::{Deserialize, Serialize};

use super::keys::{numeric_key, KEYS};
use crate::result::{SimOutput, StrategyResult};
use crate::{ModelError, RunConfig, Scenario};

/// Most grid points one grid may have.
pub const MAX_POINTS: usize = 10_000;

/// The grid file as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct GridFile {
    base: Option<String>,
    #[serde(default)]
    axis: Vec<Axis>,
    keys: Option<Vec<String>>,
    points: Option<Vec<Vec<f64>>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Axis {
    key: String,
    values: Vec<f64>,
}

/// A parsed grid: the keys it sets and the values of each point (checked against the key table;
/// the values are checked against the scenario by [`Grid::scenarios`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The base scenario file named by `base`, if any (relative to the grid file).
    pub base: Option<String>,
    /// Keys set at every point, in the file's order.
    pub keys: Vec<String>,
    /// Per point, the value of each key.
    pub points: Vec<Vec<f64>>,
}

/// A bad grid: the message names the key, the value and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct GridError(pub String);

fn allowed_keys() -> String {
    KEYS.iter().map(|k| k.key).collect::<Vec<_>>().join(", ")
}

impl Grid {
    /// Parses and checks a grid file's text.
    pub fn parse(text: &str) -> Result<Grid, GridError> {
        let f: GridFile = toml::from_str(text).map_err(|e| GridError(e.message().to_string()))?;
        let (keys, points) =
            match (f.axis.is_empty(), f.keys, f.points) {
                (false, None, None) => product(&f.axis),
                (true, Some(keys), Some(points)) => (keys, points),
                _ => return Err(GridError(
                    "a grid has either [[axis]] tables (key, values: their Cartesian product) or \
                     `keys` and `points` (an explicit list), not both nor neither"
                        .into(),
                )),
            };
        let grid = Grid {
            base: f.base,
            keys,
            points,
        };
        grid.check()?;
        Ok(grid)
    }

    fn check(&self) -> Result<(), GridError> {
        if self.keys.is_empty() {
            return Err(GridError("keys = []: allowed at least one key".into()));
        }
        for (i, k) in self.keys.iter().enumerate() {
            if numeric_key(k).is_none() {
                return Err(GridError(format!(
                    "key {k:?} is not a numeric scenario key; allowed: {}",
                    allowed_keys()
                )));
            }
            if self.keys[..i].contains(k) {
                return Err(GridError(format!(
                    "key {k:?} appears twice; allowed: each key once"
                )));
            }
        }
        if self.points.is_empty() || self.points.len() > MAX_POINTS {
            return Err(GridError(format!(
                "points = {}: allowed 1 to {MAX_POINTS} grid points",
                self.points.len()
            )));
        }
        for (i, p) in self.points.iter().enumerate() {
            if p.len() != self.keys.len() {
                return Err(GridError(format!(
                    "points[{i}] has {} values: allowed one per key ({})",
                    p.len(),
                    self.keys.len()
                )));
            }
        }
        Ok(())
    }

    /// The scenario of each point: `base` with the point's values set, validated. Errors name the
    /// point, the key, the value and what the scenario allows there.
    pub fn scenarios(&self, base: &Scenario) -> Result<Vec<Scenario>, GridError> {
        self.points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut sc = base.clone();
                for (k, &v) in self.keys.iter().zip(p) {
                    super::keys::set_key(&mut sc, k, v);
                }
                sc.validate().map_err(|e| {
                    let at: Vec<String> = self
                        .keys
                        .iter()
                        .zip(p)
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect();
                    GridError(format!("grid point {i} ({}): {e}", at.join(", ")))
                })?;
                Ok(sc)
            })
            .collect()
    }
}

/// The Cartesian product of the axes, the first varying slowest.
fn product(axes: &[Axis]) -> (Vec<String>, Vec<Vec<f64>>) {
    let keys = axes.iter().map(|a| a.key.clone()).collect();
    let mut points: Vec<Vec<f64>> = vec![Vec::new()];
    for a in axes {
        if points.len().saturating_mul(a.values.len()) > MAX_POINTS {
            // Reported by `check` with the real count's order of magnitude.
            return (keys, vec![vec![]; MAX_POINTS + 1]);
        }
        points = points
            .iter()
            .flat_map(|p| {
                a.values.iter().map(move |&v| {
                    let mut q = p.clone();
                    q.push(v);
                    q
                })
            })
            .collect();
    }
    (keys, points)
}

/// One row of a sweep: the point's key values and the results of its run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The value of each key of [`SweepOutput::keys`].
    pub values: Vec<f64>,
    /// The run's results, exactly as `simulate --json` gives them for this scenario.
    pub results: Vec<StrategyResult>,
}

/// What `hashpivot sweep --json` prints (and the merge of a sharded sweep).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepOutput {
    /// Paths per point.
    pub paths: u64,
    /// Seed (every point runs on the same random numbers).
    pub seed: u64,
    /// The keys the grid sets.
    pub keys: Vec<String>,
    /// One per grid point, in grid order.
    pub points: Vec<SweepPoint>,
}

impl SweepOutput {
    /// Assembles a sweep from each point's run (in grid order).
    pub fn new(keys: &[String], points: Vec<(Vec<f64>, SimOutput)>) -> SweepOutput {
        let (paths, seed) = points.first().map_or((0, 0), |p| (p.1.paths, p.1.seed));
        SweepOutput {
            paths,
            seed,
            keys: keys.to_vec(),
            points: points
                .into_iter()
                .map(|(values, out)| SweepPoint {
                    values,
                    results: out.results,
                })
                .collect(),
        }
    }
}

/// Runs every point of `grid` (scenarios from [`Grid::scenarios`]) on this machine, one after
/// the other, each exactly as [`crate::simulate`] with `cfg`.
pub fn sweep(
    grid: &Grid,
    scenarios: &[Scenario],
    cfg: &RunConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<SweepOutput, ModelError> {
    let n = scenarios.len() as f64;
    let mut points = Vec::with_capacity(scenarios.len());
    for (i, (sc, values)) in scenarios.iter().zip(&grid.points).enumerate() {
        let out = crate::simulate(sc, cfg, &|f| progress((i as f64 + f) / n))?;
        points.push((values.clone(), out));
    }
    Ok(SweepOutput::new(&grid.keys, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_and_list() {
        let g = Grid::parse(
            "[[axis]]\nkey = \"price.vol\"\nvalues = [0.4, 0.6]\n\
             [[axis]]\nkey = \"fees.vol\"\nvalues = [1, 2, 3]\n",
        )
        .unwrap();
        assert_eq!(g.keys, ["price.vol", "fees.vol"]);
        assert_eq!(g.points.len(), 6);
        assert_eq!(g.points[0], [0.4, 1.0]);
        assert_eq!(g.points[2], [0.4, 3.0]);
        assert_eq!(g.points[3], [0.6, 1.0]);
        let l = Grid::parse("keys = [\"price.vol\"]\npoints = [[0.5], [0.7]]\n").unwrap();
        assert_eq!(l.points, [[0.5], [0.7]]);
    }

    #[test]
    fn bad_grids_name_the_problem() {
        let e = Grid::parse("[[axis]]\nkey = \"price.nope\"\nvalues = [1]\n").unwrap_err();
        assert!(
            e.0.contains("price.nope") && e.0.contains("price.vol"),
            "{e}"
        );
        let e = Grid::parse("keys = [\"price.vol\"]\npoints = [[0.5, 1]]\n").unwrap_err();
        assert!(e.0.contains("points[0] has 2 values"), "{e}");
        let e = Grid::parse("keys = [\"price.vol\"]\n").unwrap_err();
        assert!(e.0.contains("either"), "{e}");
        let g = Grid::parse("keys = [\"price.vol\"]\npoints = [[0.5], [-1]]\n").unwrap();
        let e = g.scenarios(&Scenario::default()).unwrap_err();
        assert!(
            e.0.contains("grid point 1") && e.0.contains("price.vol = -1"),
            "{e}"
        );
        let e = Grid::parse("[[axis]]\nkey = \"price.vol\"\nvalues = []\n").unwrap_err();
        assert!(e.0.contains("points = 0"), "{e}");
    }
}
