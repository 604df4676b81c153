//! Taking values out of a response for later steps.

use crate::scenario::model::CaptureSource;
use obconform_core::wire::HttpResponse;
use serde_json::Value;
use serde_json_path::JsonPath;

/// The captured value: a JSON node as it is (an array or object can be inserted whole into a
/// later JSON body with `"{{name}}"`); a header, query parameter or regex match as a string.
pub fn capture(source: &CaptureSource, response: &HttpResponse) -> Result<Value, String> {
    match source {
        CaptureSource::Json(path) => {
            let document: serde_json::Value = serde_json::from_slice(&response.body)
                .map_err(|e| crate::check::expect::not_json(response, &e))?;
            let jsonpath =
                JsonPath::parse(path).map_err(|e| format!("{path}: not a valid JSONPath: {e}"))?;
            let nodes = jsonpath.query(&document).all();
            match nodes.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(format!("{path} selects nothing in the response")),
                many => Err(format!(
                    "{path} selects {} nodes; a capture needs exactly one",
                    many.len()
                )),
            }
        }
        CaptureSource::Header(name) => response
            .header(name)
            .map(|v| Value::String(v.to_string()))
            .ok_or_else(|| format!("the response has no header `{name}`")),
        CaptureSource::Query(name) => {
            let location = response.header("location").ok_or_else(|| {
                "the response has no Location header (not a redirect)".to_string()
            })?;
            let url = reqwest::Url::parse(location)
                .map_err(|e| format!("the Location header is not an absolute URL: {e}"))?;
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| Value::String(v.into_owned()))
                .ok_or_else(|| format!("the redirect to {} has no `{name}` parameter", url.path()))
        }
        CaptureSource::Regex(pattern) => {
            let re = regex::Regex::new(pattern)
                .map_err(|e| format!("invalid regex /{pattern}/: {e}"))?;
            let body = response.body_text();
            let caps = re
                .captures(&body)
                .ok_or_else(|| format!("/{pattern}/ does not match the body"))?;
            let m = caps
                .get(1)
                .or_else(|| caps.get(0))
                .map(|m| Value::String(m.as_str().to_string()));
            m.ok_or_else(|| format!("/{pattern}/ matched nothing"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![("X-ING-Response-ID".into(), "abc".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn json_header_and_regex_captures() {
        let r = response(r#"{"access_token":"t1","n":5,"list":[1,2]}"#);
        assert_eq!(
            capture(&CaptureSource::Json("$.access_token".into()), &r).unwrap(),
            "t1"
        );
        assert_eq!(
            capture(&CaptureSource::Json("$.n".into()), &r).unwrap(),
            5,
            "a number stays a number"
        );
        assert_eq!(
            capture(&CaptureSource::Json("$.list".into()), &r).unwrap(),
            serde_json::json!([1, 2]),
            "an array is captured whole"
        );
        assert!(
            capture(&CaptureSource::Json("$.list[*]".into()), &r)
                .unwrap_err()
                .contains("2 nodes")
        );
        assert!(capture(&CaptureSource::Json("$.nope".into()), &r).is_err());
        assert_eq!(
            capture(&CaptureSource::Header("x-ing-response-id".into()), &r).unwrap(),
            "abc"
        );
        assert_eq!(
            capture(&CaptureSource::Regex("\"n\":(\\d+)".into()), &r).unwrap(),
            "5"
        );
        assert!(
            capture(&CaptureSource::Json("$.x".into()), &response("not json"))
                .unwrap_err()
                .contains("not JSON")
        );
    }
}
