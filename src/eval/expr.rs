//! Expressions: names, literals, comprehensions, members, indexes, calls and operators.

use super::builtins;
use super::limits::{self, Limit, MAX_DEPTH};
use super::scope::Scope;
use super::value::{Map, Value};
use super::{Evaluator, R, errors};
use crate::deployment;
use crate::deployment::Kind;
use crate::source::Span;
use crate::syntax::ast::*;
use crate::types::operators::{self, Operand};

impl<'p> Evaluator<'p> {
    /// Evaluates an expression: a step, and a level of depth while it runs.
    pub(super) fn eval(&mut self, scope: Scope<'_, 'p>, e: &'p Expr) -> R<Value> {
        self.charge(1, e.span)?;
        if self.meter.depth >= MAX_DEPTH {
            return Err(self.over_limit(Limit::Depth, e.span));
        }
        self.meter.depth += 1;
        let result = self.eval_expr(scope, e);
        self.meter.depth -= 1;
        result
    }

    fn eval_expr(&mut self, scope: Scope<'_, 'p>, e: &'p Expr) -> R<Value> {
        let inst = scope.inst;
        match &e.kind {
            ExprKind::Null => Ok(Value::Null),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Int(i) => Ok(Value::Int(*i)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Duration(ms) => Ok(Value::Duration(*ms)),
            ExprKind::Size(b) => Ok(Value::Size(*b)),
            ExprKind::Str(parts) => self.interpolate(scope, parts, e.span),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(scope, item)?);
                }
                Ok(Value::list(out))
            }
            ExprKind::Record(fields) if fields.iter().any(Field::is_spread) => {
                self.spread_record(scope, fields)
            }
            ExprKind::Record(fields) => {
                let mut out = Map::with_capacity_and_hasher(fields.len(), Default::default());
                for field in fields {
                    let key = self.key(scope, &field.key)?;
                    let value = self.eval(scope, &field.value)?;
                    if out.insert(key.clone(), value).is_some() {
                        return Err(self.error(errors::duplicate_key(&key, field.key.span())));
                    }
                }
                Ok(Value::map(out))
            }
            ExprKind::ListComp(c) | ExprKind::MapComp(c) => self.comprehension(scope, c),
            ExprKind::Name(n) => self.lookup(scope, n, e.span),
            ExprKind::Member(base, name) | ExprKind::OptMember(base, name) => {
                if let ExprKind::Name(n) = &base.kind
                    && !self.is_bound(scope, n)
                {
                    if let Some(kind) = Kind::parse(n) {
                        return self.resource_ref(inst, kind, &name.node, e.span);
                    }
                    if self.instances[inst].module.imports.contains_key(n.as_str()) {
                        return self.instance_ref(inst, n, &name.node, e.span);
                    }
                }
                let v = self.eval(scope, base)?;
                let (v, secret) = v.reveal();
                // `a?.b`: null where `a` is.
                if matches!(e.kind, ExprKind::OptMember(..)) && matches!(v, Value::Null) {
                    return Ok(Value::Null.tainted_if(secret));
                }
                let v = v.clone();
                Ok(self.member(&v, name, base.span, secret)?.tainted_if(secret))
            }
            ExprKind::Index(base, index) => {
                if let ExprKind::Name(n) = &base.kind
                    && !self.is_bound(scope, n)
                {
                    let is_kind = Kind::parse(n);
                    let is_alias = self.instances[inst].module.imports.contains_key(n.as_str());
                    if is_kind.is_some() || is_alias {
                        let key = self.eval(scope, index)?;
                        let key = self.name_text(&key, index.span, "resource name")?;
                        return match is_kind {
                            Some(kind) => self.resource_ref(inst, kind, &key, e.span),
                            None => self.instance_ref(inst, n, &key, e.span),
                        };
                    }
                }
                let v = self.eval(scope, base)?;
                let i = self.eval(scope, index)?;
                let secret = v.is_tainted() || i.is_secret();
                let (v, i) = (v.reveal().0.clone(), i.declassified());
                Ok(self.index(&v, &i, index.span, secret)?.tainted_if(secret))
            }
            ExprKind::Call(name, args) => self.call(scope, name, args, e.span),
            ExprKind::Unary(op, x) => {
                let v = self.eval(scope, x)?;
                let (v, secret) = v.reveal();
                let v = v.clone();
                Ok(self.unary(*op, v, x.span, e.span)?.tainted_if(secret))
            }
            ExprKind::Binary(op, a, b) => self.binary(scope, *op, a, b, e.span),
            ExprKind::If(c, a, b) => {
                let cond = self.eval(scope, c)?;
                let (chosen, secret) = match cond.reveal() {
                    (Value::Bool(true), secret) => (a, secret),
                    (Value::Bool(false), secret) => (b, secret),
                    _ => return Err(self.error(errors::expected_bool(&cond, c.span))),
                };
                if secret {
                    // A value chosen by a secret is secret.
                    self.under_secret(c.span, |ev| ev.eval(scope, chosen))
                        .map(Value::tainted)
                } else {
                    self.eval(scope, chosen)
                }
            }
        }
    }

    /// Evaluates what a secret chose (`if`'s branch, what a secret filter
    /// keeps, the right side of `&&` after a secret): it may not refer to
    /// a resource nothing else here refers to, since the dependencies
    /// would tell which way the secret went.
    pub(super) fn under_secret<T>(&mut self, at: Span, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        let before = self.collectors.last().map(|c| c.len());
        let out = f(self)?;
        if self.collectors.last().map(|c| c.len()) != before {
            return Err(self.error(errors::secret_chooses_dependency(at)));
        }
        Ok(out)
    }

    /// Whether `name` is bound by locals, the frames, or the module's params and lets.
    fn is_bound(&self, scope: Scope<'_, 'p>, name: &str) -> bool {
        if scope.local(name).is_some() {
            return true;
        }
        let mut frame = scope.env.clone();
        while let Some(f) = frame {
            if f.vars.iter().any(|(n, _, _)| *n == name)
                || f.lets.iter().any(|(l, _)| l.name.node == name)
            {
                return true;
            }
            frame = f.parent.clone();
        }
        let module = self.instances[scope.inst].module;
        module.params.contains_key(name) || module.lets.contains_key(name)
    }

    fn lookup(&mut self, scope: Scope<'_, 'p>, name: &str, span: Span) -> R<Value> {
        if let Some(v) = scope.local(name) {
            return Ok(v.clone());
        }
        let inst = scope.inst;
        let mut frame = scope.env.clone();
        while let Some(f) = frame {
            if let Some((_, v, deps)) = f.vars.iter().find(|(n, _, _)| *n == name) {
                self.record(deps);
                return Ok(v.clone());
            }
            if let Some(i) = f.lets.iter().position(|(l, _)| l.name.node == name) {
                return self.frame_let(inst, &f, i, span);
            }
            frame = f.parent.clone();
        }
        let module = self.instances[inst].module;
        if module.params.contains_key(name) {
            return self.param(inst, name, span);
        }
        if module.lets.contains_key(name) {
            return self.top_let(inst, name, span);
        }
        let namespace = Kind::parse(name).is_some() || module.imports.contains_key(name);
        Err(self.error(errors::unknown_name(name, namespace, span)))
    }

    pub(super) fn key(&mut self, scope: Scope<'_, 'p>, key: &'p Key) -> R<String> {
        match key {
            Key::Name(n) => Ok(n.node.clone()),
            Key::Spread(span) => Err(self.error(
                crate::diagnostic::Diagnostic::internal("internal error: a spread is no key")
                    .label(*span, "here"),
            )),
            Key::Str(e) => {
                let v = self.eval(scope, e)?;
                self.name_text(&v, e.span, "key")
            }
        }
    }

    fn interpolate(&mut self, scope: Scope<'_, 'p>, parts: &'p [StrPart], span: Span) -> R<Value> {
        if let [StrPart::Lit(s)] = parts {
            // Each evaluation copies the text: charged like any text built.
            self.charge(limits::text_steps(s.len() as u64), span)?;
            return Ok(Value::str(s.as_str()));
        }
        let mut out = String::new();
        let mut secret = false;
        for part in parts {
            match part {
                StrPart::Lit(s) => {
                    self.charge(limits::text_steps(s.len() as u64), span)?;
                    out.push_str(s);
                }
                StrPart::Interp(e) => {
                    let v = self.eval(scope, e)?;
                    match v.to_text() {
                        Some((t, s)) => {
                            let size = (out.len() + t.len()) as u64;
                            if size > self.meter.limits.max_string_size {
                                return Err(self.over_limit(Limit::StringSize(size), e.span));
                            }
                            self.charge(limits::text_steps(t.len() as u64), e.span)?;
                            out.push_str(&t);
                            secret |= s;
                        }
                        None => return Err(self.error(errors::not_interpolable(&v, e.span))),
                    }
                }
            }
        }
        Ok(Value::string(out, secret))
    }

    fn comprehension(&mut self, scope: Scope<'_, 'p>, c: &'p Comprehension) -> R<Value> {
        let iter = self.eval(scope, &c.iter)?;
        // Over a secret list, how many items there are is secret.
        let mut secret = iter.is_tainted();
        let pairs = self.iteration(iter, &c.vars, c.iter.span)?;
        let mut list = Vec::new();
        let mut map = Map::default();
        let run = |ev: &mut Self, secret: &mut bool| -> R<()> {
            for (k, v) in pairs {
                ev.charge(1, c.iter.span)?;
                let value = (c.vars.value.node.as_str(), v);
                let mut item = |scope: Scope<'_, 'p>| {
                    ev.comprehension_item(scope, c, &mut list, &mut map, secret)
                };
                match &c.vars.key {
                    Some(kv) => scope.with_locals(&[value, (kv.node.as_str(), k)], &mut item)?,
                    None => scope.with_locals(&[value], &mut item)?,
                }
            }
            Ok(())
        };
        if secret {
            self.under_secret(c.iter.span, |ev| run(ev, &mut secret))?;
        } else {
            run(self, &mut secret)?;
        }
        let out = if c.key.is_some() {
            Value::map(map)
        } else {
            Value::list(list)
        };
        Ok(out.tainted_if(secret))
    }

    fn comprehension_item(
        &mut self,
        scope: Scope<'_, 'p>,
        c: &'p Comprehension,
        list: &mut Vec<Value>,
        map: &mut Map,
        secret: &mut bool,
    ) -> R<()> {
        let mut chosen = false;
        if let Some(f) = &c.filter {
            let keep = self.eval(scope, f)?;
            match keep.reveal() {
                (Value::Bool(keep), by_secret) => {
                    // A secret filter makes the result's length secret.
                    *secret |= by_secret;
                    chosen = by_secret;
                    if !keep {
                        return Ok(());
                    }
                }
                _ => return Err(self.error(errors::expected_bool(&keep, f.span))),
            }
        }
        let mut item = |ev: &mut Self| -> R<()> {
            let value = ev.eval(scope, &c.value)?;
            ev.collection_size(list.len().max(map.len()) + 1, c.value.span)?;
            match &c.key {
                None => list.push(value),
                Some(k) => {
                    let kv = ev.eval(scope, k)?;
                    let key = ev.name_text(&kv, k.span, "key")?;
                    if map.insert(key.clone(), value).is_some() {
                        return Err(ev.error(errors::duplicate_comprehension_key(&key, k.span)));
                    }
                }
            }
            Ok(())
        };
        match (&c.filter, chosen) {
            (Some(f), true) => self.under_secret(f.span, item),
            _ => item(self),
        }
    }

    /// `v.name`; `secret` when `v` was secret (its fields are not listed).
    fn member(&mut self, v: &Value, name: &Ident, base_span: Span, secret: bool) -> R<Value> {
        let n = name.node.as_str();
        match v {
            Value::Ref(r) => match (r.kind, n) {
                // An image's name is its reference, as `"${image.x}"` gives.
                (Kind::Image, "name") => Ok(Value::str(r.yields.clone())),
                (_, "name") => Ok(Value::str(r.name.clone())),
                (Kind::Container, "hostname") => {
                    let resource = self.resource_at(&r.address, name.span)?;
                    let hostname = match &resource.spec {
                        deployment::Spec::Container(c) => c.run.hostname.clone(),
                        _ => None,
                    };
                    Ok(Value::str(hostname.unwrap_or_else(|| r.name.to_string())))
                }
                (kind, _) => Err(self.error(errors::no_reference_attribute(kind, n, name.span))),
            },
            Value::Instance(i) => self.output(i.id, n, name.span),
            Value::Map(m) => match m.get(n) {
                Some(x) => Ok(x.clone()),
                None => Err(self.error(errors::no_field(n, m, secret, name.span))),
            },
            other => Err(self.error(errors::no_attribute(other, n, base_span))),
        }
    }

    /// `v[i]`; `secret` when either was secret (neither is then shown).
    fn index(&mut self, v: &Value, i: &Value, span: Span, secret: bool) -> R<Value> {
        match (v, i) {
            (Value::List(xs), Value::Int(n)) => {
                let idx = if *n < 0 { None } else { xs.get(*n as usize) };
                idx.cloned().ok_or_else(|| {
                    self.error(errors::index_out_of_range(*n, xs.len(), secret, span))
                })
            }
            (Value::Map(m), Value::Str(k)) => match m.get(&*k.text) {
                Some(x) => Ok(x.clone()),
                None => Err(self.error(errors::no_key(&k.text, secret, m, span))),
            },
            (v, i) => Err(self.error(errors::not_indexable(v, i, span))),
        }
    }

    fn call(
        &mut self,
        scope: Scope<'_, 'p>,
        name: &'p Ident,
        args: &'p [Expr],
        span: Span,
    ) -> R<Value> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.eval(scope, a)?);
        }
        let module = self.instances[scope.inst].module;
        if let Some(f) = module.fns.get(&name.node) {
            if f.params.len() != values.len() {
                return Err(self.error(errors::argument_count(&name.node, f.params.len(), span)));
            }
            let mut params: Vec<(&'p str, Value)> = Vec::with_capacity(values.len());
            for (((pname, pty), v), arg) in f.params.iter().zip(values).zip(args) {
                let ty = self.declared_type(scope.inst, pty);
                let v = self.conform_at(v, &ty, arg.span, &|| {
                    format!("argument `{}` of `{}`", pname.node, name.node)
                })?;
                params.push((pname.node.as_str(), v));
            }
            // The body sees its parameters and the module's top level only.
            let result = Scope::new(scope.inst, &None)
                .with_locals(&params, |body| self.eval(body, &f.body))?;
            return match &f.ret {
                Some(te) => {
                    let ty = self.declared_type(scope.inst, te);
                    self.conform_at(result, &ty, f.body.span, &|| {
                        format!("result of `{}`", name.node)
                    })
                }
                None => Ok(result),
            };
        }
        // These read their arguments whole: a value sharing its parts costs
        // what it would written out.
        if matches!(
            name.node.as_str(),
            "to_string" | "format" | "contains" | "distinct" | "jsonencode" | "yamlencode"
        ) {
            for v in &values {
                self.walk(v, span)?;
            }
        }
        let (steps, string, collection) = limits::builtin_cost(&name.node, &values);
        if let Some(bytes) = string {
            self.string_size(bytes as usize, span)?;
        }
        if let Some(len) = collection {
            self.collection_size(len as usize, span)?;
        }
        self.charge(steps, span)?;
        let files = builtins::Files {
            dir: self.sources.dir_of(module.source),
            confinement: self.files,
            max_text: self.meter.limits.max_string_size,
        };
        let result = builtins::call(&name.node, &values, files)
            .map_err(|e| self.error(errors::builtin_failed(&name.node, e, &values, span)))?;
        // What could not be sized before (`upper`, `file`, `to_string`,
        // `templatefile`) is checked after, and its building paid for.
        match result.reveal().0 {
            Value::Str(s) if string.is_none() => {
                self.string_size(s.text.len(), span)?;
                self.charge(limits::text_steps(s.text.len() as u64), span)?;
            }
            Value::Str(s) => self.string_size(s.text.len(), span)?,
            Value::List(xs) => self.collection_size(xs.len(), span)?,
            Value::Map(m) => self.collection_size(m.len(), span)?,
            _ => {}
        }
        Ok(result)
    }

    /// `!x` and `-x`; `at` is the operand's span, `span` the expression's.
    fn unary(&mut self, op: UnaryOp, v: Value, at: Span, span: Span) -> R<Value> {
        let negated = |x: i64, make: fn(i64) -> Value| x.checked_neg().map(make);
        let result = match (operators::unary(op, shape(&v)), &v) {
            (Some(_), Value::Bool(b)) => Some(Value::Bool(!b)),
            (Some(_), Value::Float(f)) => Some(Value::Float(-f)),
            (Some(_), Value::Int(i)) => negated(*i, Value::Int),
            (Some(_), Value::Duration(d)) => negated(*d, Value::Duration),
            (Some(_), Value::Size(s)) => negated(*s, Value::Size),
            _ => {
                let symbol = if op == UnaryOp::Not { "!" } else { "-" };
                return Err(self.error(errors::unary_operand(symbol, &v, at)));
            }
        };
        result.ok_or_else(|| self.error(errors::overflow(span)))
    }

    fn binary(
        &mut self,
        scope: Scope<'_, 'p>,
        op: BinaryOp,
        a: &'p Expr,
        b: &'p Expr,
        span: Span,
    ) -> R<Value> {
        if op == BinaryOp::Coalesce {
            return self.coalesce(scope, a, b);
        }
        let left = self.eval(scope, a)?;
        // `&&` and `||` short-circuit; after a secret, the answer is secret.
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            let (Value::Bool(l), secret) = left.reveal() else {
                return Err(self.error(errors::expected_bool(&left, a.span)));
            };
            let l = *l;
            if (op == BinaryOp::And && !l) || (op == BinaryOp::Or && l) {
                return Ok(Value::Bool(l).tainted_if(secret));
            }
            let right = if secret {
                self.under_secret(a.span, |ev| ev.eval(scope, b))?
            } else {
                self.eval(scope, b)?
            };
            return match right.reveal() {
                (Value::Bool(r), by_secret) => Ok(Value::Bool(*r).tainted_if(secret || by_secret)),
                _ => Err(self.error(errors::expected_bool(&right, b.span))),
            };
        }
        let right = self.eval(scope, b)?;
        if op == BinaryOp::Merge {
            return self.deep_merge(&left, &right, a.span, b.span);
        }
        // Comparisons look inside lists and maps: any secret there makes the answer secret.
        let compared_secret = left.is_secret() || right.is_secret();
        // Arithmetic joins lists and maps element by element: only a secret
        // operand itself (a scalar, or a collection's shape) makes it secret.
        let secret = left.is_tainted() || right.is_tainted();
        if matches!(
            op,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem
        ) {
            let (l, r) = (left.reveal().0.clone(), right.reveal().0.clone());
            return Ok(self.arithmetic(op, &l, &r, span)?.tainted_if(secret));
        }
        let (left, right) = (left.declassified(), right.declassified());
        let ordering = |pick: fn(std::cmp::Ordering) -> bool| {
            operators::binary(op, shape(&left), shape(&right))
                .and_then(|_| builtins::compare(&left, &right))
                .map(|o| Value::Bool(pick(o)))
        };
        if matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
            // Comparing walks both values.
            self.walk(&left, span)?;
        }
        let compared = match op {
            BinaryOp::Eq => Some(Value::Bool(left.equals(&right))),
            BinaryOp::Ne => Some(Value::Bool(!left.equals(&right))),
            BinaryOp::Lt => ordering(std::cmp::Ordering::is_lt),
            BinaryOp::Le => ordering(std::cmp::Ordering::is_le),
            BinaryOp::Gt => ordering(std::cmp::Ordering::is_gt),
            BinaryOp::Ge => ordering(std::cmp::Ordering::is_ge),
            _ => None,
        };
        match compared {
            Some(v) => Ok(v.tainted_if(compared_secret)),
            None => Err(self.error(errors::operands(op, &left, &right, a.span, b.span))),
        }
    }

    /// `+ - * / %`: arithmetic, and `+` joining strings, lists and maps.
    fn arithmetic(&mut self, op: BinaryOp, l: &Value, r: &Value, span: Span) -> R<Value> {
        use Value::*;
        if matches!(op, BinaryOp::Div | BinaryOp::Rem)
            && matches!(r, Int(0) | Duration(0) | Size(0))
        {
            return Err(self.error(errors::division_by_zero(span)));
        }
        let Some(result) = operators::binary(op, shape(l), shape(r)) else {
            return Err(self.error(errors::operands(op, l, r, span, span)));
        };
        let make: fn(i64) -> Value = match (result, l, r) {
            (Operand::String, Str(x), Str(y)) => {
                let len = x.text.len() + y.text.len();
                self.string_size(len, span)?;
                self.charge(limits::text_steps(len as u64), span)?;
                let mut s = String::with_capacity(x.text.len() + y.text.len());
                s.push_str(&x.text);
                s.push_str(&y.text);
                return Ok(Value::str(s));
            }
            (Operand::List, List(x), List(y)) => {
                self.collection_size(x.len() + y.len(), span)?;
                self.charge((x.len() + y.len()) as u64, span)?;
                return Ok(Value::list(x.iter().chain(y.iter()).cloned().collect()));
            }
            (Operand::Map, Map(x), Map(y)) => {
                self.collection_size(x.len() + y.len(), span)?;
                self.charge((x.len() + y.len()) as u64, span)?;
                let mut m = (**x).clone();
                for (k, v) in y.iter() {
                    m.insert(k.clone(), v.clone());
                }
                return Ok(Value::map(m));
            }
            (Operand::Duration | Operand::Size, _, _)
                if matches!((l, r), (Float(_), _) | (_, Float(_))) =>
            {
                // Scaled by a float: rounded to a whole unit.
                let (x, y) = (as_f64(l), as_f64(r));
                let v = if op == BinaryOp::Mul { x * y } else { x / y };
                if !v.is_finite() {
                    return Err(self.error(errors::not_finite(span)));
                }
                let v = v.round();
                if v.abs() >= 9.2e18 {
                    return Err(self.error(errors::overflow(span)));
                }
                return Ok(if result == Operand::Size {
                    Size(v as i64)
                } else {
                    Duration(v as i64)
                });
            }
            (Operand::Float, _, _) => {
                let (x, y) = (as_f64(l), as_f64(r));
                let v = match op {
                    BinaryOp::Add => x + y,
                    BinaryOp::Sub => x - y,
                    BinaryOp::Mul => x * y,
                    _ => x / y,
                };
                if !v.is_finite() {
                    return Err(self.error(errors::not_finite(span)));
                }
                return Ok(Float(v));
            }
            (Operand::Int, _, _) => Int,
            (Operand::Duration, _, _) => Duration,
            (Operand::Size, _, _) => Size,
            _ => return Err(self.error(errors::operands(op, l, r, span, span))),
        };
        // Ints, durations and sizes are all counted in an i64.
        let (x, y) = (as_i64(l), as_i64(r));
        let value = match op {
            BinaryOp::Add => x.checked_add(y),
            BinaryOp::Sub => x.checked_sub(y),
            BinaryOp::Mul => x.checked_mul(y),
            BinaryOp::Div => x.checked_div(y),
            BinaryOp::Rem => x.checked_rem(y),
            _ => None,
        };
        value
            .map(make)
            .ok_or_else(|| self.error(errors::overflow(span)))
    }
}

/// What the operators tell a value apart by.
fn shape(v: &Value) -> Operand {
    match v {
        Value::Bool(_) => Operand::Bool,
        Value::Int(_) => Operand::Int,
        Value::Float(_) => Operand::Float,
        Value::Str(_) => Operand::String,
        Value::Duration(_) => Operand::Duration,
        Value::Size(_) => Operand::Size,
        Value::List(_) => Operand::List,
        Value::Map(_) => Operand::Map,
        Value::Secret(inner) => shape(inner),
        Value::Null | Value::Ref(_) | Value::Instance(_) => Operand::Other,
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Duration(i) | Value::Size(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn as_i64(v: &Value) -> i64 {
    match v {
        Value::Int(x) | Value::Duration(x) | Value::Size(x) => *x,
        _ => 0,
    }
}
