//! Values flowing through the lab's PowerShell pipelines, shaped like the
//! .NET objects Windows PowerShell 5.1 would hand around: property bags with
//! type names, enums that know both their name and number, DateTimes in UTC.
//! `ConvertTo-Json` in `json.rs` turns them into exactly what 5.1 prints.

use indexmap::IndexMap;

/// An enum value: ToString() gives `name`, ConvertTo-Json gives `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumValue {
    /// .NET type name, e.g. `Microsoft.Exchange.Data.ServiceState`.
    pub type_name: String,
    pub name: String,
    pub value: i64,
}

/// A .NET object as PowerShell sees it: ordered properties and a ToString().
#[derive(Debug, Clone, PartialEq)]
pub struct PsObject {
    /// Most specific first, e.g. `["System.Management.Automation.PSCustomObject", "System.Object"]`.
    pub type_names: Vec<String>,
    /// Properties in declaration order. Lookup is case-insensitive.
    pub props: IndexMap<String, Value>,
    /// What `.ToString()` (and string conversion) returns; `None` = the type name.
    pub display: Option<String>,
    /// State the .NET object keeps private (a SecureString's characters, a
    /// PSSession's lab id): never a property, so neither Get-Member,
    /// ConvertTo-Json, rendering nor the lab's logs show it.
    pub internal: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    String(String),
    /// Milliseconds since 1970-01-01T00:00:00Z.
    DateTime(i64),
    Enum(EnumValue),
    Array(Vec<Value>),
    /// `@{}`: keys kept in insertion order (5.1 randomises; we keep order for stable tests).
    Hashtable(IndexMap<String, Value>),
    Object(Box<PsObject>),
    /// A script block, kept as its source text for the interpreter to run.
    ScriptBlock(String),
}

impl PsObject {
    pub fn new(type_name: &str) -> Self {
        PsObject {
            type_names: vec![type_name.to_string(), "System.Object".to_string()],
            props: IndexMap::new(),
            display: None,
            internal: None,
        }
    }

    /// Builder: add a property.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.props.insert(name.to_string(), value.into());
        self
    }

    /// Builder: set what ToString() returns.
    pub fn display(mut self, text: impl Into<String>) -> Self {
        self.display = Some(text.into());
        self
    }

    /// Case-insensitive property lookup, as PowerShell does.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.props
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl Value {
    pub fn object(o: PsObject) -> Value {
        Value::Object(Box::new(o))
    }

    pub fn enumv(type_name: &str, name: &str, value: i64) -> Value {
        Value::Enum(EnumValue {
            type_name: type_name.to_string(),
            name: name.to_string(),
            value,
        })
    }

    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// PowerShell truthiness (`if ($x)`).
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Double(d) => *d != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => match a.len() {
                0 => false,
                1 => a[0].is_truthy(),
                _ => true,
            },
            Value::Enum(e) => e.value != 0,
            _ => true,
        }
    }

    /// Case-insensitive property access; `None` when the value has no such property.
    pub fn property(&self, name: &str) -> Option<Value> {
        match self {
            Value::Object(o) => o.get(name).cloned(),
            Value::Hashtable(h) => h
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone()),
            Value::String(s) if name.eq_ignore_ascii_case("Length") => {
                Some(Value::Int(s.chars().count() as i64))
            }
            Value::Array(a)
                if name.eq_ignore_ascii_case("Count") || name.eq_ignore_ascii_case("Length") =>
            {
                Some(Value::Int(a.len() as i64))
            }
            Value::Enum(e) if name.eq_ignore_ascii_case("value__") => Some(Value::Int(e.value)),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<u64> for Value {
    fn from(i: u64) -> Self {
        Value::Int(i64::try_from(i).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value {
    fn from(d: f64) -> Self {
        Value::Double(d)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::Array(v)
    }
}
impl From<PsObject> for Value {
    fn from(o: PsObject) -> Self {
        Value::object(o)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}
