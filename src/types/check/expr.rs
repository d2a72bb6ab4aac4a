//! Expressions: checked against an expected type where one is known (so
//! errors point at the element that is wrong), inferred otherwise.

use super::*;

impl<'a> Checker<'a> {
    /// Checks `e` against an expected type, looking inside literals so that
    /// errors point at the element or field that is wrong.
    pub(super) fn check(&mut self, e: &Expr, want: &Type) {
        if *want == Type::Any {
            self.infer(e);
            return;
        }
        if let Type::Declared(d) = want {
            self.check_declared(e, d);
            return;
        }
        if let Some(inner) = declared::literal_for_declared(e, want) {
            self.check(e, inner);
            return;
        }
        if let ExprKind::Name(name) = &e.kind
            && takes_text(want)
            && self.is_undefined(name)
        {
            // `restart = always`: YAML needs no quotes.
            let names = self.names();
            self.errors.push(errors::bare_word(name, &names, e.span));
            return;
        }
        match &e.kind {
            ExprKind::List(items) => {
                if let Some(elem) = list_element(want) {
                    for item in items {
                        self.check(item, &elem);
                    }
                    return;
                }
            }
            ExprKind::Record(fields) => {
                if let Some(target) = record_target(want) {
                    self.check_record(e, fields, &target);
                    return;
                }
            }
            ExprKind::If(c, a, b) => {
                self.check(c, &Type::Bool);
                self.narrowed(c, true, |s| s.check(a, want));
                self.narrowed(c, false, |s| s.check(b, want));
                return;
            }
            ExprKind::Binary(BinaryOp::Coalesce, a, b) => {
                self.coalesce(a, b, Some(want));
                return;
            }
            _ => {}
        }
        let have = self.infer(e);
        if let (Some(s), Some(values)) = (e.as_plain_string(), enum_values(want)) {
            if !values.iter().any(|v| v == s) {
                self.errors
                    .push(errors::not_in_enum(s, want, values, e.span));
            }
            return;
        }
        if !want.accepts(&have) {
            self.errors.push(errors::mismatch(want, &have, e));
        }
    }

    fn check_record(&mut self, e: &Expr, fields: &[Field], target: &RecordTarget) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        // What spreads set (`spread.rs`): the fields written out win.
        let mut supplied = spread::Supplied::default();
        let written: HashSet<String> = fields
            .iter()
            .filter_map(|f| f.key.static_name().map(str::to_string))
            .collect();
        for field in fields {
            if field.is_spread() {
                let target = match target {
                    RecordTarget::Record(want) => spread::SpreadTarget::Record(want.clone()),
                    RecordTarget::Map(t) => spread::SpreadTarget::Map(t.clone()),
                };
                let s = self.check_spread(&field.value, &target, &written);
                supplied.names.extend(s.names);
                supplied.open |= s.open;
                continue;
            }
            let Some(name) = field.key.static_name() else {
                self.infer_key(&field.key);
                match target {
                    RecordTarget::Map(t) => self.check(&field.value, t),
                    RecordTarget::Record(_) => {
                        self.infer(&field.value);
                    }
                }
                continue;
            };
            if let Some(first) = seen.insert(name.to_string(), field.key.span()) {
                self.errors
                    .push(errors::duplicate_key(name, field.key.span(), first));
            }
            match target {
                RecordTarget::Map(t) => self.check(&field.value, t),
                RecordTarget::Record(want) => match want.get(name) {
                    Some(t) => self.check(&field.value, t),
                    None => {
                        self.infer(&field.value);
                        let expected: Vec<&str> = want.keys().map(String::as_str).collect();
                        self.errors.push(errors::unknown_record_field(
                            name,
                            &expected,
                            field.key.span(),
                        ));
                    }
                },
            }
        }
        if let RecordTarget::Record(want) = target {
            let dynamic = fields
                .iter()
                .any(|f| f.key.static_name().is_none() && !f.is_spread());
            for (name, t) in want.iter() {
                if !dynamic
                    && !seen.contains_key(name)
                    && !supplied.covers(name)
                    && !t.may_be_omitted()
                {
                    self.errors
                        .push(errors::missing_record_field(name, t, e.span));
                }
            }
        }
    }

    /// Infers a type; nested at most [`MAX_DEPTH`] deep (through lets and
    /// functions), so that no chain of definitions exhausts the stack.
    pub(super) fn infer(&mut self, e: &Expr) -> Type {
        if self.depth >= MAX_DEPTH {
            if !self.too_deep {
                self.too_deep = true;
                self.errors.push(errors::too_deep(e.span));
            }
            return Type::Any;
        }
        self.depth += 1;
        let t = self.infer_expr(e);
        self.depth -= 1;
        t
    }

    fn infer_expr(&mut self, e: &Expr) -> Type {
        match &e.kind {
            ExprKind::Null => Type::Null,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::Int(_) => Type::Int,
            ExprKind::Float(_) => Type::Float,
            ExprKind::Duration(_) => Type::Duration,
            ExprKind::Size(_) => Type::Size,
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Interp(x) = p {
                        let t = self.infer(x);
                        if !interpolates(&t) {
                            self.errors.push(errors::not_interpolable(&t, x.span));
                        }
                    }
                }
                Type::String
            }
            ExprKind::List(items) => {
                let mut t: Option<Type> = None;
                for item in items {
                    let it = self.infer(item);
                    t = Some(match t {
                        None => it,
                        Some(prev) => Type::join(&prev, &it),
                    });
                }
                Type::list(t.unwrap_or(Type::Any))
            }
            ExprKind::Record(fields) if fields.iter().any(Field::is_spread) => {
                self.infer_spread_record(fields)
            }
            ExprKind::Record(fields) => {
                let mut out = IndexMap::new();
                let mut dynamic = false;
                let mut seen: HashMap<String, Span> = HashMap::new();
                for field in fields {
                    let t = self.infer(&field.value);
                    match field.key.static_name() {
                        Some(name) => {
                            if let Some(first) = seen.insert(name.to_string(), field.key.span()) {
                                self.errors.push(errors::duplicate_key(
                                    name,
                                    field.key.span(),
                                    first,
                                ));
                            }
                            out.insert(name.to_string(), t);
                        }
                        None => {
                            self.infer_key(&field.key);
                            dynamic = true;
                        }
                    }
                }
                if dynamic {
                    let joined = out
                        .values()
                        .cloned()
                        .reduce(|a, b| Type::join(&a, &b))
                        .unwrap_or(Type::Any);
                    Type::map(joined)
                } else {
                    Type::Record(Arc::new(out))
                }
            }
            ExprKind::ListComp(c) | ExprKind::MapComp(c) => {
                let iter = self.infer(&c.iter);
                let (kt, vt) = self.loop_types(&iter, &c.vars, c.iter.span);
                let n = self.bind(&c.vars, kt, vt);
                let v = match &c.filter {
                    Some(f) => {
                        self.check(f, &Type::Bool);
                        self.narrowed(f, true, |s| s.comprehension_value(c))
                    }
                    None => self.comprehension_value(c),
                };
                self.locals.truncate(self.locals.len() - n);
                if c.key.is_some() {
                    Type::map(v)
                } else {
                    Type::list(v)
                }
            }
            ExprKind::Name(n) => self.lookup(n, e.span),
            ExprKind::Member(base, name) => {
                if let Some(t) = self.narrowed_path(e) {
                    return t;
                }
                self.check_reference(base, name, e.span);
                let t = self.infer(base);
                self.member(&t, name)
            }
            ExprKind::OptMember(base, name) => self.optional_member(e, base, name),
            ExprKind::Index(base, index) => {
                if let Some(t) = self.narrowed_path(e) {
                    return t;
                }
                self.check_indexed_reference(base, index, e.span);
                let t = self.infer(base);
                self.index(&t, index, e.span)
            }
            ExprKind::Call(name, args) => self.call(name, args, e.span),
            ExprKind::Unary(op, x) => {
                let t = non_null(self.infer(x));
                let shape = operators::unary(*op, Operand::of_type(&t));
                match (op, &t, shape) {
                    (_, Type::Any, _) => Type::Any,
                    // A port negated is no port.
                    (_, Type::Port, Some(_)) => Type::Int,
                    (_, _, Some(_)) => t,
                    (UnaryOp::Not, _, None) => {
                        self.errors.push(errors::unary_operand("!", &t, x.span));
                        Type::Bool
                    }
                    (UnaryOp::Neg, _, None) => {
                        self.errors.push(errors::unary_operand("-", &t, x.span));
                        Type::Any
                    }
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b),
            ExprKind::If(c, a, b) => {
                self.check(c, &Type::Bool);
                let ta = self.narrowed(c, true, |s| s.infer(a));
                let tb = self.narrowed(c, false, |s| s.infer(b));
                Type::join(&ta, &tb)
            }
        }
    }

    /// A comprehension's key (checked) and value (its type is returned).
    fn comprehension_value(&mut self, c: &Comprehension) -> Type {
        if let Some(k) = &c.key {
            self.check(k, &Type::String);
        }
        self.infer(&c.value)
    }

    pub(super) fn member(&mut self, t: &Type, name: &Ident) -> Type {
        let n = name.node.as_str();
        match t {
            Type::Any => Type::Any,
            Type::Namespace(Namespace::Kind(k)) => Type::Resource(*k),
            Type::Namespace(Namespace::Module(m)) => Type::Instance(*m),
            Type::Resource(k) => match (k, n) {
                (_, "name") | (Kind::Container, "hostname") => Type::String,
                _ => {
                    self.errors
                        .push(errors::no_reference_attribute(*k, n, name.span));
                    Type::Any
                }
            },
            Type::Instance(m) => {
                let Some(types) = self.imported.get(m) else {
                    return Type::Any;
                };
                match types.outputs.get(n) {
                    Some(t) => t.clone(),
                    None if types.dynamic_outputs => Type::Any,
                    None => {
                        let module = self.program.module(*m);
                        let outputs: Vec<&str> = types.outputs.keys().map(String::as_str).collect();
                        self.errors
                            .push(errors::no_output(&module.name, n, &outputs, name.span));
                        Type::Any
                    }
                }
            }
            Type::Record(fields) => match fields.get(n) {
                Some(t) => t.clone(),
                None => {
                    let names = fields.keys().map(String::as_str);
                    self.errors
                        .push(errors::no_record_field(n, names, name.span));
                    Type::Any
                }
            },
            Type::Map(t) => (**t).clone(),
            Type::Optional(t) => self.member(&t.clone(), name),
            other => {
                self.errors.push(errors::no_attribute(other, n, name.span));
                Type::Any
            }
        }
    }

    fn index(&mut self, t: &Type, index: &Expr, span: Span) -> Type {
        match t {
            Type::Any => {
                self.infer(index);
                Type::Any
            }
            Type::Namespace(ns) => {
                self.check(index, &Type::String);
                match ns {
                    Namespace::Kind(k) => Type::Resource(*k),
                    Namespace::Module(m) => Type::Instance(*m),
                }
            }
            Type::List(elem) => {
                self.check(index, &Type::Int);
                (**elem).clone()
            }
            Type::Map(elem) => {
                self.check(index, &Type::String);
                (**elem).clone()
            }
            Type::Record(fields) => {
                self.check(index, &Type::String);
                match index.as_plain_string() {
                    Some(key) => match fields.get(key) {
                        Some(t) => t.clone(),
                        None => {
                            let names = fields.keys().map(String::as_str);
                            self.errors
                                .push(errors::no_record_field(key, names, index.span));
                            Type::Any
                        }
                    },
                    None => Type::Any,
                }
            }
            Type::Optional(inner) => self.index(&inner.clone(), index, span),
            other => {
                self.infer(index);
                self.errors.push(errors::not_indexable(other, span));
                Type::Any
            }
        }
    }

    fn call(&mut self, name: &Ident, args: &[Expr], span: Span) -> Type {
        let n = name.node.as_str();
        if let Some((params, _)) = self.fn_types.get(n).cloned() {
            if params.len() != args.len() {
                for a in args {
                    self.infer(a);
                }
                let takes = params.len().to_string();
                self.errors
                    .push(errors::argument_count(n, &takes, args.len(), span));
            } else {
                for (a, t) in args.iter().zip(&params) {
                    self.check(a, t);
                }
            }
            return self.fn_return(n);
        }
        if builtins::is_builtin(n) {
            let types: Vec<Type> = args.iter().map(|a| self.infer(a)).collect();
            return match builtins::signature(n, &types) {
                Ok(t) => {
                    if n == "templatefile" {
                        self.check_template(args, &types);
                    }
                    t
                }
                Err(SignatureError::Arity(expected)) => {
                    self.errors
                        .push(errors::argument_count(n, &expected, args.len(), span));
                    Type::Any
                }
                Err(SignatureError::Arg(i, what)) => {
                    self.errors
                        .push(errors::builtin_argument(n, &what, &types[i], args[i].span));
                    Type::Any
                }
            };
        }
        for a in args {
            self.infer(a);
        }
        let mut candidates: Vec<&str> = builtins::NAMES.to_vec();
        candidates.extend(self.module.fns.keys().map(String::as_str));
        self.errors
            .push(errors::unknown_function(n, &candidates, name.span));
        Type::Any
    }

    fn binary(&mut self, op: BinaryOp, a: &Expr, b: &Expr) -> Type {
        use Type::*;
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            self.check(a, &Bool);
            // The right side runs only where the left is true (`&&`) or false (`||`).
            self.narrowed(a, op == BinaryOp::And, |s| s.check(b, &Bool));
            return Bool;
        }
        if op == BinaryOp::Coalesce {
            return self.coalesce(a, b, None);
        }
        // An optional operand is taken as present: `if x != null then x + 1 else 0`
        // is fine, and a `null` that gets this far is an error at evaluation.
        let (ta, tb) = (non_null(self.infer(a)), non_null(self.infer(b)));
        if matches!(ta, Any) || matches!(tb, Any) {
            return match op {
                BinaryOp::Eq
                | BinaryOp::Ne
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge => Bool,
                _ => Any,
            };
        }
        let shape = operators::binary(op, Operand::of_type(&ta), Operand::of_type(&tb));
        let result = match op {
            BinaryOp::Merge => shape.map(|_| spread::deep_merge_type(&ta, &tb)),
            _ => shape.map(|shape| result_type(shape, &ta, &tb)),
        };
        match result {
            Some(t) => t,
            None => {
                self.errors
                    .push(errors::operands(op, &ta, &tb, a.span, b.span));
                Any
            }
        }
    }
}

/// The type of an operator's result of that shape, from its operands' types.
fn result_type(shape: Operand, a: &Type, b: &Type) -> Type {
    match shape {
        Operand::Bool => Type::Bool,
        Operand::Int => Type::Int,
        Operand::Float => Type::Float,
        Operand::String => Type::String,
        Operand::Duration => Type::Duration,
        Operand::Size => Type::Size,
        Operand::List => Type::join(a, b),
        Operand::Map => match (a, b) {
            (Type::Record(x), Type::Record(y)) => {
                let mut merged = (**x).clone();
                for (k, t) in y.iter() {
                    merged.insert(k.clone(), t.clone());
                }
                Type::Record(Arc::new(merged))
            }
            _ => Type::map(Type::Any),
        },
        Operand::Other => Type::Any,
    }
}

/// The type of a value known (or assumed) not to be null.
fn non_null(t: Type) -> Type {
    match t {
        Type::Optional(inner) => *inner,
        t => t,
    }
}

pub(super) enum RecordTarget {
    Record(Arc<IndexMap<String, Type>>),
    Map(Type),
}

/// The element type a list literal is checked against, if `want` has exactly one list shape.
pub(super) fn list_element(want: &Type) -> Option<Type> {
    match want {
        Type::List(t) => Some((**t).clone()),
        Type::Optional(t) => list_element(t),
        Type::Union(ts) => {
            let lists: Vec<&Type> = ts.iter().filter(|t| matches!(t, Type::List(_))).collect();
            match lists.as_slice() {
                [one] => list_element(one),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The record or map type a record literal is checked against.
pub(super) fn record_target(want: &Type) -> Option<RecordTarget> {
    match want {
        Type::Record(fields) => Some(RecordTarget::Record(fields.clone())),
        Type::Map(t) => Some(RecordTarget::Map((**t).clone())),
        Type::Optional(t) => record_target(t),
        Type::Union(ts) => {
            let records: Vec<&Type> = ts
                .iter()
                .filter(|t| matches!(t, Type::Record(_) | Type::Map(_)))
                .collect();
            match records.as_slice() {
                [one] => record_target(one),
                _ => None,
            }
        }
        _ => None,
    }
}

fn enum_values(want: &Type) -> Option<&[String]> {
    match want {
        Type::Enum(values) => Some(values),
        Type::Optional(t) => enum_values(t),
        _ => None,
    }
}

fn interpolates(t: &Type) -> bool {
    match t {
        Type::List(_)
        | Type::Map(_)
        | Type::Record(_)
        | Type::Null
        | Type::Instance(_)
        | Type::Namespace(_) => false,
        Type::Optional(inner) => interpolates(inner),
        _ => true,
    }
}

/// Whether a string is one of the values `want` accepts.
fn takes_text(want: &Type) -> bool {
    match want {
        Type::String | Type::Secret | Type::Enum(_) => true,
        Type::Optional(t) => takes_text(t),
        Type::Union(ts) => ts.iter().any(takes_text),
        _ => false,
    }
}
