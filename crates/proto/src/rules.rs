//! The `buf.validate` field rules of the contracts: read from the descriptors and
//! checked against messages.
//!
//! staymesh reads the standard rules its contracts use (listed in [`Kind`]) and
//! nothing else: a contract that states any other rule, or CEL, fails to load
//! ([`Rules::load`]), so no rule is silently skipped. The same reading feeds the
//! checks ([`Rules::check`]) and the HTTP edge's `/openapi.json`, so what a client
//! is told and what a service enforces cannot differ. One rule holds for every
//! string of every request without an annotation: no U+0000 ([`NO_NUL`]). One violation per field,
//! in field order, described in the services' own words ("must be at least 10
//! characters").

use std::collections::{HashMap, HashSet};

use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind as ProtoKind, MessageDescriptor,
    ReflectMessage, Value,
};
use regex::Regex;

/// The rules on one field.
#[derive(Debug, Clone, Default)]
pub struct FieldRules {
    /// The field must be set (a message present, a scalar not its zero value).
    pub required: bool,
    /// `IGNORE_IF_ZERO_VALUE`: an unset field passes; the rules bind a set one.
    pub ignore_if_zero: bool,
    pub kind: Option<Kind>,
}

/// The rules of one kind of value.
#[derive(Debug, Clone)]
pub enum Kind {
    String(StringRules),
    /// Any numeric type; bounds as `f64` (the contracts' bounds are small).
    Number(NumberRules),
    Enum(EnumRules),
    /// `bool.const`.
    Bool(bool),
    Repeated(RepeatedRules),
}

#[derive(Debug, Clone, Default)]
pub struct StringRules {
    pub min_len: Option<u64>,
    pub max_len: Option<u64>,
    pub pattern: Option<Regex>,
    /// How a value breaking `pattern` is described: the field's comment,
    /// which states the form in words.
    pub pattern_described: Option<String>,
    pub uuid: bool,
    /// `in`: the only values allowed, when not empty.
    pub allowed: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NumberRules {
    pub gt: Option<f64>,
    pub gte: Option<f64>,
    pub lt: Option<f64>,
    pub lte: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct EnumRules {
    pub defined_only: bool,
    /// `in`: the only numbers allowed.
    pub allowed: Option<Vec<i32>>,
    /// `not_in`.
    pub refused: Vec<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct RepeatedRules {
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique: bool,
    pub items: Option<Box<FieldRules>>,
}

/// The canonical, hyphenated UUID form protovalidate's `string.uuid` accepts.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// `buf.validate.Ignore`.
const IGNORE_IF_ZERO_VALUE: i32 = 1;
const IGNORE_ALWAYS: i32 = 3;

/// Every field's rules in a descriptor pool.
#[derive(Debug)]
pub struct Rules {
    by_field: HashMap<String, FieldRules>,
    /// Messages whose fields, or fields of messages they hold, have rules.
    checked: HashSet<String>,
}

impl Rules {
    /// Reads every field's rules; an unknown rule is an error naming it.
    pub fn load(pool: &DescriptorPool) -> Result<Self, String> {
        let mut by_field = HashMap::new();
        for message in pool.all_messages() {
            if message.package_name().starts_with("google.")
                || message.package_name() == "buf.validate"
            {
                continue;
            }
            if let Some(ext) = pool.get_extension_by_name("buf.validate.message") {
                if message.options().has_extension(&ext) {
                    return Err(format!(
                        "{}: message rules are not supported",
                        message.full_name()
                    ));
                }
            }
            for field in message.fields() {
                if let Some(rules) = read(&field)? {
                    by_field.insert(field.full_name().to_owned(), rules);
                }
            }
        }
        let mut rules = Self {
            by_field,
            checked: HashSet::new(),
        };
        let checked: HashSet<String> = pool
            .all_messages()
            .filter(|m| rules.reaches_rules(m, &mut HashSet::new()))
            .map(|m| m.full_name().to_owned())
            .collect();
        rules.checked = checked;
        Ok(rules)
    }

    /// The rules of `field`, if it has any.
    pub fn of(&self, field: &FieldDescriptor) -> Option<&FieldRules> {
        self.by_field.get(field.full_name())
    }

    /// Whether checking a `message` can find anything.
    pub fn has_rules(&self, message: &MessageDescriptor) -> bool {
        self.checked.contains(message.full_name())
    }

    fn reaches_rules(&self, message: &MessageDescriptor, visiting: &mut HashSet<String>) -> bool {
        if !visiting.insert(message.full_name().to_owned()) {
            return false;
        }
        message.fields().any(|field| {
            self.of(&field).is_some()
                || matches!(field.kind(), ProtoKind::String)
                || matches!(field.kind(), ProtoKind::Message(inner) if self.reaches_rules(&inner, visiting))
        })
    }

    /// Every violated field of `message` as `(path, description)`, paths in the
    /// proto names a client sets (`range.start.month`, `image_urls[2]`).
    pub fn check(&self, message: &DynamicMessage) -> Vec<(String, String)> {
        let mut violations = Vec::new();
        self.check_message(message, "", &mut violations);
        violations
    }

    fn check_message(
        &self,
        message: &DynamicMessage,
        prefix: &str,
        out: &mut Vec<(String, String)>,
    ) {
        for field in message.descriptor().fields() {
            // Built only when a field breaks a rule or holds rules of its
            // own: every request of every service passes here.
            let path = || format!("{prefix}{}", field.name());
            let set = message.has_field(&field);
            let value = message.get_field(&field);
            if let Some(problem) = nul_problem(&value) {
                out.push((path(), problem));
                continue;
            }
            if let Some(rules) = self.of(&field) {
                if let Some(problem) = rules.problem(&field, set, &value) {
                    out.push((path(), problem.0));
                    continue;
                }
                if let (Some(Kind::Repeated(repeated)), Some(list)) = (&rules.kind, value.as_list())
                {
                    if let Some(items) = &repeated.items {
                        for (i, item) in list.iter().enumerate() {
                            if let Some(problem) = items.value_problem(&field, item) {
                                out.push((format!("{}[{i}]", path()), problem.0));
                            }
                        }
                    }
                }
            }
            // Rules inside the messages it holds.
            match value.as_ref() {
                Value::Message(inner) if set && self.has_rules(&inner.descriptor()) => {
                    self.check_message(inner, &format!("{}.", path()), out);
                }
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Value::Message(inner) = item {
                            if self.has_rules(&inner.descriptor()) {
                                self.check_message(inner, &format!("{}[{i}].", path()), out);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// A broken rule, described.
struct Problem(String);

impl FieldRules {
    fn problem(&self, field: &FieldDescriptor, set: bool, value: &Value) -> Option<Problem> {
        if !set {
            if self.required {
                return Some(Problem("is required".into()));
            }
            if self.ignore_if_zero || matches!(field.kind(), ProtoKind::Message(_)) {
                return None;
            }
        }
        if let Some(Kind::Repeated(rules)) = &self.kind {
            let list = value.as_list().unwrap_or_default();
            let count = list.len() as u64;
            if let Some(min) = rules.min_items.filter(|min| count < *min) {
                return Some(Problem(format!("must have at least {min} items")));
            }
            if let Some(max) = rules.max_items.filter(|max| count > *max) {
                return Some(Problem(format!("must have at most {max} items")));
            }
            if rules.unique && has_duplicates(list) {
                return Some(Problem("must not repeat an item".into()));
            }
            return None;
        }
        self.value_problem(field, value)
    }

    /// The first rule a single value breaks.
    fn value_problem(&self, field: &FieldDescriptor, value: &Value) -> Option<Problem> {
        let problem = match (&self.kind, value) {
            (Some(Kind::String(rules)), Value::String(text)) => rules.problem(text),
            (Some(Kind::Number(rules)), value) => number(value).and_then(|n| rules.problem(n)),
            (Some(Kind::Enum(rules)), Value::EnumNumber(n)) => rules.problem(field, *n),
            (Some(Kind::Bool(expected)), Value::Bool(b)) if b != expected => {
                Some(format!("must be {expected}"))
            }
            _ => None,
        };
        problem.map(Problem)
    }
}

impl StringRules {
    fn problem(&self, text: &str) -> Option<String> {
        let chars = text.chars().count() as u64;
        if let Some(min) = self.min_len.filter(|min| chars < *min) {
            return Some(if min == 1 {
                "is required".to_owned()
            } else {
                format!("must be at least {min} characters")
            });
        }
        if let Some(max) = self.max_len.filter(|max| chars > *max) {
            return Some(format!("must be at most {max} characters"));
        }
        if self.uuid && !is_uuid(text) {
            return Some(if text.is_empty() {
                "is required".to_owned()
            } else {
                "must be a UUID".to_owned()
            });
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|a| a == text) {
            return Some(format!("must be one of: {}", self.allowed.join(", ")));
        }
        if let Some(pattern) = self.pattern.as_ref().filter(|p| !p.is_match(text)) {
            return Some(match &self.pattern_described {
                Some(words) => format!("does not have the required form: {words}"),
                None => format!("must match the pattern {}", pattern.as_str()),
            });
        }
        None
    }
}

impl NumberRules {
    fn problem(&self, n: f64) -> Option<String> {
        if let Some(gt) = self.gt.filter(|gt| n <= *gt) {
            return Some(format!("must be greater than {gt}"));
        }
        if let Some(gte) = self.gte.filter(|gte| n < *gte) {
            return Some(format!("must be at least {gte}"));
        }
        if let Some(lt) = self.lt.filter(|lt| n >= *lt) {
            return Some(format!("must be less than {lt}"));
        }
        if let Some(lte) = self.lte.filter(|lte| n > *lte) {
            return Some(format!("must be at most {lte}"));
        }
        None
    }
}

impl EnumRules {
    /// Whether the rules let `n` through.
    pub fn allows(&self, n: i32) -> bool {
        !self.refused.contains(&n) && self.allowed.as_ref().is_none_or(|a| a.contains(&n))
    }

    fn problem(&self, field: &FieldDescriptor, n: i32) -> Option<String> {
        let ProtoKind::Enum(descriptor) = field.kind() else {
            return None;
        };
        let defined = descriptor.get_value(n).is_some();
        if (self.defined_only && !defined) || !self.allows(n) {
            let names: Vec<String> = descriptor
                .values()
                .filter(|v| self.allows(v.number()))
                .map(|v| v.name().to_owned())
                .collect();
            return Some(format!("must be one of: {}", names.join(", ")));
        }
        None
    }
}

/// The one rule on every string of every request, contract or not: Postgres
/// cannot store U+0000, so it never gets that far.
fn nul_problem(value: &Value) -> Option<String> {
    let has_nul = match value {
        Value::String(text) => text.contains('\0'),
        Value::List(items) => items
            .iter()
            .any(|v| v.as_str().is_some_and(|t| t.contains('\0'))),
        _ => false,
    };
    has_nul.then(|| NO_NUL.to_owned())
}

/// How a string with U+0000 is refused.
pub const NO_NUL: &str = "must not contain the NUL character (U+0000)";

fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn number(value: &Value) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // Bounds and values compared are far below 2^53.
    match value {
        Value::I32(n) => Some(f64::from(*n)),
        Value::I64(n) => Some(*n as f64),
        Value::U32(n) => Some(f64::from(*n)),
        Value::U64(n) => Some(*n as f64),
        Value::F32(n) => Some(f64::from(*n)),
        Value::F64(n) => Some(*n),
        _ => None,
    }
}

fn has_duplicates(list: &[Value]) -> bool {
    list.iter()
        .enumerate()
        .any(|(i, a)| list[..i].iter().any(|b| a == b))
}

// ---------------------------------------------------------------- reading ---

/// The field's `(buf.validate.field)` rules, or an error naming a rule staymesh
/// does not read.
fn read(field: &FieldDescriptor) -> Result<Option<FieldRules>, String> {
    let Some(extension) = field
        .parent_pool()
        .get_extension_by_name("buf.validate.field")
    else {
        return Ok(None);
    };
    let options = field.options();
    if !options.has_extension(&extension) {
        return Ok(None);
    }
    let Some(message) = options.get_extension(&extension).as_message().cloned() else {
        return Ok(None);
    };
    let at = field.full_name();
    let mut rules = FieldRules::default();
    for (rule, value) in message.fields() {
        match (rule.name(), value) {
            ("required", Value::Bool(b)) => rules.required = *b,
            ("ignore", Value::EnumNumber(n)) if *n == IGNORE_IF_ZERO_VALUE => {
                rules.ignore_if_zero = true;
            }
            ("ignore", Value::EnumNumber(n)) if *n == IGNORE_ALWAYS => return Ok(None),
            (name, Value::Message(kind)) => {
                let mut kind = read_kind(at, name, kind)?;
                if let Kind::String(string) = &mut kind {
                    string.pattern_described = comment(field);
                }
                rules.kind = Some(kind);
            }
            (name, _) => return Err(format!("{at}: rule `{name}` is not supported")),
        }
    }
    Ok(Some(rules))
}

/// The field's leading comment on one line, up to any `Checked by the service:`.
fn comment(field: &FieldDescriptor) -> Option<String> {
    let file = field.parent_file();
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let text = info
        .location
        .iter()
        .find(|l| l.path == field.path())?
        .leading_comments
        .as_deref()?;
    let text = text.split("Checked by the service:").next().unwrap_or(text);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!words.is_empty()).then_some(words)
}

fn read_kind(at: &str, name: &str, rules: &DynamicMessage) -> Result<Kind, String> {
    let unsupported = |rule: &str| Err(format!("{at}: rule `{name}.{rule}` is not supported"));
    match name {
        "string" => {
            let mut out = StringRules::default();
            for (rule, value) in rules.fields() {
                match (rule.name(), value) {
                    ("min_len", Value::U64(n)) => out.min_len = Some(*n),
                    ("max_len", Value::U64(n)) => out.max_len = Some(*n),
                    ("len", Value::U64(n)) => {
                        out.min_len = Some(*n);
                        out.max_len = Some(*n);
                    }
                    ("uuid", Value::Bool(b)) => out.uuid = *b,
                    ("pattern", Value::String(p)) => {
                        let regex = Regex::new(p).map_err(|e| format!("{at}: pattern: {e}"))?;
                        out.pattern = Some(regex);
                    }
                    ("in", Value::List(items)) => {
                        out.allowed = items
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect();
                    }
                    (rule, _) => return unsupported(rule),
                }
            }
            Ok(Kind::String(out))
        }
        "int32" | "int64" | "uint32" | "uint64" | "sint32" | "sint64" | "fixed32" | "fixed64"
        | "sfixed32" | "sfixed64" | "float" | "double" => {
            let mut out = NumberRules::default();
            for (rule, value) in rules.fields() {
                let bound = number(value);
                match rule.name() {
                    "gt" => out.gt = bound,
                    "gte" => out.gte = bound,
                    "lt" => out.lt = bound,
                    "lte" => out.lte = bound,
                    rule => return unsupported(rule),
                }
            }
            Ok(Kind::Number(out))
        }
        "enum" => {
            let mut out = EnumRules::default();
            for (rule, value) in rules.fields() {
                let numbers = || -> Vec<i32> {
                    value
                        .as_list()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(Value::as_i32)
                        .collect()
                };
                match (rule.name(), value) {
                    ("defined_only", Value::Bool(b)) => out.defined_only = *b,
                    ("in", _) => out.allowed = Some(numbers()),
                    ("not_in", _) => out.refused = numbers(),
                    (rule, _) => return unsupported(rule),
                }
            }
            Ok(Kind::Enum(out))
        }
        "bool" => match rules.fields().next() {
            Some((rule, Value::Bool(b))) if rule.name() == "const" => Ok(Kind::Bool(*b)),
            Some((rule, _)) => unsupported(rule.name()),
            None => Err(format!("{at}: empty bool rules")),
        },
        "repeated" => {
            let mut out = RepeatedRules::default();
            for (rule, value) in rules.fields() {
                match (rule.name(), value) {
                    ("min_items", Value::U64(n)) => out.min_items = Some(*n),
                    ("max_items", Value::U64(n)) => out.max_items = Some(*n),
                    ("unique", Value::Bool(b)) => out.unique = *b,
                    ("items", Value::Message(items)) => {
                        let mut item = FieldRules::default();
                        for (kind, value) in items.fields() {
                            match value {
                                Value::Message(k) => {
                                    item.kind = Some(read_kind(at, kind.name(), k)?)
                                }
                                _ => return unsupported(&format!("items.{}", kind.name())),
                            }
                        }
                        out.items = Some(Box::new(item));
                    }
                    (rule, _) => return unsupported(rule),
                }
            }
            Ok(Kind::Repeated(out))
        }
        other => Err(format!("{at}: `{other}` rules are not supported")),
    }
}
