//! Checks an answer against the `returns` schema of its endpoint, as loosely as
//! PVE's own output is typed (numbers as strings, booleans as 0/1), so tests can
//! prove that every answer the simulator gives has PVE's shape.

use http::Method;
use serde_json::Value;

use super::perl::{is_integer, is_number, perl_string, truthy};
use super::schema::Schema;

/// Checks `data` (the `data` member of an answer) against the `returns` schema of
/// `method template`: types, required object properties and enums. Extra
/// properties are allowed: PVE's answers carry undocumented ones too.
pub fn check_returns(method: &Method, template: &str, data: &Value) -> Result<(), Vec<String>> {
    let Some(endpoint) = Schema::get().endpoint(method, template) else {
        return Err(vec![format!(
            "{method} {template} is not in the PVE API schema"
        )]);
    };
    let optional = endpoint.returns.get("optional").is_some_and(truthy);
    if data.is_null() && optional {
        // e.g. POST config with background_delay: null once the task is done
        return Ok(());
    }
    let mut problems = Vec::new();
    check(data, &endpoint.returns, "data", &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check(value: &Value, schema: &Value, path: &str, problems: &mut Vec<String>) {
    if schema.get("oneOf").is_some() {
        return;
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(ty)) => vec![ty.as_str()],
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect(),
        _ => return,
    };
    let Some(ty) = types.iter().copied().find(|ty| has_type(value, ty)) else {
        problems.push(format!(
            "{path}: expected {}, got {value}",
            types.join(" or ")
        ));
        return;
    };
    match (ty, value) {
        ("array", Value::Array(items)) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    check(item, item_schema, &format!("{path}[{index}]"), problems);
                }
            }
        }
        ("object", Value::Object(object)) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            for (name, property) in properties.into_iter().flatten() {
                let member_path = format!("{path}.{name}");
                match object.get(name).filter(|member| !member.is_null()) {
                    Some(member) => check(member, property, &member_path, problems),
                    None if !property.get("optional").is_some_and(truthy) => {
                        problems.push(format!("{member_path}: required property is missing"));
                    }
                    None => {}
                }
            }
            if let Some(additional @ Value::Object(_)) = schema.get("additionalProperties") {
                for (name, member) in object {
                    if properties.is_none_or(|props| !props.contains_key(name)) && !member.is_null()
                    {
                        check(member, additional, &format!("{path}.{name}"), problems);
                    }
                }
            }
        }
        _ => {
            if let Some(Value::Array(options)) = schema.get("enum") {
                let text = perl_string(value);
                if !options.iter().any(|option| perl_string(option) == text) {
                    let listed: Vec<String> = options.iter().filter_map(perl_string).collect();
                    problems.push(format!(
                        "{path}: {value} is not one of {}",
                        listed.join(", ")
                    ));
                }
            }
        }
    }
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "string" => value.is_string() || value.is_number(),
        "integer" => match value {
            Value::Number(number) => {
                number.is_i64()
                    || number.is_u64()
                    || number.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            Value::String(text) => is_integer(text),
            _ => false,
        },
        "number" => match value {
            Value::Number(_) => true,
            Value::String(text) => is_number(text),
            _ => false,
        },
        "boolean" => match value {
            Value::Bool(_) => true,
            _ => matches!(perl_string(value).as_deref(), Some("0" | "1")),
        },
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use super::check_returns;

    #[test]
    fn pve_style_loose_answers_pass() {
        assert_eq!(
            check_returns(&Method::GET, "/cluster/nextid", &json!("100")),
            Ok(())
        );
        let status = json!({
            "upid": "UPID:pve1:0003A1B2:01C2D3E4:66A0B1C2:qmclone:9000:root@pam:",
            "node": "pve1", "pid": 238002, "pstart": "29545444", "starttime": 1721807298,
            "type": "qmclone", "id": "9000", "user": "root@pam", "status": "stopped",
            "exitstatus": "OK", "tokenid": "ci"
        });
        assert_eq!(
            check_returns(&Method::GET, "/nodes/{node}/tasks/{upid}/status", &status),
            Ok(())
        );
        assert_eq!(
            check_returns(
                &Method::PUT,
                "/nodes/{node}/qemu/{vmid}/config",
                &json!(null)
            ),
            Ok(())
        );
        assert_eq!(
            check_returns(
                &Method::POST,
                "/nodes/{node}/qemu/{vmid}/config",
                &json!(null)
            ),
            Ok(()),
            "an optional answer may be null"
        );
        assert!(
            check_returns(
                &Method::POST,
                "/nodes/{node}/qemu/{vmid}/clone",
                &json!(null)
            )
            .is_err()
        );
    }

    #[test]
    fn wrong_types_missing_properties_and_enums_are_reported() {
        let status = json!({
            "upid": "UPID:x", "node": "pve1", "pid": "many", "starttime": 1,
            "type": "qmclone", "id": "9000", "user": "root@pam", "status": "done"
        });
        let problems = check_returns(&Method::GET, "/nodes/{node}/tasks/{upid}/status", &status)
            .expect_err("status has problems");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("data.pid: expected integer"))
        );
        assert!(problems.contains(&"data.pstart: required property is missing".to_string()));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("data.status: \"done\" is not one of"))
        );
        let log = json!([{"n": 1, "t": "TASK OK"}, {"n": "x"}]);
        let problems = check_returns(&Method::GET, "/nodes/{node}/tasks/{upid}/log", &log)
            .expect_err("log has problems");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(check_returns(&Method::GET, "/no/such/path", &json!(null)).is_err());
    }
}
