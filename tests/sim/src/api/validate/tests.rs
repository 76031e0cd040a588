use http::Method;
use serde_json::{Map, Value, json};

use super::{compile_pattern, validate_params};
use crate::api::schema::Schema;

fn parameters(method: Method, template: &str) -> &'static Value {
    &Schema::get()
        .endpoint(&method, template)
        .expect("endpoint in schema")
        .parameters
}

fn clone_params() -> &'static Value {
    parameters(Method::POST, "/nodes/{node}/qemu/{vmid}/clone")
}

fn form(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

#[test]
fn clone_parameters_from_a_form_come_out_typed() {
    let params = form(&[
        ("node", "pve1"),
        ("vmid", "9100"),
        ("newid", "101"),
        ("full", "1"),
        ("name", "web-1"),
    ]);
    let typed = validate_params(clone_params(), params).expect("valid");
    assert_eq!(
        Value::Object(typed),
        json!({"node": "pve1", "vmid": 9100, "newid": 101, "full": 1, "name": "web-1"})
    );
}

#[test]
fn every_bad_field_is_reported_with_pves_message() {
    let params = form(&[
        ("node", "pve1"),
        ("vmid", "50"),
        ("newid", "x"),
        ("full", "true"),
        ("name", "web 1"),
        ("format", "vdi"),
        ("snapname", &"s".repeat(41)),
        ("color", "blue"),
    ]);
    let errors = validate_params(clone_params(), params).expect_err("invalid");
    let expected = [
        (
            "vmid",
            "invalid format - value does not look like a valid VM ID\n",
        ),
        ("newid", "type check ('integer') failed - got 'x'"),
        ("full", "type check ('boolean') failed - got 'true'"),
        (
            "name",
            "invalid format - value does not look like a valid DNS name\n",
        ),
        (
            "format",
            "value 'vdi' does not have a value in the enumeration 'raw, qcow2, vmdk'",
        ),
        ("snapname", "value may only be 40 characters long"),
        (
            "color",
            "property is not defined in schema and the schema does not allow additional properties",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(errors.into_iter().collect::<Vec<_>>(), {
        let mut sorted = expected;
        sorted.sort();
        sorted
    });
}

#[test]
fn missing_and_empty_required_values_are_missing() {
    let mut params = form(&[("node", "pve1"), ("vmid", "100")]);
    params.insert("newid".into(), Value::Null);
    let errors = validate_params(clone_params(), params).expect_err("invalid");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors["newid"],
        "property is missing and it is not optional"
    );
}

#[test]
fn minimum_is_checked_after_the_format() {
    let params = form(&[
        ("node", "pve1"),
        ("vmid", "100"),
        ("newid", "101"),
        ("bwlimit", "-1"),
    ]);
    let errors = validate_params(clone_params(), params).expect_err("invalid");
    assert_eq!(errors["bwlimit"], "value must have a minimum value of 0");
}

#[test]
fn json_values_keep_perl_semantics() {
    let mut params = form(&[("node", "pve1")]);
    params.insert("vmid".into(), json!(100));
    params.insert("newid".into(), json!(true));
    params.insert("full".into(), json!(false));
    params.insert("name".into(), json!({"a": 1}));
    let errors = validate_params(clone_params(), params).expect_err("invalid");
    assert_eq!(
        errors["newid"],
        "type check ('integer') failed - got JSON::PP::Boolean"
    );
    assert_eq!(errors["name"], "type check ('string') failed - got HASH");
    assert!(!errors.contains_key("full"));

    let mut params = form(&[("node", "pve1")]);
    params.insert("vmid".into(), json!(100));
    params.insert("newid".into(), json!(101));
    params.insert("full".into(), json!(true));
    let typed = validate_params(clone_params(), params).expect("valid");
    assert_eq!(typed["full"], json!(1));
    assert_eq!(typed["newid"], json!(101));
}

#[test]
fn requires_names_the_missing_partner() {
    let schema = parameters(Method::POST, "/access/ticket");
    let params = form(&[("username", "root@pam"), ("password", "x"), ("path", "/")]);
    let errors = validate_params(schema, params).expect_err("invalid");
    assert_eq!(
        errors["privs"],
        "missing property - 'path' requires this property"
    );
}

#[test]
fn schemas_without_properties_accept_anything() {
    let schema = parameters(Method::GET, "/version");
    let typed = validate_params(schema, form(&[("anything", "1")])).expect("valid");
    assert_eq!(typed["anything"], json!("1"));
}

#[test]
fn array_parameters_from_forms_are_split_at_nul() {
    let schema = parameters(Method::POST, "/nodes/{node}/qemu/{vmid}/agent/exec");
    let params = form(&[("node", "pve1"), ("vmid", "100"), ("command", "ls\0-l")]);
    let typed = validate_params(schema, params).expect("valid");
    assert_eq!(typed["command"], json!(["ls", "-l"]));
}

#[test]
fn every_schema_pattern_compiles() {
    let mut checked = 0;
    for endpoint in Schema::get().endpoints() {
        let Some(properties) = endpoint
            .parameters
            .get("properties")
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (name, property) in properties {
            for schema in [Some(property), property.get("items")]
                .into_iter()
                .flatten()
            {
                if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                    compile_pattern(pattern).unwrap_or_else(|err| {
                        panic!(
                            "{} {} {name}: {pattern}: {err}",
                            endpoint.method, endpoint.template
                        )
                    });
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} patterns found");
}

#[test]
fn numbered_properties_are_checked_against_their_folded_schema_entry() {
    let create = parameters(Method::POST, "/nodes/{node}/qemu");
    let params = form(&[
        ("node", "pve1"),
        ("vmid", "150"),
        ("scsi0", "local-lvm:8"),
        ("scsi30", "local-lvm:1"),
        ("net0", "virtio,bridge=vmbr0"),
        ("ide2", "none,media=cdrom"),
    ]);
    let typed = validate_params(create, params).expect("valid");
    assert_eq!(typed["scsi30"], "local-lvm:1");
    let errors = validate_params(
        create,
        form(&[
            ("node", "pve1"),
            ("vmid", "150"),
            ("scsi31", "local-lvm:1"),
            ("ide01", "none,media=cdrom"),
        ]),
    )
    .expect_err("out of range");
    let undefined =
        "property is not defined in schema and the schema does not allow additional properties";
    assert_eq!(errors["scsi31"], undefined);
    assert_eq!(errors["ide01"], undefined);
}
