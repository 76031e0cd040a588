//! Parameter verification exactly as `PVE::JSONSchema::validate` does it (same
//! order of checks, same per-field messages), and the typing of verified values
//! that handlers receive.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};

use regex::Regex;
use serde_json::{Map, Number, Value};

use super::formats::check_format;
use super::perl::{is_integer, is_number, perl_ref, perl_string, truthy};

/// Per-field error messages, keyed by parameter name (PVE's `errors` object).
pub(crate) type Errors = BTreeMap<String, String>;

/// Verifies `params` against an endpoint's `parameters` schema and returns them
/// typed: integers and numbers as JSON numbers, booleans as the numbers 1 and 0,
/// strings as strings, arrays element by element. Absent (null) values are dropped.
///
/// Array parameters given as form values are split at NUL (repeated keys).
pub(crate) fn validate_params(
    schema: &Value,
    params: Map<String, Value>,
) -> Result<Map<String, Value>, Errors> {
    let properties = schema.get("properties").and_then(Value::as_object);
    let mut params = params;
    for (name, value) in params.iter_mut() {
        let is_array = properties
            .and_then(|props| property(props, name))
            .and_then(|prop| prop.get("type"))
            .and_then(Value::as_str)
            == Some("array");
        if let (true, Value::String(text)) = (is_array, &*value) {
            *value = Value::Array(text.split('\0').map(Value::from).collect());
        }
    }
    let mut errors = Errors::new();
    match schema.as_object() {
        Some(attrs) => check_object_value(attrs, &params, "", &mut errors),
        None => add_error(&mut errors, "", "Invalid schema definition."),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(params
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(name, value)| {
            let value = match properties.and_then(|props| property(props, &name)) {
                Some(prop) => typed(value, prop),
                None => value,
            };
            (name, value)
        })
        .collect())
}

/// The schema of property `key`. PVE's API dump folds numbered properties
/// (`scsi0` … `scsi30`) into one `scsi[n]` entry, so `scsi5` is looked up there,
/// within the index range PVE defines for that name.
fn property<'a>(properties: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(schema) = properties.get(key) {
        return Some(schema);
    }
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &key[base.len()..];
    if base.is_empty() || digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    let index: u32 = digits.parse().ok()?;
    if index > max_index(base) {
        return None;
    }
    properties.get(&format!("{base}[n]"))
}

/// The highest index of a numbered property (qemu-server's `MAX_*` constants,
/// pve-container's, corosync links and ACME domains).
fn max_index(base: &str) -> u32 {
    match base {
        "ide" | "serial" => 3,
        "parallel" => 2,
        "sata" => 5,
        "scsi" => 30,
        "virtio" | "hostpci" => 15,
        "net" | "ipconfig" => 31,
        "usb" => 13,
        "numa" | "link" => 7,
        "virtiofs" => 9,
        "acmedomain" => 4,
        _ => 255,
    }
}

fn add_error(errors: &mut Errors, path: &str, message: impl Into<String>) {
    let path = if path.is_empty() { "_root" } else { path };
    let message = message.into();
    errors
        .entry(path.to_string())
        .and_modify(|existing| {
            // PVE joins with a single-quoted '\n': a literal backslash and n.
            existing.push_str("\\n");
            existing.push_str(&message);
        })
        .or_insert(message);
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `check_prop`: a value (`None` = undefined) against a property schema.
fn check_prop(value: Option<&Value>, schema: &Value, path: &str, errors: &mut Errors) {
    let Some(attrs) = schema.as_object() else {
        add_error(errors, path, "Invalid schema definition.");
        return;
    };
    let ty = attrs.get("type");
    let Some(value) = value.filter(|v| !v.is_null()) else {
        if ty.and_then(Value::as_str) == Some("null") {
            return;
        }
        let flag = |name: &str| attrs.get(name).is_some_and(truthy);
        if !flag("optional") && !flag("alias") && !flag("group") {
            add_error(errors, path, "property is missing and it is not optional");
        }
        return;
    };
    if attrs.contains_key("oneOf") {
        // Instance-typed alternatives (SDN fabrics): accepted leniently.
        return;
    }
    if !check_type(path, ty, value, errors) {
        return;
    }
    match value {
        Value::Array(items) => {
            if let Some(item_schema) = attrs.get("items").filter(|s| s.is_object()) {
                for (index, item) in items.iter().enumerate() {
                    check_prop(Some(item), item_schema, &format!("{path}[{index}]"), errors);
                }
            }
            return;
        }
        Value::Object(map) => {
            check_object_value(attrs, map, path, errors);
            return;
        }
        // A JSON boolean is a reference in Perl: no scalar checks follow.
        Value::Bool(_) => return,
        Value::Null | Value::Number(_) | Value::String(_) => {}
    }
    let text = perl_string(value).unwrap_or_default();
    check_scalar(&text, attrs, path, errors);
}

fn check_scalar(text: &str, attrs: &Map<String, Value>, path: &str, errors: &mut Errors) {
    if let Some(format) = attrs.get("format")
        && let Err(message) = check_format(format, text)
    {
        add_error(errors, path, message);
        return;
    }
    if let Some(pattern) = attrs.get("pattern").and_then(Value::as_str)
        && !pattern_matches(pattern, text)
    {
        add_error(errors, path, "value does not match the regex pattern");
        return;
    }
    let length = text.chars().count() as f64;
    if let Some((max, shown)) = numeric_attr(attrs, "maxLength")
        && length > max
    {
        add_error(
            errors,
            path,
            format!("value may only be {shown} characters long"),
        );
        return;
    }
    if let Some((min, shown)) = numeric_attr(attrs, "minLength")
        && length < min
    {
        add_error(
            errors,
            path,
            format!("value must be at least {shown} characters long"),
        );
        return;
    }
    if is_number(text) {
        let number = text.parse::<f64>().unwrap_or(0.0);
        if let Some((max, shown)) = numeric_attr(attrs, "maximum")
            && number > max
        {
            add_error(
                errors,
                path,
                format!("value must have a maximum value of {shown}"),
            );
            return;
        }
        if let Some((min, shown)) = numeric_attr(attrs, "minimum")
            && number < min
        {
            add_error(
                errors,
                path,
                format!("value must have a minimum value of {shown}"),
            );
            return;
        }
    }
    if let Some(Value::Array(options)) = attrs.get("enum")
        && !options
            .iter()
            .any(|o| perl_string(o).as_deref() == Some(text))
    {
        let listed: Vec<String> = options.iter().filter_map(perl_string).collect();
        add_error(
            errors,
            path,
            format!(
                "value '{text}' does not have a value in the enumeration '{}'",
                listed.join(", ")
            ),
        );
    }
}

/// The object branch of `check_prop`: only schemas with `properties` or a true
/// `additionalProperties` look inside (so `{additionalProperties: 0}` alone accepts anything).
fn check_object_value(
    attrs: &Map<String, Value>,
    value: &Map<String, Value>,
    path: &str,
    errors: &mut Errors,
) {
    let additional = attrs.get("additionalProperties");
    let properties = attrs.get("properties").and_then(Value::as_object);
    if properties.is_some() || additional.is_some_and(truthy) {
        let empty = Map::new();
        check_object(
            path,
            properties.unwrap_or(&empty),
            value,
            additional,
            errors,
        );
    }
}

/// `check_object`: declared properties, then every given key.
fn check_object(
    path: &str,
    properties: &Map<String, Value>,
    value: &Map<String, Value>,
    additional: Option<&Value>,
    errors: &mut Errors,
) {
    for (key, schema) in properties {
        check_prop(value.get(key), schema, &join_path(path, key), errors);
    }
    for (key, item) in value {
        let new_path = join_path(path, key);
        if let Some(schema) = property(properties, key) {
            if let Some(Value::String(required)) = schema.get("requires")
                && value.get(required).is_none_or(Value::is_null)
            {
                add_error(
                    errors,
                    &join_path(path, required),
                    format!("missing property - '{new_path}' requires this property"),
                );
            }
            continue;
        }
        match additional {
            Some(schema @ Value::Object(_)) => check_prop(Some(item), schema, &new_path, errors),
            Some(flag) if !flag.is_null() && !truthy(flag) => add_error(
                errors,
                &new_path,
                "property is not defined in schema and the schema does not allow additional properties",
            ),
            _ => {}
        }
    }
}

/// `check_type`: returns whether the value has the schema's type.
fn check_type(path: &str, ty: Option<&Value>, value: &Value, errors: &mut Errors) -> bool {
    match ty {
        Some(Value::String(ty)) => check_simple_type(path, ty, value, errors),
        Some(Value::Array(types)) => {
            let matches = types.iter().any(|alternative| {
                let mut scratch = Errors::new();
                check_type(path, Some(alternative), value, &mut scratch)
            });
            if !matches {
                let names: Vec<String> = types.iter().filter_map(perl_string).collect();
                add_error(
                    errors,
                    path,
                    format!("type check ('{}') failed", names.join("|")),
                );
            }
            matches
        }
        _ => true,
    }
}

fn check_simple_type(path: &str, ty: &str, value: &Value, errors: &mut Errors) -> bool {
    match ty {
        "any" => return true,
        "null" => {
            add_error(
                errors,
                path,
                "type check ('null') failed - value is not null",
            );
            return false;
        }
        "array" | "object" => {
            let ok = if ty == "array" {
                value.is_array()
            } else {
                value.is_object()
            };
            if !ok {
                add_error(errors, path, format!("type check ('{ty}') failed"));
            }
            return ok;
        }
        _ => {}
    }
    if let Some(reference) = perl_ref(value) {
        if ty == "boolean" && value.is_boolean() {
            return true;
        }
        add_error(
            errors,
            path,
            format!("type check ('{ty}') failed - got {reference}"),
        );
        return false;
    }
    let text = perl_string(value).unwrap_or_default();
    let ok = match ty {
        "boolean" => text == "1" || text == "0",
        "integer" => is_integer(&text),
        "number" => is_number(&text),
        _ => true,
    };
    if !ok {
        add_error(
            errors,
            path,
            format!("type check ('{ty}') failed - got '{text}'"),
        );
    }
    ok
}

fn numeric_attr(attrs: &Map<String, Value>, name: &str) -> Option<(f64, String)> {
    let value = attrs.get(name)?;
    let shown = perl_string(value)?;
    let number = shown.trim().parse::<f64>().ok()?;
    Some((number, shown))
}

/// Translates a Perl pattern from the schema (`(?^:...)`, `\0`) for the regex
/// crate and anchors it like `m/^$pattern$/`.
pub(crate) fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    let translated = pattern
        .replace("(?^:", "(?:")
        .replace("(?^i:", "(?i:")
        .replace("\\0", "\\x00");
    // Bounded repetitions of Unicode classes (`[\w\s]{0,256}`) need more than
    // the default size limit.
    regex::RegexBuilder::new(&format!("^(?:{translated})\n?$"))
        .size_limit(1 << 27)
        .build()
}

fn pattern_matches(pattern: &str, text: &str) -> bool {
    static CACHE: LazyLock<Mutex<HashMap<String, Option<Regex>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let compiled = cache
        .entry(pattern.to_string())
        .or_insert_with(|| compile_pattern(pattern).ok());
    // A pattern the regex crate cannot express is not held against the caller.
    compiled.as_ref().is_none_or(|re| re.is_match(text))
}

/// The value a handler receives for a verified parameter.
fn typed(value: Value, schema: &Value) -> Value {
    let ty = schema.get("type").and_then(Value::as_str);
    match (ty, value) {
        (Some("boolean"), value) => {
            let on =
                matches!(&value, Value::Bool(true)) || perl_string(&value).as_deref() == Some("1");
            Value::from(u8::from(on))
        }
        (Some("integer"), value) => {
            let text = perl_string(&value).unwrap_or_default();
            let text = text.strip_prefix('+').unwrap_or(&text);
            if let Ok(int) = text.parse::<i64>() {
                Value::from(int)
            } else if let Ok(int) = text.parse::<u64>() {
                Value::from(int)
            } else {
                value
            }
        }
        (Some("number"), value) => {
            let text = perl_string(&value).unwrap_or_default();
            let text = text.strip_prefix('+').unwrap_or(&text);
            if let Ok(int) = text.parse::<i64>() {
                Value::from(int)
            } else {
                text.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map_or(value, Value::Number)
            }
        }
        (Some("string"), value @ (Value::String(_) | Value::Number(_))) => {
            Value::String(perl_string(&value).unwrap_or_default())
        }
        (Some("array"), Value::Array(items)) => match schema.get("items") {
            Some(item_schema) => Value::Array(
                items
                    .into_iter()
                    .map(|item| typed(item, item_schema))
                    .collect(),
            ),
            None => Value::Array(items),
        },
        (_, value) => value,
    }
}

#[cfg(test)]
mod tests;
