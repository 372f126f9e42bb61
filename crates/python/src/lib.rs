//! `hashpivot._native`: the compiled half of the Python package `hashpivot` (PyO3, abi3).
//!
//! The Python half (`crates/python/python/hashpivot`) owns the public API, its types and the
//! DataFrames; this module runs the engine and the library functions and hands back JSON text (the
//! same documents the CLI prints) or numpy arrays. Long runs happen on an engine thread with the
//! GIL released; the calling thread waits for the engine's progress reports (one per block of
//! paths) and checks Python's signals between them, so Ctrl-C stops a run.
//!
//! Kept in step with the CLI by hand (fold into the libraries when the CLI's logic moves there):
//! the option checks of `simulate`/`payback` (`crates/cli/src/cmd/simulate.rs`), the JSON of
//! `payback`, `hashprice`, `machines`, `leases`, `chain subsidy`/`chain target`
//! (`crates/cli/src/cmd/{econ,data,chain}.rs`).

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hashpivot_chain as chain;
use hashpivot_model::payback::{payback, PaybackConfig, PaybackOutput};
use hashpivot_model::scenario::{FieldError, Scenario, ScenarioError, MAX_PATHS};
use hashpivot_model::{simulate_with_paths, ModelError, RunConfig, SimOutput, StrategyKind};
use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Errors

/// `hashpivot.ScenarioError(message, problems)`: the class lives in the Python half so that it
/// has typed attributes (`problems`, `key`) and a docstring.
fn scenario_error(py: Python<'_>, message: String, problems: Vec<serde_json::Value>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import("hashpivot._errors")?.getattr("ScenarioError")?;
        let problems = serde_json::to_string(&problems).unwrap_or_else(|_| "[]".into());
        let value = cls.call1((message.clone(), problems))?;
        Ok(PyErr::from_value(value))
    };
    build().unwrap_or_else(|e| e)
}

fn problem(
    key: Option<&str>,
    value: Option<&str>,
    allowed: Option<&str>,
    msg: &str,
) -> serde_json::Value {
    json!({"key": key, "value": value, "allowed": allowed, "message": msg})
}

fn field_problems(errs: &[FieldError]) -> Vec<serde_json::Value> {
    errs.iter()
        .map(|f| {
            problem(
                Some(&f.key),
                Some(&f.value),
                Some(&f.allowed),
                &f.to_string(),
            )
        })
        .collect()
}

/// The key a parse error points at: the `key = ...` on its line of `text`, prefixed with its table.
fn key_at(text: &str, line: usize, table: Option<&str>) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (k, _) = l.split_once('=')?;
    let k = k.trim().trim_matches('"');
    if k.is_empty() || k.starts_with('[') || k.starts_with('#') {
        return None;
    }
    Some(match table {
        Some(t) => format!("{t}.{k}"),
        None => k.to_string(),
    })
}

/// The key of a `missing field `x`` error: its table and `x`.
fn missing_key(message: &str, table: Option<&str>) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    let k = rest.split('`').next()?;
    Some(match table {
        Some(t) => format!("{t}.{k}"),
        None => k.to_string(),
    })
}

/// A scenario error for Python. `source` is the file name (CLI: `{file}: {error}`), or `None` for
/// a dict, whose TOML text is generated here, so its line and column would mean nothing to the
/// user: the message names the key instead.
fn scenario_err(py: Python<'_>, e: &ScenarioError, text: &str, source: Option<&str>) -> PyErr {
    match e {
        ScenarioError::Invalid(errs) => {
            let msg = match source {
                Some(f) => format!("{f}: {e}"),
                None => e.to_string(),
            };
            scenario_error(py, msg, field_problems(errs))
        }
        ScenarioError::Parse {
            line,
            table,
            message,
            ..
        } => {
            let key = key_at(text, *line, table.as_deref())
                .or_else(|| missing_key(message, table.as_deref()));
            let msg = match (source, &key) {
                (Some(f), _) => format!("{f}: {e}"),
                (None, Some(k)) => format!("scenario: {k}: {message}"),
                (None, None) => match table {
                    Some(t) => format!("scenario (in [{t}]): {message}"),
                    None => format!("scenario: {message}"),
                },
            };
            scenario_error(py, msg, vec![problem(key.as_deref(), None, None, message)])
        }
    }
}

/// Engine errors: a bad scenario is a `ScenarioError`, a bad option or an input too extreme to
/// compute a `ValueError`, the rest a `RuntimeError` (the CLI's exit 2 / exit 1).
fn model_err(py: Python<'_>, e: ModelError) -> PyErr {
    match e {
        ModelError::Scenario(s) => scenario_err(py, &s, "", Some("scenario")),
        ModelError::BadOption { .. }
        | ModelError::NonFinite { .. }
        | ModelError::NotImplemented(_) => PyValueError::new_err(e.to_string()),
        ModelError::Internal(_) | ModelError::Cancelled => PyRuntimeError::new_err(e.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// JSON (from a Python dict) to TOML, naming the key of anything TOML cannot hold. Non-finite
/// floats arrive as `{"$float": "nan" | "inf" | "-inf"}` (JSON has no NaN) and become TOML's.
fn json_to_toml(v: &serde_json::Value, path: &str) -> Result<toml::Value, String> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => {
            return Err(format!(
                "{path} = None: a value is required; leave the key out to take the default"
            ))
        }
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                toml::Value::Integer(i)
            } else if n.is_u64() {
                return Err(format!("{path} = {n}: allowed integers up to {}", i64::MAX));
            } else {
                toml::Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(a) => toml::Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| json_to_toml(x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(o) => {
            if let (1, Some(J::String(f))) = (o.len(), o.get("$float")) {
                return Ok(toml::Value::Float(match f.as_str() {
                    "inf" => f64::INFINITY,
                    "-inf" => f64::NEG_INFINITY,
                    _ => f64::NAN,
                }));
            }
            let mut t = toml::map::Map::new();
            for (k, x) in o {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                t.insert(k.clone(), json_to_toml(x, &p)?);
            }
            toml::Value::Table(t)
        }
    })
}

/// A scenario from the JSON of a Python dict: keys left out take the defaults, as in a file; the
/// same checks and messages as `hashpivot scenario check`.
fn scenario_from_json(py: Python<'_>, text: &str) -> PyResult<Scenario> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| scenario_error(py, format!("scenario: {e}"), vec![]))?;
    if !v.is_object() {
        return Err(scenario_error(
            py,
            "scenario: expected a dict of tables ({\"run\": {...}, \"site\": {...}, ...})".into(),
            vec![],
        ));
    }
    let t = json_to_toml(&v, "").map_err(|m| {
        let key = m.split(" = ").next().map(str::to_string);
        scenario_error(
            py,
            format!("scenario: {m}"),
            vec![problem(key.as_deref(), None, None, &m)],
        )
    })?;
    let toml_text =
        toml::to_string(&t).map_err(|e| scenario_error(py, format!("scenario: {e}"), vec![]))?;
    Scenario::parse_and_validate(&toml_text).map_err(|e| scenario_err(py, &e, &toml_text, None))
}

fn scenario_from_file(py: Python<'_>, path: &str) -> PyResult<Scenario> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        scenario_error(
            py,
            format!("SCENARIO: cannot read {path}: {e}"),
            vec![problem(None, Some(path), None, &e.to_string())],
        )
    })?;
    Scenario::parse_and_validate(&text).map_err(|e| scenario_err(py, &e, &text, Some(path)))
}

fn resolve(py: Python<'_>, json_text: Option<&str>, path: Option<&str>) -> PyResult<Scenario> {
    match (json_text, path) {
        (Some(j), _) => scenario_from_json(py, j),
        (None, Some(p)) => scenario_from_file(py, p),
        (None, None) => Ok(Scenario::default()),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| PyRuntimeError::new_err(format!("internal error: {e}")))
}

/// The embedded default scenario as JSON.
#[pyfunction]
fn default_scenario_json() -> PyResult<String> {
    to_json(&Scenario::default())
}

/// The embedded default scenario as annotated TOML (`hashpivot scenario show`).
#[pyfunction]
fn default_scenario_toml() -> String {
    Scenario::default_toml_annotated()
}

/// Reads and checks a scenario file; returns the complete scenario as JSON.
#[pyfunction]
fn load_scenario_json(py: Python<'_>, path: &str) -> PyResult<String> {
    to_json(&scenario_from_file(py, path)?)
}

/// Checks the JSON of a scenario dict; returns the complete scenario as JSON.
#[pyfunction]
fn check_scenario_json(py: Python<'_>, text: &str) -> PyResult<String> {
    to_json(&scenario_from_json(py, text)?)
}

// ---------------------------------------------------------------------------------------------
// Engine runs: GIL released, Ctrl-C between blocks

enum Msg<T> {
    Progress(f64),
    Done(std::thread::Result<T>),
}

/// The payload of the unwind that stops a cancelled run (never shown: `resume_unwind` does not
/// call the panic hook, and the engine thread catches it).
struct Cancelled;

/// Sets the flag when the waiting call leaves, for whatever reason, so the engine stops at its
/// next block instead of running on for nobody.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs `job` on its own thread with the GIL released. The calling thread waits for its progress
/// reports, calls `progress` with the fraction done, and checks Python's signals: on Ctrl-C (or an
/// exception from `progress`) it returns the exception at once, and the engine stops at its next
/// report by unwinding out of the callback (as `hashpivot_model::cancel` does for the server).
///
/// The engine reports before and after every block of paths, so once the flag is set every block
/// not yet started unwinds at its first report without computing anything: a cancelled run stops
/// within the blocks already running (one per worker thread). Unwinding through the engine is safe
/// (plain Rust owning everything it touches) and rayon carries the unwind to the caller.
fn run_engine<T, F>(py: Python<'_>, progress: Option<&Bound<'_, PyAny>>, job: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce(&(dyn Fn(f64) + Sync)) -> T + Send + 'static,
{
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<Msg<T>>();
    let stop = cancel.clone();
    std::thread::Builder::new()
        .name("hashpivot-engine".into())
        .spawn(move || {
            let ptx = Mutex::new(tx.clone());
            let report = move |f: f64| {
                if stop.load(Ordering::Relaxed) {
                    std::panic::resume_unwind(Box::new(Cancelled));
                }
                if let Ok(t) = ptx.lock() {
                    let _ = t.send(Msg::Progress(f));
                }
            };
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| job(&report)));
            let _ = tx.send(Msg::Done(r));
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the engine thread: {e}")))?;
    let _guard = CancelOnDrop(cancel);
    let mut rx = rx;
    let mut shown = -1.0f64;
    loop {
        let (back, msg) = py.detach(move || {
            // Wake at least every 100 ms so Ctrl-C is seen even inside a long block.
            let m = rx.recv_timeout(Duration::from_millis(100));
            (rx, m)
        });
        rx = back;
        let mut latest = None;
        let mut msg = msg;
        loop {
            match msg {
                Ok(Msg::Progress(f)) => latest = Some(latest.map_or(f, |l: f64| l.max(f))),
                Ok(Msg::Done(r)) => {
                    if let (Some(cb), Some(f)) = (progress, latest) {
                        if f > shown {
                            cb.call1((f,))?;
                        }
                    }
                    return r.map_err(|p| {
                        let what = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "a panic".into());
                        PyRuntimeError::new_err(format!("internal error in the engine: {what}"))
                    });
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PyRuntimeError::new_err(
                        "internal error: the engine thread ended without a result",
                    ))
                }
            }
            // Drain what else is queued, then report once.
            msg = match rx.try_recv() {
                Ok(m) => Ok(m),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
            };
        }
        py.check_signals()?;
        if let (Some(cb), Some(f)) = (progress, latest) {
            if f > shown {
                shown = f;
                cb.call1((f,))?;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// simulate

/// The output of one `simulate` call: the `simulate --json` document and the per-path NPVs.
#[pyclass(module = "hashpivot._native", frozen)]
struct NativeRun {
    out: SimOutput,
    npv: Mutex<Vec<Option<Vec<f64>>>>,
    json: OnceLock<String>,
    engine_seconds: f64,
}

#[pymethods]
impl NativeRun {
    /// Exactly what `hashpivot simulate --json` prints (pretty JSON and a final newline).
    fn to_json(&self) -> PyResult<String> {
        if let Some(s) = self.json.get() {
            return Ok(s.clone());
        }
        let s = serde_json::to_string_pretty(&self.out)
            .map_err(|e| PyRuntimeError::new_err(format!("internal error: {e}")))?
            + "\n";
        Ok(self.json.get_or_init(|| s).clone())
    }

    /// Paths simulated.
    #[getter]
    fn paths(&self) -> u64 {
        self.out.paths
    }

    /// Seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.out.seed
    }

    /// Wall seconds of the engine call itself (timed on the engine thread), so that the cost of
    /// the Python call around it can be measured (bench/python/overhead.py).
    #[getter]
    fn engine_seconds(&self) -> f64 {
        self.engine_seconds
    }

    /// `(strategy, share)` of each result, in the order of `results`.
    fn strategies(&self) -> Vec<(String, Option<f64>)> {
        self.out
            .results
            .iter()
            .map(|r| (r.strategy.clone(), r.share))
            .collect()
    }

    /// Moves result `k`'s per-path NPVs into a numpy array without copying them (once per `k`:
    /// the Python side caches the array).
    fn take_npv<'py>(&self, py: Python<'py>, k: usize) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let v = {
            let mut g = self
                .npv
                .lock()
                .map_err(|_| PyRuntimeError::new_err("internal error: poisoned lock"))?;
            let slot = g
                .get_mut(k)
                .ok_or_else(|| PyValueError::new_err(format!("no result {k}")))?;
            slot.take()
                .ok_or_else(|| PyRuntimeError::new_err(format!("result {k} already taken")))?
        };
        Ok(v.into_pyarray(py))
    }
}

/// Flags → a run configuration, with the CLI's checks (named after the Python arguments).
fn run_config(
    paths: Option<u64>,
    seed: Option<u64>,
    strategy: Option<&str>,
    share: Option<f64>,
    threads: Option<usize>,
    antithetic: bool,
) -> PyResult<RunConfig> {
    if let Some(p) = paths {
        if p == 0 || p > MAX_PATHS {
            return Err(PyValueError::new_err(format!(
                "paths: {p} is not allowed; use 1 to {MAX_PATHS}"
            )));
        }
    }
    if let Some(s) = share {
        if !(0.0..=1.0).contains(&s) {
            return Err(PyValueError::new_err(format!(
                "share: {s} is outside the allowed range 0 to 1"
            )));
        }
    }
    if let Some(t) = threads {
        if t == 0 || t > 1024 {
            return Err(PyValueError::new_err(format!(
                "threads: {t} is not allowed; use 1 to 1024"
            )));
        }
    }
    let strategy = match strategy {
        None => share.map(|_| StrategyKind::Convert),
        Some(s) => {
            let k = StrategyKind::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "strategy: {s:?} is not a strategy; use mine, convert, schedule, sweep or optimal"
                ))
            })?;
            if share.is_some() && k != StrategyKind::Convert {
                return Err(PyValueError::new_err(format!(
                    "share: only with strategy=\"convert\" (got strategy={:?})",
                    k.as_str()
                )));
            }
            Some(k)
        }
    };
    Ok(RunConfig {
        paths,
        seed,
        strategy,
        share,
        threads,
        antithetic,
    })
}

/// Runs the Monte Carlo engine (`hashpivot simulate`).
#[pyfunction]
#[pyo3(signature = (scenario_json=None, scenario_path=None, paths=None, seed=None, strategy=None,
                    share=None, threads=None, antithetic=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn simulate(
    py: Python<'_>,
    scenario_json: Option<&str>,
    scenario_path: Option<&str>,
    paths: Option<u64>,
    seed: Option<u64>,
    strategy: Option<&str>,
    share: Option<f64>,
    threads: Option<usize>,
    antithetic: bool,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<NativeRun> {
    let sc = resolve(py, scenario_json, scenario_path)?;
    let cfg = run_config(paths, seed, strategy, share, threads, antithetic)?;
    let (r, secs) = run_engine(py, progress.as_ref(), move |p| {
        let t0 = Instant::now();
        let r = simulate_with_paths(&sc, &cfg, p);
        (r, t0.elapsed().as_secs_f64())
    })?;
    let r = r.map_err(|e| model_err(py, e))?;
    Ok(NativeRun {
        out: r.output,
        npv: Mutex::new(r.npv.into_iter().map(Some).collect()),
        json: OnceLock::new(),
        engine_seconds: secs,
    })
}

// ---------------------------------------------------------------------------------------------
// payback, hashprice, catalog, leases, history, chain

/// One machine bought today, priced on the scenario's paths (`hashpivot payback --json`).
#[pyfunction]
#[pyo3(signature = (model, machine_price_usd_per_th, scenario_json=None, scenario_path=None,
                    life_years=None, paths=None, seed=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn payback_json(
    py: Python<'_>,
    model: &str,
    machine_price_usd_per_th: f64,
    scenario_json: Option<&str>,
    scenario_path: Option<&str>,
    life_years: Option<f64>,
    paths: Option<u64>,
    seed: Option<u64>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<String> {
    let sc = resolve(py, scenario_json, scenario_path)?;
    let x = machine_price_usd_per_th;
    if !(x.is_finite() && x > 0.0 && x <= 1e4) {
        return Err(PyValueError::new_err(format!(
            "machine_price_usd_per_th: {x} is outside the allowed range (0, 10000] $/TH"
        )));
    }
    if let Some(p) = paths {
        if p == 0 || p > MAX_PATHS {
            return Err(PyValueError::new_err(format!(
                "paths: {p} is not allowed; use 1 to {MAX_PATHS}"
            )));
        }
    }
    if let Some(l) = life_years {
        if !(l.is_finite() && l * 365.0 >= 1.0 && l <= 50.0) {
            return Err(PyValueError::new_err(format!(
                "life_years: {l} is outside the allowed range 1/365 to 50"
            )));
        }
    }
    let catalog = hashpivot_model::catalog::Catalog::builtin()
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let machine = catalog
        .find(model)
        .map_err(|e| PyValueError::new_err(format!("model: {e}")))?
        .clone();
    let cfg = PaybackConfig {
        hashrate_ths: machine.hashrate_ths,
        power_w: machine.power_w,
        price_usd_per_th: x,
        life_years,
        paths,
        seed,
    };
    let out = run_engine(py, progress.as_ref(), move |p| payback(&sc, &cfg, p))?
        .map_err(|e| model_err(py, e))?;
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        model: &'a str,
        hashrate_ths: f64,
        power_w: f64,
        #[serde(flatten)]
        out: &'a PaybackOutput,
    }
    to_json(&Doc {
        model: &machine.model,
        hashrate_ths: machine.hashrate_ths,
        power_w: machine.power_w,
        out: &out,
    })
}

/// Hashprice from price, difficulty, fees and height (`hashpivot hashprice --json`, the same
/// [`hashpivot_model::machine::HashpriceReport`]); fees and height default (`None`) to the market
/// state every command starts from.
#[pyfunction]
#[pyo3(signature = (price, difficulty, fees=None, height=None))]
fn hashprice_json(
    price: f64,
    difficulty: f64,
    fees: Option<f64>,
    height: Option<u64>,
) -> PyResult<String> {
    use hashpivot_model::machine::{hashprice_report, Difficulty, HashpriceInputs};
    let bad = |name: &str, v: f64, allowed: &str| {
        PyValueError::new_err(format!("{name}: {v} is not allowed; {allowed}"))
    };
    if !(price.is_finite() && price > 0.0) {
        return Err(bad("price", price, "use a BTC price in USD > 0"));
    }
    if !(difficulty.is_finite() && difficulty > 0.0) {
        return Err(bad(
            "difficulty",
            difficulty,
            "use a network difficulty > 0",
        ));
    }
    if let Some(f) = fees.filter(|f| !(f.is_finite() && *f >= 0.0)) {
        return Err(bad("fees", f, "use BTC per block >= 0"));
    }
    let q = hashprice_report(&HashpriceInputs {
        price_usd: price,
        difficulty: Difficulty(difficulty),
        fees_btc: fees,
        height,
    })
    .map_err(|e| PyValueError::new_err(format!("difficulty/fees: {e}")))?;
    if let Some((k, v)) = q.outputs().into_iter().find(|(_, v)| !v.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "price/difficulty/fees: {k} = {v} is not finite; use smaller values"
        )));
    }
    to_json(&q)
}

/// The built-in ASIC catalog (`hashpivot machines --json`'s `machines`).
#[pyfunction]
fn machines_json() -> PyResult<String> {
    let c = hashpivot_model::catalog::Catalog::builtin()
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let mut ms: Vec<_> = c.machines().iter().collect();
    ms.sort_by(|a, b| {
        a.manufacturer
            .cmp(&b.manufacturer)
            .then(a.release_year.cmp(&b.release_year))
            .then(a.hashrate_ths.total_cmp(&b.hashrate_ths))
    });
    let rows: Vec<_> = ms
        .iter()
        .map(|m| {
            json!({
                "manufacturer": m.manufacturer,
                "model": m.model,
                "hashrate_ths": m.hashrate_ths,
                "power_w": m.power_w,
                "efficiency_jth": m.efficiency_jth(),
                "cooling": m.cooling,
                "release_year": m.release_year,
                "confidence": m.confidence,
                "source": m.source,
            })
        })
        .collect();
    to_json(&rows)
}

/// Announced AI/HPC leases (`hashpivot leases --json`'s `leases`).
#[pyfunction]
fn leases_json() -> PyResult<String> {
    to_json(&hashpivot_data::leases())
}

fn parse_date(name: &str, v: Option<&str>) -> PyResult<Option<hashpivot_data::Date>> {
    v.map(|s| {
        s.parse::<hashpivot_data::Date>().map_err(|_| {
            PyValueError::new_err(format!(
                "{name}: {s:?} is not a date; expected YYYY-MM-DD (e.g. 2025-03-03)"
            ))
        })
    })
    .transpose()
}

/// The daily historical hashprice (`hashpivot history hashprice --json`), from the shipped data or
/// from a store (`db`).
#[pyfunction]
#[pyo3(signature = (from_=None, to=None, db=None))]
fn history_hashprice_json(
    py: Python<'_>,
    from_: Option<&str>,
    to: Option<&str>,
    db: Option<&str>,
) -> PyResult<String> {
    let from = parse_date("from_", from_)?;
    let to = parse_date("to", to)?;
    let db = db.map(str::to_string);
    let days = py.detach(move || -> Result<_, String> {
        use hashpivot_data::shipped;
        let h = match db {
            None => hashpivot_data::hashprice_history(
                shipped::prices(),
                shipped::heights(),
                shipped::epochs(),
                shipped::fees(),
                from,
                to,
            ),
            Some(path) => {
                let p = std::path::Path::new(&path);
                if path.is_empty() || p.is_dir() {
                    return Err(format!("db: {path:?} is not a database file path"));
                }
                let s = hashpivot_store::Store::open(p).map_err(|e| format!("db: {path}: {e}"))?;
                let io = |e: hashpivot_store::StoreError| format!("db: {path}: {e}");
                let prices = s.prices(from, to).map_err(io)?;
                let heights = s.heights(None, None).map_err(io)?;
                let epochs = s.epochs().map_err(io)?;
                let fees = s.fees(None, None).map_err(io)?;
                hashpivot_data::hashprice_history(&prices, &heights, &epochs, &fees, from, to)
            }
        };
        h.map_err(|e| {
            e.to_string()
                .replace("--from", "from_")
                .replace("--to", "to")
        })
    });
    let days = days.map_err(PyValueError::new_err)?;
    if days.is_empty() {
        return Err(PyValueError::new_err(format!(
            "from_/to: no stored day with price and height between {} and {}",
            from.map_or("the start".into(), |d| d.to_string()),
            to.map_or("the end".into(), |d| d.to_string())
        )));
    }
    to_json(&days)
}

/// Block subsidy in satoshis (Core's GetBlockSubsidy).
#[pyfunction]
fn chain_subsidy(height: u64) -> u64 {
    chain::subsidy_sat(height)
}

/// Target, difficulty and work of compact bits (`hashpivot chain target --json`).
#[pyfunction]
fn chain_target_json(bits: u32) -> PyResult<String> {
    let t = chain::Target::from_compact(bits)
        .map_err(|e| PyValueError::new_err(format!("bits: {e}")))?;
    let work = t.work();
    to_json(&json!({
        "bits": format!("{:08x}", t.bits()),
        "normalized_bits": format!("{:08x}", t.normalized_bits()),
        "target": t.value().to_hex(),
        "difficulty": t.difficulty(),
        "work": work.to_hex(),
        "work_decimal": work.to_decimal(),
        "within_pow_limit": !t.above_pow_limit(),
    }))
}

/// The compiled half of `hashpivot`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeRun>()?;
    m.add_function(wrap_pyfunction!(default_scenario_json, m)?)?;
    m.add_function(wrap_pyfunction!(default_scenario_toml, m)?)?;
    m.add_function(wrap_pyfunction!(load_scenario_json, m)?)?;
    m.add_function(wrap_pyfunction!(check_scenario_json, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(payback_json, m)?)?;
    m.add_function(wrap_pyfunction!(hashprice_json, m)?)?;
    m.add_function(wrap_pyfunction!(machines_json, m)?)?;
    m.add_function(wrap_pyfunction!(leases_json, m)?)?;
    m.add_function(wrap_pyfunction!(history_hashprice_json, m)?)?;
    m.add_function(wrap_pyfunction!(chain_subsidy, m)?)?;
    m.add_function(wrap_pyfunction!(chain_target_json, m)?)?;
    m.add("MAX_PATHS", MAX_PATHS)?;
    Ok(())
}
