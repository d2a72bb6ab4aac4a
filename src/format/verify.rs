//! The formatter's safety net: the output must parse to the same tree (rules
//! and token texts, whitespace aside) and keep every comment, in order.

use pest::iterators::Pair;

use crate::syntax::Rule;

/// The parse tree as text: `rule(children)`, or `rule:text` for a leaf. Two
/// files with the same shape mean the same thing.
pub(crate) fn shape(pair: &Pair<'_, Rule>) -> String {
    let mut out = String::new();
    write_shape(pair, &mut out);
    out
}

fn write_shape(pair: &Pair<'_, Rule>, out: &mut String) {
    out.push_str(&format!("{:?}", pair.as_rule()));
    let mut inner = pair.clone().into_inner().peekable();
    if inner.peek().is_none() {
        out.push(':');
        // Blanks are text only inside strings; elsewhere (`{   }`) they are layout.
        match pair.as_rule() {
            Rule::str_chars | Rule::mstr_chars | Rule::escape | Rule::dollar_brace => {
                out.push_str(pair.as_str())
            }
            _ => out.extend(pair.as_str().chars().filter(|c| !c.is_whitespace())),
        }
        out.push(' ');
        return;
    }
    out.push('(');
    for child in inner {
        write_shape(&child, out);
    }
    out.push(')');
}
