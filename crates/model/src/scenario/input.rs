//! Wrong-type values in a scenario, named by their full key path (`price.spot`,
//! `mining.fleet[2].units`), with the value given and the type expected, all at once.
//!
//! serde stops at the first wrong type and names only the innermost key. This walks the input
//! (TOML from the CLI, JSON from the HTTP API, both as a JSON tree) against the default scenario,
//! which has every field, and reports every value whose type differs. One implementation for both
//! front ends: [`crate::Scenario::from_toml_str`] and the server's JSON parsing call it when serde
//! fails. Unknown keys are left to serde (`deny_unknown_fields`), which names them.

use serde_json::Value;

use crate::scenario::FieldError;
use crate::Scenario;

/// Every value of `input` (a scenario as a JSON tree) whose type is not the field's, with its key
/// path, the value (at most [`hashpivot_data::text::CLIP_CHARS`] characters of it) and the
/// expected type. Empty when the types are
/// right (the problem, if any, is elsewhere: an unknown key, a missing fleet field).
pub fn type_problems(input: &Value) -> Vec<FieldError> {
    let Ok(schema) = serde_json::to_value(schema()) else {
        return Vec::new();
    };
    type_problems_against(input, &schema, "")
}

/// Every value of `input` whose type differs from the value at the same place in `shape` (any
/// JSON document whose leaves have the expected types), keys prefixed with `prefix`. Keys absent
/// from `shape` are not checked. For documents that wrap a scenario (the HTTP API's run request).
pub fn type_problems_against(input: &Value, shape: &Value, prefix: &str) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk(input, shape, prefix.to_string(), &mut out);
    out
}

/// [`type_problems`] of a TOML scenario text; None when it is not TOML or has no wrong type.
pub fn toml_type_problems(text: &str) -> Option<Vec<FieldError>> {
    let v: toml::Value = toml::from_str(text).ok()?;
    let p = type_problems(&serde_json::to_value(v).ok()?);
    (!p.is_empty()).then_some(p)
}

/// The default scenario with every optional table and list filled in, so that each field has a
/// value whose type the input can be compared with.
fn schema() -> Scenario {
    Scenario {
        power: Some(crate::scenario::Power {
            hourly: Some(String::new()),
        }),
        dispatch: Some(crate::power::DispatchConfig {
            fourcp_hours: vec![17],
            ..Default::default()
        }),
        finance: Some(crate::scenario::Finance::default()),
        cloud: Some(crate::scenario::Cloud::default()),
        ..Scenario::default()
    }
}

fn walk(v: &Value, schema: &Value, path: String, out: &mut Vec<FieldError>) {
    let expected = match schema {
        // Optional fields left out of the defaults: nothing to compare with.
        Value::Null => return,
        Value::Bool(_) => (!v.is_boolean()).then_some("true or false"),
        Value::String(_) => (!v.is_string()).then_some("text"),
        Value::Number(n) if n.is_u64() => (!v.is_u64()).then_some("a whole number >= 0"),
        Value::Number(_) => (!v.is_number()).then_some("a number"),
        Value::Array(items) => match v {
            Value::Array(given) => {
                // A list of one type (`shares`, `fleet`) or a fixed pair (`[day, share]` of
                // `schedule`), compared position by position.
                let pair = items.windows(2).any(|w| kind(&w[0]) != kind(&w[1]));
                for (i, g) in given.iter().enumerate() {
                    let s = if pair { items.get(i) } else { items.first() };
                    if let Some(s) = s {
                        walk(g, s, format!("{path}[{i}]"), out);
                    }
                }
                None
            }
            _ => Some("a list"),
        },
        Value::Object(fields) => match v {
            Value::Object(given) => {
                for (k, g) in given {
                    if let Some(s) = fields.get(k) {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        walk(g, s, p, out);
                    }
                }
                None
            }
            _ => Some("a table"),
        },
    };
    if let Some(expected) = expected {
        out.push(FieldError {
            key: if path.is_empty() {
                "scenario".into()
            } else {
                path
            },
            value: show(v),
            allowed: format!("{expected} (got {})", kind(v)),
        });
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(n) if n.is_i64() && !n.is_u64() => "a negative number",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

/// The value as JSON text, clipped like every quoted value.
fn show(v: &Value) -> String {
    hashpivot_data::text::clip(&v.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_wrong_type_is_named_by_its_full_path() {
        let input = json!({
            "price": {"spot": "high", "vol": 0.5},
            "run": {"paths": 1.5},
            "mining": {"fleet": [
                {"model": "a", "hashrate_ths": 1.0, "power_w": 1.0, "units": 1.0},
                {"model": "b", "hashrate_ths": 1.0, "power_w": 1.0, "units": 1.0},
                {"model": "c", "hashrate_ths": 1.0, "power_w": 1.0, "units": "many"}
            ]},
            "site": "big"
        });
        let p = type_problems(&input);
        let keys: Vec<&str> = p.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(
            keys,
            ["mining.fleet[2].units", "price.spot", "run.paths", "site"],
            "{p:?}"
        );
        assert_eq!(p[1].value, "\"high\"");
        assert!(p[1].allowed.starts_with("a number"), "{}", p[1].allowed);
        assert!(
            p[2].allowed.starts_with("a whole number"),
            "{}",
            p[2].allowed
        );
        assert!(type_problems(&serde_json::to_value(Scenario::default()).unwrap()).is_empty());
        let p = type_problems(&json!({"strategy": {"schedule": [[100, 0.3], [200.5, 0.2]]}}));
        let keys: Vec<&str> = p.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["strategy.schedule[1][0]"], "{p:?}");
        // The optional tables are checked too.
        let p = type_problems(
            &json!({"power": {"hourly": 7}, "dispatch": {"fourcp_hours": [17, "x"], "min_run_hours": -1}}),
        );
        let keys: Vec<&str> = p.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "dispatch.fourcp_hours[1]",
                "dispatch.min_run_hours",
                "power.hourly"
            ],
            "{p:?}"
        );
    }

    #[test]
    fn toml_wrong_types_are_all_reported_by_the_scenario_parser() {
        let text = "[price]\nspot = \"high\"\n[[mining.fleet]]\nmodel = \"a\"\nunits = \"many\"\nhashrate_ths = 1.0\npower_w = 1.0\n";
        match Scenario::from_toml_str(text) {
            Err(crate::ScenarioError::Invalid(p)) => {
                let got: Vec<String> = p.iter().map(|f| f.to_string()).collect();
                assert_eq!(
                    got,
                    [
                        "mining.fleet[0].units = \"many\": allowed a number (got text)",
                        "price.spot = \"high\": allowed a number (got text)"
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_values_are_clipped() {
        let p = type_problems(&json!({"price": {"spot": "x".repeat(100_000)}}));
        assert_eq!(
            p[0].value,
            format!("\"{}… (99922 more characters)", "x".repeat(79))
        );
    }
}
