//! Request parameters as pveproxy collects them: form-urlencoded or JSON body for
//! POST/PUT, then the query string on top (query values win), `_dc` removed.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// `decode_urlencoded`: pairs split at `&` and `;`, `+` as space, `%XX` decoded.
/// A key without a value is undefined (JSON null); repeated keys are joined with NUL.
pub(crate) fn decode_urlencoded(data: &str, into: &mut Map<String, Value>) {
    for pair in data.split(['&', ';']).filter(|pair| !pair.is_empty()) {
        // Perl's `my ($k, $v) = split(/=/, $kv)`: trailing empty fields are
        // dropped, and only the first two fields are kept.
        let mut fields: Vec<&str> = pair.split('=').collect();
        while fields.last().is_some_and(|field| field.is_empty()) {
            fields.pop();
        }
        let key = decode_component(fields.first().copied().unwrap_or_default());
        let value = fields.get(1).map(|value| decode_component(value));
        let value = match (value, into.get(&key)) {
            (Some(value), Some(Value::String(old))) => Value::String(format!("{old}\0{value}")),
            (Some(value), _) => Value::String(value),
            (None, _) => Value::Null,
        };
        into.insert(key, value);
    }
}

fn decode_component(text: &str) -> String {
    let spaced = text.replace('+', " ");
    match percent_decode_str(&spaced).decode_utf8_lossy() {
        Cow::Borrowed(decoded) => decoded.to_string(),
        Cow::Owned(decoded) => decoded,
    }
}

/// The media type of a `Content-Type` header (`parse_content_type`).
pub(crate) fn media_type(content_type: &str) -> &str {
    content_type
        .split([';', ','])
        .next()
        .unwrap_or_default()
        .trim()
}

/// Why a request body could not be read as parameters; pveproxy answers 501
/// with this as the reason.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("malformed JSON string: {0}")]
    Json(#[from] serde_json::Error),
    #[error("Not a HASH reference")]
    NotAnObject,
}

/// All parameters of a request: the body (for POST and PUT), then the query.
pub(crate) fn extract(
    is_post_or_put: bool,
    content_type: Option<&str>,
    body: &[u8],
    query: Option<&str>,
) -> Result<Map<String, Value>, BodyError> {
    let mut params = Map::new();
    if is_post_or_put {
        if content_type.map(media_type) == Some("application/json") {
            match serde_json::from_slice::<Value>(body)? {
                Value::Object(object) => params = object,
                _ => return Err(BodyError::NotAnObject),
            }
        } else {
            decode_urlencoded(&String::from_utf8_lossy(body), &mut params);
        }
    }
    let mut query_params = Map::new();
    decode_urlencoded(query.unwrap_or_default(), &mut query_params);
    params.extend(query_params);
    params.remove("_dc");
    Ok(params)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::extract;

    #[test]
    fn query_values_win_over_body_values() {
        let params = extract(true, None, b"newid=101&name=a", Some("newid=102")).expect("parsed");
        assert_eq!(params["newid"], json!("102"));
        assert_eq!(params["name"], json!("a"));
    }

    #[test]
    fn form_decoding_follows_pveproxy() {
        let body = b"name=web+1&desc=a%20b%3Dc;tags=x&tags=y&empty=&bare&_dc=123";
        let params =
            extract(true, Some("application/x-www-form-urlencoded"), body, None).expect("parsed");
        assert_eq!(params["name"], json!("web 1"));
        assert_eq!(params["desc"], json!("a b=c"));
        assert_eq!(params["tags"], json!("x\0y"));
        assert_eq!(params["empty"], Value::Null);
        assert_eq!(params["bare"], Value::Null);
        assert!(!params.contains_key("_dc"));
    }

    #[test]
    fn json_bodies_keep_their_types_and_must_be_objects() {
        let params = extract(
            true,
            Some("application/json; charset=utf-8"),
            br#"{"newid": 101, "full": true}"#,
            None,
        )
        .expect("parsed");
        assert_eq!(params["newid"], json!(101));
        assert_eq!(params["full"], json!(true));
        assert!(extract(true, Some("application/json"), b"[1]", None).is_err());
        assert!(extract(true, Some("application/json"), b"", None).is_err());
    }

    #[test]
    fn bodies_of_other_methods_are_ignored() {
        let params = extract(false, None, b"a=1", Some("b=2")).expect("parsed");
        assert!(!params.contains_key("a"));
        assert_eq!(params["b"], json!("2"));
    }
}
