//! The house's walls, checked so they stay true (docs/architecture.md):
//! the lab and the protocol crates never depend on the product, and the
//! product's top-level modules import each other without a cycle, so data
//! flows one way. Read from the sources and manifests, as `grep` would.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::harness::repo;

/// The `[dependencies]` of a crate's manifest, by the name the code uses.
fn dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).expect("manifest");
    let doc: toml::Table = toml::from_str(&text).expect("manifest is TOML");
    let mut out = BTreeSet::new();
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(deps) = doc.get(table).and_then(toml::Value::as_table) {
            for (name, spec) in deps {
                let package = spec
                    .get("package")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(name);
                out.insert(package.to_string());
            }
        }
    }
    out
}

#[test]
fn the_lab_and_the_protocol_never_depend_on_the_product() {
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("crates/wsman", &[][..]),
        ("crates/planfile", &[][..]),
        ("crates/build", &[][..]),
        (
            "crates/lab",
            &["cu-roll-build", "cu-roll-planfile", "cu-roll-wsman"][..],
        ),
    ]);
    for (dir, ours) in allowed {
        let deps = dependencies(&repo().join(dir).join("Cargo.toml"));
        let workspace: Vec<&String> = deps.iter().filter(|d| d.starts_with("cu-roll")).collect();
        assert_eq!(
            workspace,
            ours.iter().collect::<Vec<_>>(),
            "{dir} may depend on {ours:?} of the workspace only"
        );
        for file in rust_files(&repo().join(dir).join("src")) {
            let text = std::fs::read_to_string(&file).expect("source");
            assert!(
                !text.contains("cu_roll::"),
                "{} names the product crate",
                file.display()
            );
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Test-only files: they may reach anywhere (a test may drive the lab).
fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "tests.rs" || name == "testkit.rs" || name.ends_with("_tests.rs")
}

/// The production part of a file: up to its first `#[cfg(test)]`.
fn production(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

/// Top-level modules named after `crate::` in `text`, including grouped
/// imports (`use crate::{plan::Plan, exec}`).
fn crate_references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The product's top-level module graph (production code only).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = repo().join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        if is_test_file(&file) {
            continue;
        }
        let rel = file.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a path")
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source");
        let refs = crate_references(production(&text));
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(refs.into_iter().filter(|r| *r != top));
    }
    graph
}

/// Every cycle's members (Tarjan's strongly connected components > 1).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !graph.contains_key(w) {
                continue; // an item of lib.rs, or a name that is not a module
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn product_modules_import_each_other_without_a_cycle() {
    let graph = module_graph();
    assert!(graph.len() >= 10, "found only {:?}", graph.keys());
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "import cycles between top-level modules: {found:?}\n(graph: {graph:#?})"
    );
}

/// Lines of production code that name the lab crate (`lab::…`, not
/// `something::lab::…` and not in a comment).
fn lab_references(text: &str) -> Vec<&str> {
    let re = regex::Regex::new(r"(^|[^\w:])lab::").expect("regex");
    production(text)
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && re.is_match(l))
        .collect()
}

#[test]
fn only_the_command_layer_reaches_the_lab() {
    let src = repo().join("src");
    for file in rust_files(&src) {
        let rel = file.strip_prefix(&src).expect("under src");
        if is_test_file(&file) || rel.starts_with("commands") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source");
        let found = lab_references(&text);
        assert!(
            found.is_empty(),
            "{} reaches the lab crate outside the command layer: {found:?}",
            rel.display()
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(cycles(&graph), vec![vec!["a".to_string(), "b".to_string()]]);
    assert_eq!(
        lab_references("use lab::Lab;\n// lab::x\nlet a = crate::commands::lab::spec_of(p);"),
        vec!["use lab::Lab;"]
    );
    assert_eq!(
        crate_references("use crate::{plan::Plan, exec};\nlet x = crate::ps::quote(y);"),
        BTreeSet::from(["exec".into(), "plan".into(), "ps".into()])
    );
}
