//! `container_name` and `docker_name`: a Docker name chosen by the source
//! instead of `<stack>-<name>`. It is evaluated with the declaration, as the
//! resource's name is, so that references (`container.db`), names looked up
//! in the same module instance and the name checks all see it.

use super::scope::Scope;
use super::{Evaluator, R};
use crate::deployment::Kind;
use crate::diagnostic::{Diagnostic, ErrorCode};
use crate::eval::value::Value;
use crate::syntax::ast::ResourceDecl;

impl<'p> Evaluator<'p> {
    /// The Docker name a declaration chooses, if any: a container's
    /// `container_name`, a volume's or network's `docker_name`.
    pub(super) fn chosen_name(
        &mut self,
        scope: Scope<'_, 'p>,
        kind: Kind,
        r: &'p ResourceDecl,
    ) -> R<Option<String>> {
        let (key, what) = match kind {
            Kind::Container => ("container_name", "container name"),
            Kind::Volume | Kind::Network => ("docker_name", "Docker name"),
            _ => return Ok(None),
        };
        let Some(field) = r.fields.iter().find(|f| f.key.static_name() == Some(key)) else {
            return Ok(None);
        };
        let span = field.value.span;
        let value = self.eval(scope, &field.value)?;
        if matches!(value, Value::Null) {
            return Ok(None);
        }
        let name = self.name_text(&value, span, what)?;
        if !valid_container_name(&name) {
            return Err(self.error(
                Diagnostic::new(
                    ErrorCode::InvalidName,
                    format!("`{name}` is not a valid {kind} name"),
                )
                .label(span, "Docker refuses this name")
                .help("letters, digits, `_`, `.` and `-`, starting with a letter or digit, at least 2 characters"),
            ));
        }
        Ok(Some(name))
    }
}

/// Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub(super) fn valid_container_name(name: &str) -> bool {
    name.len() >= 2
        && name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}
