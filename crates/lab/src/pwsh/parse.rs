//! Parsing with the tree-sitter PowerShell grammar: the parsed script (source
//! plus tree), syntax errors from ERROR/MISSING nodes, and the small CST
//! helpers the evaluator uses. It never evaluates anything.

use tree_sitter::{Node, Parser, Tree};

use super::SyntaxError;

/// A parsed script: the evaluator walks `tree` and reads token text from `src`.
pub(crate) struct Parsed {
    pub src: String,
    pub tree: Tree,
}

/// Parses `src`; `None` only if tree-sitter itself fails (no language or a
/// cancelled parse), which the caller reports as an error.
pub(crate) fn parse(src: &str) -> Option<Parsed> {
    let mut parser = Parser::new();
    let lang: tree_sitter::Language = tree_sitter_powershell::LANGUAGE.into();
    parser.set_language(&lang).ok()?;
    let tree = parser.parse(src, None)?;
    Some(Parsed {
        src: src.to_string(),
        tree,
    })
}

/// Every ERROR or MISSING node as a `SyntaxError`, in source order.
pub(crate) fn syntax_errors(p: &Parsed) -> Vec<SyntaxError> {
    let mut out = Vec::new();
    collect_errors(p.tree.root_node(), &p.src, &mut out);
    out
}

fn collect_errors(n: Node, src: &str, out: &mut Vec<SyntaxError>) {
    if !n.has_error() {
        return;
    }
    let pos = n.start_position();
    let (line, column) = (pos.row + 1, pos.column + 1);
    if n.is_missing() {
        out.push(SyntaxError {
            line,
            column,
            message: format!("Missing '{}'.", n.kind()),
        });
        return;
    }
    if n.is_error() {
        let text = text(n, src);
        // PowerShell's own wording for the errors scripts hit most.
        let quote = all(n)
            .into_iter()
            .find(|k| !k.is_named() && matches!(k.kind(), "'" | "\""));
        let (line, column, message) = if let Some(q) = quote {
            let p = q.start_position();
            (
                p.row + 1,
                p.column + 1,
                format!("The string is missing the terminator: {}.", q.kind()),
            )
        } else if text.matches('{').count() > text.matches('}').count() {
            (
                line,
                column,
                "Missing closing '}' in statement block or type definition.".to_string(),
            )
        } else {
            let first = text.lines().next().unwrap_or("").trim();
            (
                line,
                column,
                format!("Unexpected token '{first}' in expression or statement."),
            )
        };
        out.push(SyntaxError {
            line,
            column,
            message,
        });
        return;
    }
    let mut c = n.walk();
    for ch in n.children(&mut c) {
        collect_errors(ch, src, out);
    }
}

/// The source text of a node.
pub(crate) fn text<'s>(n: Node, src: &'s str) -> &'s str {
    &src[n.byte_range()]
}

/// A node's children: most nodes have a few, kept without allocating.
pub(crate) type Kids<'t> = smallvec::SmallVec<[Node<'t>; 6]>;

/// Named children, skipping comments.
pub(crate) fn named(n: Node) -> Kids {
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter(|k| k.kind() != "comment")
        .collect()
}

/// All children (named and anonymous), skipping comments.
pub(crate) fn all(n: Node) -> Kids {
    let mut c = n.walk();
    n.children(&mut c)
        .filter(|k| k.kind() != "comment")
        .collect()
}

/// Descends through wrapper nodes that have a single child (the grammar
/// nests `logical_expression > bitwise_expression > … > unary_expression`
/// for every plain value).
pub(crate) fn unwrap(mut n: Node) -> Node {
    loop {
        if is_leaf_kind(n.kind()) {
            return n;
        }
        // Most wrappers have exactly one child: read it without listing
        // the children (this runs on every value the interpreter reads).
        let only = match n.child_count() {
            0 => return n,
            1 => n.child(0).filter(|c| c.kind() != "comment"),
            _ => {
                let kids = all(n);
                (kids.len() == 1).then(|| kids[0])
            }
        };
        match only {
            Some(k) if k.is_named() => n = k,
            _ => return n,
        }
    }
}

/// Kinds whose single child is part of their meaning, not a wrapper.
fn is_leaf_kind(kind: &str) -> bool {
    matches!(
        kind,
        "string_literal"
            | "integer_literal"
            | "variable"
            | "type_literal"
            | "command"
            | "script_block_expression"
            | "flow_control_statement"
            | "member_name"
            | "key_expression"
    )
}
