//! A small reader of `Export-Clixml` files, for tests only: PowerShell's
//! serialisation format (MS-PSRP §2.2.5, "Serialization"), `<Objs>` of
//! primitives (`<S>`, `<B>`, `<I32>`, `<DT>`, `<Nil>` …) and complex
//! objects (`<Obj>` with type names `<TN>`/`<TNRef>`, `<ToString>`,
//! adapted `<Props>` and extended `<MS>` properties, an enum's underlying
//! number, or a list `<LST>`/`<IE>`), and `<Ref>` back to an object
//! serialised earlier. It keeps what the shape tests compare (names,
//! kinds, type names, enum names and numbers) and nothing else; it decides
//! nothing about Exchange.

use std::collections::HashMap;

/// One serialised value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Nil,
    /// `<S>`, `_xHHHH_` escapes decoded.
    Str(String),
    Bool(bool),
    /// A whole number, with the element it came as (`I32`, `U64`, `By` …).
    Int(i64, String),
    Double(f64),
    /// `<DT>`: the round-trip text as written.
    DateTime(String),
    /// Any other primitive (`G`, `Version`, `BA`, `TS`, `URI` …): its tag.
    Other(String),
    Obj(Obj),
}

/// A complex object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Obj {
    /// Most specific first, as `<TN>` lists them.
    pub type_names: Vec<String>,
    pub to_string: Option<String>,
    /// `<Props>` then `<MS>`, in document order.
    pub props: Vec<(String, Node)>,
    /// An enum's number (the primitive child of an `<Obj>` deriving from
    /// `System.Enum`).
    pub enum_value: Option<i64>,
    /// `<LST>`/`<IE>`/`<STK>`/`<QUE>` items.
    pub items: Option<Vec<Node>>,
}

impl Obj {
    pub fn prop(&self, name: &str) -> Option<&Node> {
        self.props.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn is_enum(&self) -> bool {
        self.type_names.iter().any(|t| t == "System.Enum")
    }
}

/// The top-level values of an `Export-Clixml` file.
pub fn parse(text: &str) -> Vec<Node> {
    let text = text.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).expect("CLIXML is XML");
    let mut r = Reader::default();
    doc.root_element()
        .children()
        .filter(|n| n.is_element())
        .map(|n| r.node(n))
        .collect()
}

#[derive(Default)]
struct Reader {
    type_names: HashMap<String, Vec<String>>,
    objects: HashMap<String, Node>,
}

impl Reader {
    fn node(&mut self, n: roxmltree::Node) -> Node {
        let text = || decode(n.text().unwrap_or(""));
        match n.tag_name().name() {
            "Nil" => Node::Nil,
            "S" | "C" => Node::Str(text()),
            "B" => Node::Bool(text() == "true"),
            tag @ ("I16" | "I32" | "I64" | "U16" | "U32" | "U64" | "By" | "SB") => {
                Node::Int(text().parse().expect("integer"), tag.to_string())
            }
            "Db" | "Sg" | "D" => Node::Double(text().parse().expect("number")),
            "DT" => Node::DateTime(text()),
            "Obj" => self.obj(n),
            "Ref" => {
                let id = n.attribute("RefId").unwrap_or_default();
                self.objects
                    .get(id)
                    .cloned()
                    .expect("Ref to an earlier Obj")
            }
            other => Node::Other(other.to_string()),
        }
    }

    fn obj(&mut self, n: roxmltree::Node) -> Node {
        let mut o = Obj::default();
        for c in n.children().filter(|c| c.is_element()) {
            match c.tag_name().name() {
                "TN" => {
                    o.type_names = c
                        .children()
                        .filter(|t| t.has_tag_name("T"))
                        .map(|t| t.text().unwrap_or("").to_string())
                        .collect();
                    let id = c.attribute("RefId").unwrap_or_default().to_string();
                    self.type_names.insert(id, o.type_names.clone());
                }
                "TNRef" => {
                    let id = c.attribute("RefId").unwrap_or_default();
                    o.type_names = self.type_names.get(id).cloned().expect("TNRef to a TN");
                }
                "ToString" => o.to_string = Some(decode(c.text().unwrap_or(""))),
                "Props" | "MS" => {
                    for p in c.children().filter(|p| p.is_element()) {
                        let name = decode(p.attribute("N").unwrap_or_default());
                        let v = self.node(p);
                        o.props.push((name, v));
                    }
                }
                "LST" | "IE" | "STK" | "QUE" => {
                    let items = c
                        .children()
                        .filter(|i| i.is_element())
                        .map(|i| self.node(i))
                        .collect();
                    o.items = Some(items);
                }
                _ => {
                    if let Node::Int(v, _) = self.node(c) {
                        o.enum_value = Some(v);
                    }
                }
            }
        }
        let node = Node::Obj(o);
        if let Some(id) = n.attribute("RefId") {
            self.objects.insert(id.to_string(), node.clone());
        }
        node
    }
}

/// Undoes the `_xHHHH_` escapes of characters XML cannot carry.
fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("_x") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let hex = after
            .get(..4)
            .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
        match (hex, after.as_bytes().get(4)) {
            (Some(h), Some(b'_')) => {
                let c = u32::from_str_radix(h, 16).ok().and_then(char::from_u32);
                out.push(c.unwrap_or('\u{fffd}'));
                rest = &after[5..];
            }
            _ => {
                out.push_str("_x");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn reads_primitives_enums_lists_and_refs() {
    let text = r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">
  <Obj RefId="0">
    <TN RefId="0"><T>X.Enum</T><T>System.Enum</T><T>System.Object</T></TN>
    <ToString>Blocked</ToString><I32>2</I32>
  </Obj>
  <Obj RefId="1">
    <TN RefId="1"><T>X.Thing</T><T>System.Object</T></TN>
    <ToString>a_x000D__x000A_b</ToString>
    <Props>
      <S N="Name">EX01</S><B N="On">true</B><DT N="When">2021-09-28T17:32:01.8Z</DT><Nil N="Dag" />
      <Obj N="List" RefId="2"><TN RefId="2"><T>System.String[]</T></TN><LST><S>a</S><S>b</S></LST></Obj>
    </Props>
    <MS><Ref N="Again" RefId="0" /><U64 N="Big">7</U64></MS>
  </Obj>
</Objs>"#;
    let nodes = parse(text);
    let Node::Obj(e) = &nodes[0] else { panic!() };
    assert!(e.is_enum());
    assert_eq!(
        (e.to_string.as_deref(), e.enum_value),
        (Some("Blocked"), Some(2))
    );
    let Node::Obj(t) = &nodes[1] else { panic!() };
    assert_eq!(t.to_string.as_deref(), Some("a\r\nb"));
    assert_eq!(t.prop("Name"), Some(&Node::Str("EX01".into())));
    assert_eq!(t.prop("On"), Some(&Node::Bool(true)));
    assert_eq!(t.prop("Dag"), Some(&Node::Nil));
    assert_eq!(t.prop("Big"), Some(&Node::Int(7, "U64".into())));
    assert_eq!(t.prop("Again"), Some(&nodes[0]));
    let Some(Node::Obj(l)) = t.prop("List") else {
        panic!()
    };
    assert_eq!(l.items.as_ref().map(Vec::len), Some(2));
}
