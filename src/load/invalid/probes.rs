//! Probes derived from one tool's `inputSchema`: a valid control call, each
//! required property missing, each property of a wrong JSON type and `null`,
//! numbers past `minimum`/`maximum`, strings past `minLength`/`maxLength`,
//! an empty and a 1 MiB string, a value outside an `enum`, an extra
//! property where `additionalProperties` is false, and `arguments` that are
//! not an object. Nested objects (and the items of arrays) are probed the
//! same way down to [`MAX_DEPTH`]. Pure: a schema in, the exact arguments
//! of each probe out; whether the schema forbids a probe is asked of
//! [`judge`], so an edge case the schema allows (an empty string without a
//! `minLength`) is expected to be answered, not refused.

use serde::Serialize;
use serde_json::{Map, Value};

use super::validate::{declared_types, judge, type_matches, Verdict};
use crate::load::drivers::mcp::schema_default_args;

/// How deep nested objects and array items are probed (the arguments
/// object itself is depth 0).
pub const MAX_DEPTH: usize = 3;
/// The length of the huge string probe: 1 MiB of `x`.
pub const HUGE_STRING: usize = 1 << 20;
/// The property added where `additionalProperties` is false.
pub const EXTRA_PROPERTY: &str = "jetstress_extra";

/// What a correct server does with a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// A valid call: it should succeed.
    Control,
    /// The schema forbids it: a normal result means the server does not validate.
    Reject,
    /// The schema allows it (or cannot tell): any answer will do.
    Allow,
}

/// One call to make: its name (`missing:ms`, `type:ms=string`) and the exact
/// `arguments` sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub name: String,
    pub arguments: Value,
    pub expect: Expect,
}

/// One step into the arguments: a property or the first item of an array.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Item,
}

fn path_name(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Item => out.push_str("[0]"),
        }
    }
    out
}

/// A value the schema allows, for building the arguments around a probe:
/// the `default`, the first `enum` value or `const`, else a placeholder of
/// the declared type within its bounds (objects get their required
/// properties, arrays their `minItems`).
pub fn valid_value(schema: &Value, depth: usize) -> Value {
    if let Some(d) = schema.get("default") {
        return d.clone();
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(e) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return e.clone();
    }
    let types = declared_types(schema);
    let first = types
        .iter()
        .copied()
        .find(|t| *t != "null")
        .or(types.first().copied());
    match first {
        Some("object") => Value::Object(valid_object(schema, depth)),
        Some("array") => {
            let n = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let item = schema
                .get("items")
                .map_or(Value::Null, |i| valid_value(i, depth + 1));
            Value::Array((0..n.min(16)).map(|_| item.clone()).collect())
        }
        Some("string") => {
            let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            let max = schema
                .get("maxLength")
                .and_then(Value::as_u64)
                .map(|m| m as usize);
            let mut s = "jetstress".to_string();
            while s.len() < min {
                s.push('x');
            }
            if let Some(m) = max {
                s.truncate(m.max(min));
            }
            Value::String(s)
        }
        Some(t @ ("integer" | "number")) => {
            let num = |k: &str| schema.get(k).and_then(Value::as_f64);
            let v = if let Some(m) = num("minimum") {
                m
            } else if let Some(m) = num("exclusiveMinimum") {
                if t == "integer" {
                    m.floor() + 1.0
                } else {
                    m + 1.0
                }
            } else {
                num("maximum").filter(|m| *m < 1.0).unwrap_or(1.0)
            };
            number(v, t == "integer")
        }
        Some("boolean") => Value::Bool(false),
        _ => Value::Null,
    }
}

fn number(v: f64, integer: bool) -> Value {
    if integer || v.fract() == 0.0 {
        if v >= 0.0 && v <= u64::MAX as f64 {
            return Value::from(v as u64);
        }
        if v >= i64::MIN as f64 && v < 0.0 {
            return Value::from(v as i64);
        }
    }
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// The properties of an object schema that a valid value carries: those
/// with a `default` and the required ones.
fn valid_object(schema: &Value, depth: usize) -> Map<String, Value> {
    let mut out = Map::new();
    if depth > MAX_DEPTH {
        return out;
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map_or(Vec::new(), |r| r.iter().filter_map(Value::as_str).collect());
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            if p.get("default").is_some() || required.contains(&k.as_str()) {
                out.insert(k.clone(), valid_value(p, depth + 1));
            }
        }
    }
    out
}

/// The control call's arguments: [`schema_default_args`] (each property's
/// default, a placeholder for required ones), with nested objects and
/// arrays and bounded strings and numbers built to satisfy the schema.
pub fn control_args(schema: &Map<String, Value>) -> Map<String, Value> {
    let mut args = schema_default_args(schema);
    let props = schema.get("properties").and_then(Value::as_object);
    for (k, v) in &mut args {
        let Some(p) = props.and_then(|p| p.get(k)) else {
            continue;
        };
        if p.get("default").is_none() && judge(p, v) != Verdict::Valid {
            *v = valid_value(p, 1);
        }
    }
    args
}

/// Every probe of a tool with this `inputSchema`, the control first.
pub fn derive(schema: &Map<String, Value>) -> Vec<Probe> {
    let root = Value::Object(schema.clone());
    let control = Value::Object(control_args(schema));
    let mut out = Probes {
        root: &root,
        base: control.clone(),
        list: vec![Probe {
            name: "control".into(),
            arguments: control,
            expect: Expect::Control,
        }],
    };
    out.object(&root, &mut Vec::new(), 0);
    out.add("args:array".into(), Value::Array(vec![]));
    out.add("args:string".into(), Value::String("jetstress".into()));
    out.list
}

struct Probes<'a> {
    root: &'a Value,
    base: Value,
    list: Vec<Probe>,
}

impl Probes<'_> {
    /// Add a probe with these arguments, expected to be refused when the
    /// tool's schema forbids them.
    fn add(&mut self, name: String, arguments: Value) {
        if self.list.iter().any(|p| p.name == name) {
            return;
        }
        let expect = if arguments.is_object() {
            match judge(self.root, &arguments) {
                Verdict::Invalid => Expect::Reject,
                Verdict::Valid | Verdict::Unknown => Expect::Allow,
            }
        } else {
            // MCP: `arguments` is an object.
            Expect::Reject
        };
        self.list.push(Probe {
            name,
            arguments,
            expect,
        });
    }

    /// The base arguments with `f` applied to the value at `path` (the
    /// containers on the way are made valid first when the base lacks them).
    fn with(&self, path: &[Seg], schemas: &[&Value], f: impl FnOnce(&mut Value)) -> Value {
        let mut args = self.base.clone();
        let mut at = &mut args;
        for (i, seg) in path.iter().enumerate() {
            let here = schemas[i];
            at = match seg {
                Seg::Key(k) => {
                    if !at.is_object() {
                        *at = Value::Object(Map::new());
                    }
                    let o = at.as_object_mut().expect("made an object");
                    o.entry(k.clone())
                        .or_insert_with(|| valid_value(here, i + 1))
                }
                Seg::Item => {
                    if !at.is_array() {
                        *at = Value::Array(vec![]);
                    }
                    let a = at.as_array_mut().expect("made an array");
                    if a.is_empty() {
                        a.push(valid_value(here, i + 1));
                    }
                    &mut a[0]
                }
            };
        }
        f(at);
        args
    }

    /// Probes of an object schema at `path` (`[]`: the arguments themselves).
    fn object(&mut self, schema: &Value, path: &mut Vec<Seg>, depth: usize) {
        self.object_in(schema, path, &mut Vec::new(), depth);
    }

    fn object_in<'s>(
        &mut self,
        schema: &'s Value,
        path: &mut Vec<Seg>,
        schemas: &mut Vec<&'s Value>,
        depth: usize,
    ) {
        let at = path_name(path);
        let dot = if at.is_empty() {
            String::new()
        } else {
            format!("{at}.")
        };
        let required: Vec<String> =
            schema
                .get("required")
                .and_then(Value::as_array)
                .map_or(Vec::new(), |r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                });
        for r in &required {
            let args = self.with(path, schemas, |v| {
                if let Some(o) = v.as_object_mut() {
                    o.remove(r);
                }
            });
            self.add(format!("missing:{dot}{r}"), args);
        }
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            let args = self.with(path, schemas, |v| {
                if let Some(o) = v.as_object_mut() {
                    o.insert(EXTRA_PROPERTY.into(), Value::String("jetstress".into()));
                }
            });
            self.add(format!("extra:{dot}{EXTRA_PROPERTY}"), args);
        }
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (k, ps) in props {
            path.push(Seg::Key(k.clone()));
            schemas.push(ps);
            self.value(ps, path, schemas, depth + 1);
            schemas.pop();
            path.pop();
        }
    }

    /// Probes of one value (a property or an array's item) at `path`.
    fn value<'s>(
        &mut self,
        schema: &'s Value,
        path: &mut Vec<Seg>,
        schemas: &mut Vec<&'s Value>,
        depth: usize,
    ) {
        let at = path_name(path);
        let types = declared_types(schema);
        let set = |v: Value| move |x: &mut Value| *x = v;
        if !types.is_empty() {
            for (kind, wrong) in [
                ("string", Value::String("jetstress".into())),
                ("number", serde_json::json!(1.5)),
                ("boolean", Value::Bool(true)),
                ("object", Value::Object(Map::new())),
                ("array", Value::Array(vec![])),
                ("null", Value::Null),
            ] {
                if types.iter().any(|t| type_matches(t, &wrong)) {
                    continue;
                }
                let args = self.with(path, schemas, set(wrong));
                self.add(format!("type:{at}={kind}"), args);
            }
        }
        let num = |k: &str| schema.get(k).and_then(Value::as_f64);
        let integer = types.contains(&"integer");
        if types.iter().any(|t| *t == "integer" || *t == "number") {
            if let Some(m) = num("minimum") {
                let args = self.with(path, schemas, set(number(m - 1.0, integer)));
                self.add(format!("below_min:{at}"), args);
            }
            if let Some(m) = num("exclusiveMinimum") {
                let args = self.with(path, schemas, set(number(m, integer)));
                self.add(format!("below_min:{at}"), args);
            }
            if let Some(m) = num("maximum") {
                let args = self.with(path, schemas, set(number(m + 1.0, integer)));
                self.add(format!("above_max:{at}"), args);
            }
            if let Some(m) = num("exclusiveMaximum") {
                let args = self.with(path, schemas, set(number(m, integer)));
                self.add(format!("above_max:{at}"), args);
            }
        }
        if types.contains(&"string") {
            let len = |k: &str| schema.get(k).and_then(Value::as_u64);
            if let Some(m) = len("minLength").filter(|m| *m > 1) {
                let short = "x".repeat(m as usize - 1);
                let args = self.with(path, schemas, set(Value::String(short)));
                self.add(format!("short:{at}"), args);
            }
            if let Some(m) = len("maxLength").filter(|m| *m < HUGE_STRING as u64) {
                let long = "x".repeat(m as usize + 1);
                let args = self.with(path, schemas, set(Value::String(long)));
                self.add(format!("long:{at}"), args);
            }
            let args = self.with(path, schemas, set(Value::String(String::new())));
            self.add(format!("empty:{at}"), args);
            let args = self.with(path, schemas, set(Value::String("x".repeat(HUGE_STRING))));
            self.add(format!("huge:{at}"), args);
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            let outside = if e.iter().all(Value::is_number) && !e.is_empty() {
                let max = e.iter().filter_map(Value::as_f64).fold(f64::MIN, f64::max);
                number(max + 1.0, integer)
            } else {
                Value::String("jetstress-not-in-enum".into())
            };
            let args = self.with(path, schemas, set(outside));
            self.add(format!("enum:{at}"), args);
        }
        if depth >= MAX_DEPTH {
            return;
        }
        if types.contains(&"object") && schema.get("properties").is_some() {
            self.object_in(schema, path, schemas, depth);
        }
        if types.contains(&"array") {
            if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
                path.push(Seg::Item);
                schemas.push(items);
                self.value(items, path, schemas, depth + 1);
                schemas.pop();
                path.pop();
            }
        }
    }
}

/// Arguments as shown to a reader: compact JSON, except that a string over
/// 64 characters is written `"x"×1048576` (one character repeated) or as its
/// first 48 characters and `…(N chars)`, so a finding quotes the exact input
/// without a megabyte of it.
pub fn show_arguments(v: &Value) -> String {
    let mut out = String::new();
    show(v, &mut out);
    out
}

fn show(v: &Value, out: &mut String) {
    let json = |x: &str| serde_json::to_string(x).unwrap_or_default();
    match v {
        Value::String(s) if s.chars().count() > 64 => {
            let n = s.chars().count();
            let first = s.chars().next().unwrap_or('x');
            if s.chars().all(|c| c == first) {
                out.push_str(&format!("{}×{n}", json(&first.to_string())));
            } else {
                let head: String = s.chars().take(48).collect();
                out.push_str(&format!("{}…({n} chars)", json(&head)));
            }
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                show(x, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json(k));
                out.push(':');
                show(x, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn names(p: &[Probe]) -> Vec<&str> {
        p.iter().map(|p| p.name.as_str()).collect()
    }

    fn probe<'a>(p: &'a [Probe], name: &str) -> &'a Probe {
        p.iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no probe {name} in {:?}", names(p)))
    }

    /// The built-in server's `sleep_ms` schema as schemars writes it.
    fn sleep_ms() -> Map<String, Value> {
        schema(json!({
            "type": "object",
            "properties": {"ms": {"type": "integer", "format": "uint64",
                                  "minimum": 0, "maximum": 60000,
                                  "description": "Milliseconds to sleep (0 to 60000)."}},
            "required": ["ms"], "additionalProperties": false
        }))
    }

    #[test]
    fn an_integer_with_bounds() {
        let p = derive(&sleep_ms());
        assert_eq!(
            names(&p),
            [
                "control",
                "missing:ms",
                "extra:jetstress_extra",
                "type:ms=string",
                "type:ms=number",
                "type:ms=boolean",
                "type:ms=object",
                "type:ms=array",
                "type:ms=null",
                "below_min:ms",
                "above_max:ms",
                "args:array",
                "args:string"
            ]
        );
        assert_eq!(probe(&p, "control").arguments, json!({"ms": 0}));
        assert_eq!(probe(&p, "control").expect, Expect::Control);
        assert_eq!(probe(&p, "missing:ms").arguments, json!({}));
        assert_eq!(
            probe(&p, "extra:jetstress_extra").arguments,
            json!({"ms": 0, "jetstress_extra": "jetstress"})
        );
        assert_eq!(
            probe(&p, "type:ms=string").arguments,
            json!({"ms": "jetstress"})
        );
        assert_eq!(probe(&p, "type:ms=number").arguments, json!({"ms": 1.5}));
        assert_eq!(probe(&p, "type:ms=null").arguments, json!({"ms": null}));
        assert_eq!(probe(&p, "below_min:ms").arguments, json!({"ms": -1}));
        assert_eq!(probe(&p, "above_max:ms").arguments, json!({"ms": 60001}));
        assert_eq!(probe(&p, "args:array").arguments, json!([]));
        assert!(p[1..].iter().all(|p| p.expect == Expect::Reject), "{p:?}");
    }

    #[test]
    fn strings_edges_the_schema_allows_are_not_expected_to_be_refused() {
        let echo = schema(json!({"type": "object",
            "properties": {"message": {"type": "string"}}, "required": ["message"]}));
        let p = derive(&echo);
        assert_eq!(
            probe(&p, "control").arguments,
            json!({"message": "jetstress"})
        );
        assert_eq!(probe(&p, "empty:message").expect, Expect::Allow);
        assert_eq!(probe(&p, "huge:message").expect, Expect::Allow);
        let huge = &probe(&p, "huge:message").arguments["message"];
        assert_eq!(huge.as_str().unwrap().len(), HUGE_STRING);
        assert_eq!(probe(&p, "type:message=number").expect, Expect::Reject);
        // No additionalProperties: false, so no extra probe.
        assert!(!names(&p).iter().any(|n| n.starts_with("extra:")));

        let bounded = schema(json!({"type": "object", "properties": {
            "s": {"type": "string", "minLength": 3, "maxLength": 5},
            "e": {"type": "string", "enum": ["a", "b"]}}, "required": ["s"]}));
        let p = derive(&bounded);
        assert_eq!(probe(&p, "control").arguments, json!({"s": "jetst"}));
        assert_eq!(probe(&p, "short:s").arguments, json!({"s": "xx"}));
        assert_eq!(probe(&p, "long:s").arguments, json!({"s": "xxxxxx"}));
        for n in [
            "short:s", "long:s", "empty:s", "huge:s", "enum:e", "empty:e", "huge:e",
        ] {
            assert_eq!(probe(&p, n).expect, Expect::Reject, "{n}");
        }
        assert_eq!(
            probe(&p, "enum:e").arguments,
            json!({"s": "jetst", "e": "jetstress-not-in-enum"})
        );
    }

    #[test]
    fn nested_objects_and_array_items_recurse_to_a_bound() {
        let s = schema(json!({"type": "object", "properties": {
            "filter": {"type": "object", "properties": {
                "name": {"type": "string", "minLength": 2},
                "inner": {"type": "object", "properties": {
                    "deep": {"type": "object", "properties": {
                        "deeper": {"type": "integer"}}, "required": ["deeper"]}}}
            }, "required": ["name"], "additionalProperties": false},
            "points": {"type": "array", "items": {"type": "object",
                "properties": {"x": {"type": "number", "maximum": 10}}, "required": ["x"]}},
            "kind": {"type": "integer", "enum": [1, 2, 3]}
        }, "required": ["filter"]}));
        let p = derive(&s);
        let control = &probe(&p, "control").arguments;
        assert_eq!(control, &json!({"filter": {"name": "jetstress"}}));
        assert_eq!(
            probe(&p, "missing:filter.name").arguments,
            json!({"filter": {}})
        );
        assert_eq!(
            probe(&p, "extra:filter.jetstress_extra").arguments,
            json!({"filter": {"name": "jetstress", "jetstress_extra": "jetstress"}})
        );
        assert_eq!(
            probe(&p, "short:filter.name").arguments,
            json!({"filter": {"name": "x"}})
        );
        // An optional container missing from the control is made valid first.
        assert_eq!(
            probe(&p, "above_max:points[0].x").arguments,
            json!({"filter": {"name": "jetstress"}, "points": [{"x": 11}]})
        );
        assert_eq!(
            probe(&p, "missing:points[0].x").arguments,
            json!({"filter": {"name": "jetstress"}, "points": [{}]})
        );
        assert_eq!(probe(&p, "enum:kind").arguments["kind"], json!(4));
        assert!(names(&p).contains(&"type:filter.inner.deep=string"));
        // Depth 3 is the last one probed inside.
        assert!(
            !names(&p).iter().any(|n| n.contains("deeper")),
            "{:?}",
            names(&p)
        );
        for q in &p[1..] {
            // Only the 1 MiB string is allowed: `name` has no maxLength.
            let want = if q.name == "huge:filter.name" {
                Expect::Allow
            } else {
                Expect::Reject
            };
            assert_eq!(q.expect, want, "{}", q.name);
        }
    }

    #[test]
    fn an_empty_schema_still_gets_a_control_and_the_non_object_probes() {
        let p = derive(&schema(json!({"type": "object"})));
        assert_eq!(names(&p), ["control", "args:array", "args:string"]);
        assert_eq!(p[0].arguments, json!({}));
        let strict = derive(&schema(
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
        ));
        assert_eq!(
            names(&strict),
            [
                "control",
                "extra:jetstress_extra",
                "args:array",
                "args:string"
            ]
        );
    }

    #[test]
    fn nullable_and_untyped_properties() {
        let p = derive(&schema(json!({"type": "object", "properties": {
            "maybe": {"type": ["string", "null"]},
            "any": {"description": "anything"}}})));
        let n = names(&p);
        assert!(!n.contains(&"type:maybe=null"));
        assert!(n.contains(&"type:maybe=number"));
        assert!(!n.iter().any(|x| x.contains("any")), "{n:?}");
    }

    #[test]
    fn long_strings_are_shown_short() {
        let v =
            json!({"m": "x".repeat(HUGE_STRING), "n": 1, "t": "a".repeat(30) + &"b".repeat(40)});
        let s = show_arguments(&v);
        assert_eq!(
            s,
            format!(
                r#"{{"m":"x"×1048576,"n":1,"t":"{}{}"…(70 chars)}}"#,
                "a".repeat(30),
                "b".repeat(18)
            )
        );
    }
}
