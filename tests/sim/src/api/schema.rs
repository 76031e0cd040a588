//! PVE's own API schema (the pve-docs dump in `tests/fixtures/pve/`), embedded and
//! turned into a path matcher that resolves concrete paths the way
//! `PVE::RESTHandler::find_handler` does.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::LazyLock;

use http::Method;
use serde_json::Value;

use super::perl::truthy;

static SCHEMA_GZ: &[u8] = include_bytes!("../../../fixtures/pve/pve-api-schema.json.gz");

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let mut text = String::new();
    flate2::read::GzDecoder::new(SCHEMA_GZ)
        .read_to_string(&mut text)
        .expect("the embedded PVE API schema is valid gzip");
    let dump: Value = serde_json::from_str(&text).expect("the embedded PVE API schema is JSON");
    Schema::from_dump(&dump)
});

/// Templates below which PVE joins the rest of the path into one component
/// (`fragmentDelimiter => ''`), because volume IDs may contain a slash.
const WHOLE_REST_AFTER: &[&str] = &["/nodes/{node}/storage/{storage}/content"];

/// One method of one path in the schema.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub method: Method,
    pub template: String,
    /// The `parameters` object schema.
    pub parameters: Value,
    /// The `returns` schema.
    pub returns: Value,
    /// `allowtoken`: whether API tokens may call it.
    pub allow_token: bool,
    /// `permissions.user == "world"`: callable without authentication.
    pub world: bool,
}

#[derive(Debug, Default)]
struct Node {
    literals: HashMap<String, Node>,
    param: Option<(String, Box<Node>)>,
    /// The rest of the path is one component (PVE's `fragmentDelimiter`).
    whole_rest: bool,
    template: Option<String>,
    methods: HashMap<Method, usize>,
}

/// A concrete path resolved against the schema's templates.
#[derive(Debug)]
pub(crate) struct PathMatch {
    pub template: &'static str,
    pub params: BTreeMap<String, String>,
    methods: &'static HashMap<Method, usize>,
}

impl PathMatch {
    /// The schema's endpoint for `method` on this path, if the schema has one.
    pub fn endpoint(&self, method: &Method) -> Option<&'static Endpoint> {
        self.methods
            .get(method)
            .map(|index| &Schema::get().endpoints[*index])
    }
}

#[derive(Debug)]
pub(crate) struct Schema {
    endpoints: Vec<Endpoint>,
    by_key: HashMap<(Method, String), usize>,
    root: Node,
}

impl Schema {
    pub fn get() -> &'static Schema {
        &SCHEMA
    }

    fn from_dump(dump: &Value) -> Schema {
        let mut schema = Schema {
            endpoints: Vec::new(),
            by_key: HashMap::new(),
            root: Node::default(),
        };
        let paths = dump
            .get("paths")
            .and_then(Value::as_object)
            .expect("the embedded PVE API schema has a paths object");
        for (template, methods) in paths {
            let Some(methods) = methods.as_object() else {
                continue;
            };
            for (method, info) in methods {
                let Ok(method) = Method::from_bytes(method.as_bytes()) else {
                    continue;
                };
                let index = schema.endpoints.len();
                let mut parameters = info.get("parameters").cloned().unwrap_or(Value::Null);
                restore_description_parameter(&method, template, &mut parameters);
                schema.endpoints.push(Endpoint {
                    method: method.clone(),
                    template: template.clone(),
                    parameters,
                    returns: info.get("returns").cloned().unwrap_or(Value::Null),
                    allow_token: info.get("allowtoken").is_some_and(truthy),
                    world: info.pointer("/permissions/user").and_then(Value::as_str)
                        == Some("world"),
                });
                schema
                    .by_key
                    .insert((method.clone(), template.clone()), index);
                schema.root.insert(template, method, index);
            }
        }
        schema
    }

    /// Every endpoint in the schema.
    #[cfg(test)]
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The endpoint for `method` on `template`, e.g. `POST /nodes/{node}/qemu/{vmid}/clone`.
    pub fn endpoint(&'static self, method: &Method, template: &str) -> Option<&'static Endpoint> {
        self.by_key
            .get(&(method.clone(), template.to_string()))
            .map(|index| &self.endpoints[*index])
    }

    /// Resolves an already percent-decoded API path such as `/nodes/pve1/qemu/100`.
    /// Empty components are skipped and a template parameter matches one
    /// component without whitespace, as in PVE.
    pub fn resolve(&'static self, path: &str) -> Option<PathMatch> {
        let mut components: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .rev()
            .map(str::to_string)
            .collect();
        let mut node = &self.root;
        let mut params = BTreeMap::new();
        while let Some(component) = components.pop() {
            if let Some(next) = node.literals.get(&component) {
                node = next;
            } else if let Some((name, next)) = &node.param {
                if component.chars().any(char::is_whitespace) {
                    return None;
                }
                params.insert(name.clone(), component);
                node = next;
            } else {
                return None;
            }
            if node.whole_rest && components.len() > 1 {
                let rest: Vec<String> = components.drain(..).rev().collect();
                components.push(rest.join("/"));
            }
        }
        Some(PathMatch {
            template: node.template.as_deref()?,
            params,
            methods: &node.methods,
        })
    }
}

/// Guest endpoints whose `description` parameter the dump lost when its
/// descriptions were stripped (every key named `description` went, the
/// parameter too), with PVE's `maxLength` for it.
const DESCRIPTION_PARAMETER: &[(&str, &str, Option<u32>)] = &[
    ("POST", "/nodes/{node}/qemu", Some(8192)),
    ("PUT", "/nodes/{node}/qemu/{vmid}/config", Some(8192)),
    ("POST", "/nodes/{node}/qemu/{vmid}/config", Some(8192)),
    ("POST", "/nodes/{node}/qemu/{vmid}/clone", None),
    ("POST", "/nodes/{node}/lxc", Some(8192)),
    ("PUT", "/nodes/{node}/lxc/{vmid}/config", Some(8192)),
    ("POST", "/nodes/{node}/lxc/{vmid}/clone", None),
];

fn restore_description_parameter(method: &Method, template: &str, parameters: &mut Value) {
    let Some((_, _, max_length)) = DESCRIPTION_PARAMETER
        .iter()
        .find(|(m, t, _)| *m == method.as_str() && *t == template)
    else {
        return;
    };
    let Some(properties) = parameters
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut property = serde_json::json!({"type": "string", "optional": 1});
    if let Some(max) = max_length {
        property["maxLength"] = Value::from(*max);
    }
    properties.entry("description").or_insert(property);
}

impl Node {
    fn insert(&mut self, template: &str, method: Method, index: usize) {
        let mut node = self;
        let mut prefix = String::new();
        for component in template.split('/').filter(|c| !c.is_empty()) {
            prefix.push('/');
            prefix.push_str(component);
            node = match component
                .strip_prefix('{')
                .and_then(|c| c.strip_suffix('}'))
            {
                Some(name) => {
                    let (_, next) = node
                        .param
                        .get_or_insert_with(|| (name.to_string(), Box::default()));
                    next
                }
                None => node.literals.entry(component.to_string()).or_default(),
            };
            if WHOLE_REST_AFTER.contains(&prefix.as_str()) {
                node.whole_rest = true;
            }
        }
        node.template = Some(template.to_string());
        node.methods.insert(method, index);
    }
}

#[cfg(test)]
mod tests;
