//! How the server runs a scenario: the run request, its validation into a [`RunPlan`], and the
//! [`Engine`] seam that executes it. (Named `runner` so it is not confused with
//! `hashpivot_model::engine`, the Monte Carlo engine itself.)
//!
//! The server handles scenarios as [`Scenario`] values and results as the JSON document of
//! `hashpivot simulate --json` (`{"paths","seed","results":[...],"bands":{...}}`), so that the API
//! returns exactly what the command prints. [`Engine`] is the one seam: `ModelEngine`
//! (`model_adapter`) calls `hashpivot_model::simulate`; tests can put a deterministic engine in its
//! place.

use hashpivot_model::scenario::FieldError;
use hashpivot_model::{Scenario, ScenarioError, StrategyKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;

/// Why a simulation did not produce a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The scenario or an option is invalid (the user's input).
    #[error("{0}")]
    BadInput(String),
    /// The engine failed.
    #[error("{0}")]
    Failed(String),
}

/// Runs one scenario. `progress` receives the fraction done in [0, 1] (from any thread).
pub trait Engine: Send + Sync + 'static {
    /// Simulates `scenario` (paths, seed and strategy are in the scenario) and returns the
    /// `simulate --json` document.
    fn simulate(
        &self,
        scenario: &Scenario,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Value, EngineError>;
}

/// Largest `paths` a run accepts by default (a run of the default scenario at this size takes
/// minutes on two cores; bigger runs belong to the command line).
pub const DEFAULT_MAX_PATHS: u64 = 200_000;

/// The body of `POST /api/runs` (JSON form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The scenario (same tables and keys as the TOML file); the default scenario when absent.
    #[serde(default)]
    pub scenario: Option<Value>,
    /// Strategy kind: `mine`, `convert`, `schedule`, `sweep` or `optimal` (else the scenario's).
    #[serde(default)]
    pub strategy: Option<String>,
    /// Share of the site converted by `convert` (else the scenario's `strategy.share`).
    #[serde(default)]
    pub share: Option<f64>,
    /// Monte Carlo paths (else the scenario's `run.paths`).
    #[serde(default)]
    pub paths: Option<u64>,
    /// Random seed (else the scenario's `run.seed`).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Also compute the sensitivity (tornado) of NPV to the main inputs.
    #[serde(default)]
    pub sensitivity: Option<bool>,
}

/// Turns a serde "unknown field" message into the key path it is about, when possible.
fn unknown_field(msg: &str) -> Option<String> {
    let rest = msg.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

/// Finds keys of `given` that the scenario doesn't have, with their full path
/// (`price.volatility`, `mining.fleet[1].watts`): serde alone names only the last key.
///
/// Candidates are the keys absent from the default scenario's JSON (which leaves out unset optional
/// keys); each is confirmed by deserializing a scenario holding only that key, which fails with
/// "unknown field" exactly when the key is not part of the format.
pub fn unknown_keys(given: &Value) -> Vec<String> {
    let known = serde_json::to_value(Scenario::default()).unwrap_or(Value::Null);
    let mut candidates = Vec::new();
    walk(given, &known, &mut Vec::new(), &mut candidates);
    candidates
        .into_iter()
        .filter(|(_, minimal)| {
            serde_json::from_value::<Scenario>(minimal.clone())
                .err()
                .is_some_and(|e| e.to_string().contains("unknown field"))
        })
        .map(|(path, _)| path)
        .collect()
}

/// One step of a key path: a table key or an array index.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn path_text(steps: &[Step]) -> String {
    let mut s = String::new();
    for st in steps {
        match st {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// The smallest document that holds `leaf` at `steps` (arrays hold one element).
fn minimal(steps: &[Step], leaf: Value) -> Value {
    match steps.split_first() {
        None => leaf,
        Some((Step::Key(k), rest)) => {
            let mut m = serde_json::Map::new();
            m.insert(k.clone(), minimal(rest, leaf));
            Value::Object(m)
        }
        Some((Step::Index(_), rest)) => Value::Array(vec![minimal(rest, leaf)]),
    }
}

fn walk(given: &Value, known: &Value, path: &mut Vec<Step>, out: &mut Vec<(String, Value)>) {
    match (given, known) {
        (Value::Object(g), Value::Object(k)) => {
            for (key, v) in g {
                path.push(Step::Key(key.clone()));
                match k.get(key) {
                    Some(kv) if !kv.is_null() => walk(v, kv, path, out),
                    _ => out.push((path_text(path), minimal(path, v.clone()))),
                }
                path.pop();
            }
        }
        (Value::Array(g), Value::Array(k)) => {
            if let Some(first) = k.first() {
                for (i, v) in g.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk(v, first, path, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// Converts a scenario error to an API error (422 with every problem, or 400 for syntax).
pub fn scenario_error(e: &ScenarioError) -> ApiError {
    match e {
        ScenarioError::Parse { table, message, .. } => {
            let mut err = ApiError::bad_request(e.to_string());
            if let Some(k) = unknown_field(message) {
                err = err.field(match table {
                    Some(t) => format!("{t}.{k}"),
                    None => k,
                });
            }
            err
        }
        ScenarioError::Invalid(list) => {
            let mut err = ApiError::invalid(e.to_string());
            err.field = list.first().map(|f| f.key.clone());
            err.errors = error_list(list);
            err
        }
    }
}

/// Parses a JSON scenario object (unknown keys are named with their full path).
pub fn scenario_from_json(v: &Value) -> Result<Scenario, ApiError> {
    if !v.is_object() {
        return Err(ApiError::bad_request(format!(
            "scenario: expected an object with the scenario's tables, got {}",
            json_kind(v)
        ))
        .field("scenario"));
    }
    let unknown = unknown_keys(v);
    if let Some(first) = unknown.first() {
        return Err(ApiError::bad_request(format!(
            "scenario: unknown key{} {} (the keys are those of the scenario file; see GET /api/scenario/default)",
            if unknown.len() == 1 { "" } else { "s" },
            unknown
                .iter()
                .map(|k| crate::error::clip(k))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .field(format!("scenario.{first}")));
    }
    serde_json::from_value::<Scenario>(v.clone()).map_err(|e| {
        // Wrong types: all of them, by full key path (hashpivot_model::scenario_input).
        let wrong = scenario_type_problems(v);
        if !wrong.is_empty() {
            return type_errors(wrong);
        }
        let msg = e.to_string();
        let mut err = ApiError::bad_request(format!("scenario: {msg}"));
        err = err.field(match unknown_field(&msg) {
            Some(k) => format!("scenario.{k}"),
            None => "scenario".to_string(),
        });
        err
    })
}

/// The wrong-type values of a request's scenario, named as in the request body
/// (`scenario.price.spot`).
fn scenario_type_problems(v: &Value) -> Vec<FieldError> {
    hashpivot_model::scenario_input::type_problems(v)
        .into_iter()
        .map(|f| FieldError {
            key: format!("scenario.{}", f.key),
            ..f
        })
        .collect()
}

/// Every wrong-type value of a run request: its own fields (`null` counts as absent) and its
/// scenario's, so that one answer lists them all, like the CLI does for a scenario file.
fn request_type_problems(v: &Value) -> Vec<FieldError> {
    let Value::Object(fields) = v else {
        return Vec::new();
    };
    let given: serde_json::Map<String, Value> = fields
        .iter()
        .filter(|(k, x)| !x.is_null() && k.as_str() != "scenario")
        .map(|(k, x)| (k.clone(), x.clone()))
        .collect();
    let shape = serde_json::json!({"strategy": "", "share": 0.5, "paths": 1, "seed": 1, "sensitivity": true});
    let mut out =
        hashpivot_model::scenario_input::type_problems_against(&Value::Object(given), &shape, "");
    match fields.get("scenario") {
        None | Some(Value::Null) => {}
        Some(s @ Value::Object(_)) => out.extend(scenario_type_problems(s)),
        Some(s) => out.push(FieldError {
            key: "scenario".into(),
            value: crate::error::clip(&s.to_string()),
            allowed: format!(
                "an object with the scenario's tables (got {})",
                json_kind(s)
            ),
        }),
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// A 400 listing wrong-type values (422 is for values of the right type out of range).
fn type_errors(list: Vec<FieldError>) -> ApiError {
    let mut err = ApiError::bad_request(format!(
        "{} value{} of the wrong type:\n  {}",
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        list.iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n  ")
    ));
    err.field = list.first().map(|f| f.key.clone());
    err.errors = error_list(&list);
    err
}

/// The `errors` array of an answer: one `{"key","value","allowed"}` object per problem.
fn error_list(list: &[FieldError]) -> Vec<Value> {
    list.iter()
        .map(|f| serde_json::json!({"key": f.key, "value": f.value, "allowed": f.allowed}))
        .collect()
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A validated run: the complete scenario to simulate, and options of the server.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    /// The scenario with the request's overrides applied and validated.
    pub scenario: Scenario,
    /// Compute the tornado.
    pub sensitivity: bool,
    /// The request as stored (normalized: the values used).
    pub request: Value,
}

/// Parses a JSON run request body.
pub fn parse_json_request(body: &[u8]) -> Result<RunRequest, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request(
            "empty body: send a JSON run request such as {\"strategy\":\"convert\",\"share\":0.5,\"paths\":2000}",
        ));
    }
    serde_json::from_slice::<RunRequest>(body).map_err(|e| {
        if !(e.is_syntax() || e.is_eof()) {
            if let Ok(v) = serde_json::from_slice::<Value>(body) {
                let wrong = request_type_problems(&v);
                if !wrong.is_empty() {
                    return type_errors(wrong);
                }
            }
        }
        let msg = e.to_string();
        let field = unknown_field(&msg).or_else(|| {
            // "invalid type: ... at line 1 column 30" doesn't say which field; name it when we can.
            [
                "paths",
                "share",
                "seed",
                "strategy",
                "sensitivity",
                "scenario",
            ]
            .iter()
            .find(|f| msg.contains(&format!("`{f}`")))
            .map(|f| f.to_string())
        });
        let kind = if e.is_syntax() || e.is_eof() {
            "malformed JSON"
        } else {
            "bad run request"
        };
        let mut err = ApiError::bad_request(format!("{kind}: {msg}"));
        err.field = field;
        err
    })
}

/// Applies the request to the scenario and validates everything, naming the field of each problem.
pub fn plan(req: RunRequest, max_paths: u64) -> Result<RunPlan, ApiError> {
    let mut scenario = match &req.scenario {
        Some(v) => scenario_from_json(v)?,
        None => Scenario::default(),
    };
    plan_scenario(&mut scenario, &req, max_paths)?;
    let request = serde_json::json!({
        "strategy": scenario.strategy.kind.as_str(),
        "share": scenario.strategy.share,
        "paths": scenario.run.paths,
        "seed": scenario.run.seed,
        "sensitivity": req.sensitivity.unwrap_or(false),
    });
    Ok(RunPlan {
        scenario,
        sensitivity: req.sensitivity.unwrap_or(false),
        request,
    })
}

/// The request's overrides and the server's limits, applied to `scenario`, then validation.
pub fn plan_scenario(
    scenario: &mut Scenario,
    req: &RunRequest,
    max_paths: u64,
) -> Result<(), ApiError> {
    if let Some(k) = &req.strategy {
        scenario.strategy.kind = StrategyKind::parse(k).ok_or_else(|| {
            ApiError::invalid(format!(
                "strategy = {k:?}: allowed \"mine\", \"convert\", \"schedule\", \"sweep\", \"optimal\""
            ))
            .field("strategy")
        })?;
    }
    if let Some(s) = req.share {
        if !(0.0..=1.0).contains(&s) {
            return Err(
                ApiError::invalid(format!("share = {s}: allowed 0 <= share <= 1")).field("share"),
            );
        }
        scenario.strategy.share = s;
    }
    if let Some(p) = req.paths {
        scenario.run.paths = p;
    }
    if let Some(s) = req.seed {
        scenario.run.seed = s;
    }
    let p = scenario.run.paths;
    if p == 0 || p > max_paths {
        let field = if req.paths.is_some() {
            "paths"
        } else {
            "scenario.run.paths"
        };
        return Err(ApiError::invalid(format!(
            "{field} = {p}: allowed 1 <= paths <= {max_paths} on this server (run larger jobs with `hashpivot simulate`)"
        ))
        .field(field));
    }
    scenario.validate().map_err(|e| {
        let mut err = scenario_error(&e);
        // Scenario keys are reported under `scenario.` in the request, except the overridden ones.
        if let Some(f) = &err.field {
            err.field = Some(match f.as_str() {
                "strategy.share" if req.share.is_some() => "share".to_string(),
                _ => format!("scenario.{f}"),
            });
        }
        err
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_have_full_paths() {
        let mut v = serde_json::to_value(Scenario::default()).unwrap();
        v["price"]["volatility"] = 0.5.into();
        v["bogus"] = 1.into();
        if let Some(fleet) = v["mining"]["fleet"].as_array_mut() {
            if let Some(first) = fleet.first_mut() {
                first["watts"] = 1.into();
            }
        }
        let mut u = unknown_keys(&v);
        u.sort();
        let has_fleet = v["mining"]["fleet"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        let mut want = vec!["bogus".to_string(), "price.volatility".to_string()];
        if has_fleet {
            want.push("mining.fleet[0].watts".to_string());
        }
        want.sort();
        assert_eq!(u, want);
        assert!(unknown_keys(&serde_json::to_value(Scenario::default()).unwrap()).is_empty());
        // Optional keys left out of the default are still known.
        let opt = serde_json::json!({"chain": {"hashrate_ehs": 900.0, "epoch_elapsed_days": null}});
        assert!(unknown_keys(&opt).is_empty(), "{:?}", unknown_keys(&opt));
    }

    #[test]
    fn wrong_types_are_all_named_by_their_path_in_the_request() {
        let v = serde_json::json!({
            "price": {"spot": "high"},
            "run": {"paths": -5},
            "mining": {"fleet": [
                {"model": "a", "units": 1.0, "hashrate_ths": 1.0, "power_w": 1.0},
                {"model": "b", "units": [1], "hashrate_ths": 1.0, "power_w": 1.0}
            ]}
        });
        let e = scenario_from_json(&v).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.field.as_deref(), Some("scenario.mining.fleet[1].units"));
        let keys: Vec<&str> = e.errors.iter().filter_map(|x| x["key"].as_str()).collect();
        assert_eq!(
            keys,
            [
                "scenario.mining.fleet[1].units",
                "scenario.price.spot",
                "scenario.run.paths"
            ]
        );
        assert_eq!(e.errors[1]["value"], "\"high\"");
        assert_eq!(e.errors[1]["allowed"], "a number (got text)");
        assert_eq!(
            e.errors[2]["allowed"],
            "a whole number >= 0 (got a negative number)"
        );
        assert!(
            e.error
                .contains("scenario.price.spot = \"high\": allowed a number (got text)"),
            "{}",
            e.error
        );
        // The request's own fields and its scenario's, all in one answer.
        let e = parse_json_request(
            br#"{"paths": "many", "share": null, "sensitivity": 1, "scenario": {"price": {"vol": "x"}}}"#,
        )
        .unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        let keys: Vec<&str> = e.errors.iter().filter_map(|x| x["key"].as_str()).collect();
        assert_eq!(keys, ["paths", "scenario.price.vol", "sensitivity"]);
        // A huge value is quoted clipped.
        let v = serde_json::json!({"price": {"spot": "9".repeat(1_000_000)}});
        let e = scenario_from_json(&v).unwrap_err();
        assert!(e.error.len() < 300, "{} bytes", e.error.len());
    }

    #[test]
    fn request_errors_name_the_field() {
        let e = parse_json_request(br#"{"paths": 10, "colour": "red"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colour"));
        assert_eq!(e.status.as_u16(), 400);
        let e = parse_json_request(br#"{"paths": 10,"#).unwrap_err();
        assert!(e.error.starts_with("malformed JSON"), "{}", e.error);
        let e = plan(
            RunRequest {
                paths: Some(10_000_000),
                ..RunRequest::default()
            },
            200_000,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("paths"));
        assert!(
            e.error.contains("10000000") && e.error.contains("200000"),
            "{}",
            e.error
        );
        let e = plan(
            RunRequest {
                share: Some(1.5),
                ..RunRequest::default()
            },
            200_000,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("share"));
        let e = plan(
            RunRequest {
                strategy: Some("hodl".into()),
                ..RunRequest::default()
            },
            200_000,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("strategy"));
    }

    #[test]
    fn out_of_range_scenario_values_are_listed() {
        let mut v = serde_json::to_value(Scenario::default()).unwrap();
        v["price"]["vol"] = (-1.0).into();
        let e = plan(
            RunRequest {
                scenario: Some(v),
                ..RunRequest::default()
            },
            200_000,
        )
        .unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        assert_eq!(e.field.as_deref(), Some("scenario.price.vol"));
        assert_eq!(e.errors[0]["key"], "price.vol");
    }

    #[test]
    fn a_good_request_overrides_the_scenario() {
        let p = plan(
            RunRequest {
                strategy: Some("convert".into()),
                share: Some(0.25),
                paths: Some(500),
                seed: Some(9),
                ..RunRequest::default()
            },
            200_000,
        )
        .unwrap();
        assert_eq!(p.scenario.strategy.kind, StrategyKind::Convert);
        assert_eq!(p.scenario.strategy.share, 0.25);
        assert_eq!(p.scenario.run.paths, 500);
        assert_eq!(p.scenario.run.seed, 9);
        assert_eq!(p.request["paths"], 500);
    }
}
