//! A small JSON Schema judge for the probes: does a tool's own `inputSchema`
//! allow these arguments? It knows the keywords the probes are built from
//! (`type`, `enum`, `const`, `minimum`/`maximum` and their exclusive forms,
//! `minLength`/`maxLength`, `properties`, `required`, `additionalProperties`,
//! `items`); any other constraint it cannot judge (`pattern`, `anyOf`, `$ref`,
//! …) makes a value it found no fault with [`Verdict::Unknown`], never valid.
//! So a probe is only expected to be refused when the schema really forbids it.

use serde_json::Value;

/// What the schema says about a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// The schema forbids it.
    Invalid,
    /// No fault found, but a keyword this judge does not know might forbid it.
    Unknown,
}

impl Verdict {
    fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Invalid, _) | (_, Verdict::Invalid) => Verdict::Invalid,
            (Verdict::Unknown, _) | (_, Verdict::Unknown) => Verdict::Unknown,
            _ => Verdict::Valid,
        }
    }
}

/// Keywords that only describe (or that the judge follows itself).
const KNOWN: &[&str] = &[
    "type",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "default",
    "description",
    "title",
    "examples",
    "$schema",
    "$id",
    "$comment",
    "format",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
];

/// The JSON type names a value has (`7` is both an integer and a number).
pub fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => true,
    }
}

/// The declared types of a schema (`"type": "x"` or `"type": ["x", "null"]`);
/// empty when it declares none.
pub fn declared_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Judge `v` against `schema`.
pub fn judge(schema: &Value, v: &Value) -> Verdict {
    let Some(s) = schema.as_object() else {
        // `true` allows everything, `false` nothing.
        return match schema {
            Value::Bool(false) => Verdict::Invalid,
            _ => Verdict::Valid,
        };
    };
    let mut verdict = if s.keys().all(|k| KNOWN.contains(&k.as_str())) {
        Verdict::Valid
    } else {
        Verdict::Unknown
    };
    let types = declared_types(schema);
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, v)) {
        return Verdict::Invalid;
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.iter().any(|x| same(x, v)) {
            return Verdict::Invalid;
        }
    }
    if let Some(c) = s.get("const") {
        if !same(c, v) {
            return Verdict::Invalid;
        }
    }
    if let Some(n) = v.as_f64() {
        let num = |k: &str| s.get(k).and_then(Value::as_f64);
        let below = num("minimum").is_some_and(|m| n < m)
            || num("exclusiveMinimum").is_some_and(|m| n <= m);
        let above = num("maximum").is_some_and(|m| n > m)
            || num("exclusiveMaximum").is_some_and(|m| n >= m);
        if below || above {
            return Verdict::Invalid;
        }
    }
    if let Some(text) = v.as_str() {
        let len = text.chars().count() as u64;
        let int = |k: &str| s.get(k).and_then(Value::as_u64);
        if int("minLength").is_some_and(|m| len < m) || int("maxLength").is_some_and(|m| len > m) {
            return Verdict::Invalid;
        }
    }
    if let Some(o) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !o.contains_key(r) {
                return Verdict::Invalid;
            }
        }
        for (k, x) in o {
            let sub = match props.and_then(|p| p.get(k)) {
                Some(ps) => judge(ps, x),
                None => match s.get("additionalProperties") {
                    Some(ap) => judge(ap, x),
                    None => Verdict::Valid,
                },
            };
            verdict = verdict.and(sub);
            if verdict == Verdict::Invalid {
                return verdict;
            }
        }
    }
    if let (Some(items), Some(a)) = (s.get("items"), v.as_array()) {
        for x in a {
            verdict = verdict.and(judge(items, x));
            if verdict == Verdict::Invalid {
                return verdict;
            }
        }
    }
    verdict
}

/// JSON equality where `1` and `1.0` are the same number.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn judges_the_keywords_probes_are_made_from() {
        let s = json!({"type": "object", "properties": {
            "n": {"type": "integer", "minimum": 1, "maximum": 10},
            "x": {"type": "number", "exclusiveMinimum": 0},
            "s": {"type": "string", "minLength": 2, "maxLength": 4},
            "e": {"type": "string", "enum": ["a", "b"]},
            "o": {"type": ["object", "null"], "properties": {"k": {"type": "boolean"}}, "required": ["k"]},
            "l": {"type": "array", "items": {"type": "integer"}}
        }, "required": ["n"], "additionalProperties": false});
        assert_eq!(judge(&s, &json!({"n": 1})), Verdict::Valid);
        assert_eq!(judge(&s, &json!({"n": 10.0, "o": null})), Verdict::Valid);
        for bad in [
            json!({}),
            json!({"n": 0}),
            json!({"n": 11}),
            json!({"n": 1.5}),
            json!({"n": "1"}),
            json!({"n": 1, "x": 0}),
            json!({"n": 1, "s": "a"}),
            json!({"n": 1, "s": "abcde"}),
            json!({"n": 1, "e": "c"}),
            json!({"n": 1, "o": {}}),
            json!({"n": 1, "o": {"k": 1}}),
            json!({"n": 1, "l": [1, "2"]}),
            json!({"n": 1, "extra": true}),
            json!([]),
        ] {
            assert_eq!(judge(&s, &bad), Verdict::Invalid, "{bad}");
        }
    }

    #[test]
    fn unknown_keywords_make_unfaulted_values_unknown() {
        let s = json!({"type": "string", "pattern": "^a+$"});
        assert_eq!(judge(&s, &json!("bbb")), Verdict::Unknown);
        // … but a fault it can see is still a fault.
        assert_eq!(judge(&s, &json!(3)), Verdict::Invalid);
        let o = json!({"type": "object", "properties": {"p": {"anyOf": [{"type": "string"}]}}});
        assert_eq!(judge(&o, &json!({"p": 1})), Verdict::Unknown);
        assert_eq!(judge(&o, &json!({})), Verdict::Valid);
        assert_eq!(judge(&json!(false), &json!(1)), Verdict::Invalid);
        assert_eq!(judge(&json!(true), &json!(1)), Verdict::Valid);
    }
}
