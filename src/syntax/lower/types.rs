//! Types as written: names, generics, records (with field defaults), enums,
//! optionals, names of imported types and refinements; and `validate`
//! clauses.

use super::*;

impl Lower {
    pub(super) fn type_expr(&self, pair: Pair<'_, Rule>) -> Result<TypeExpr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let union = self.type_union(next(&mut inner)?)?;
        Ok(match inner.next() {
            Some(_) => TypeExpr {
                kind: TypeExprKind::Optional(Box::new(union)),
                span,
            },
            None => union,
        })
    }

    fn type_union(&self, pair: Pair<'_, Rule>) -> Result<TypeExpr> {
        let span = self.span(&pair);
        let mut members: Vec<TypeExpr> = Vec::new();
        let mut strings = Vec::new();
        for p in pair.into_inner() {
            if p.as_rule() == Rule::string {
                strings.push(self.plain_string(p)?);
            } else {
                members.push(self.type_primary(p)?);
            }
        }
        match (members.len(), strings.is_empty()) {
            (0, false) => Ok(TypeExpr {
                kind: TypeExprKind::Enum(strings),
                span,
            }),
            (1, true) => Ok(members.remove(0)),
            _ => Err(errors::mixed_enum(span)),
        }
    }

    fn type_primary(&self, pair: Pair<'_, Rule>) -> Result<TypeExpr> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::type_expr => self.type_expr(pair),
            Rule::type_name => Ok(TypeExpr {
                kind: TypeExprKind::Name(pair.as_str().trim().to_string()),
                span,
            }),
            Rule::type_qualified => {
                let mut inner = pair.into_inner();
                let alias = self.ident(next(&mut inner)?);
                let name = self.ident(next(&mut inner)?);
                Ok(TypeExpr {
                    kind: TypeExprKind::Qualified(alias, name),
                    span,
                })
            }
            Rule::type_refined => {
                let mut inner = pair.into_inner();
                let base = self.type_primary(next(&mut inner)?)?;
                let refinements = inner.map(|p| self.refinement(p)).collect::<Result<_>>()?;
                Ok(TypeExpr {
                    kind: TypeExprKind::Refined(Box::new(base), refinements),
                    span,
                })
            }
            Rule::type_generic => {
                let mut inner = pair.into_inner();
                let name = self.ident(next(&mut inner)?);
                let arg = self.type_expr(next(&mut inner)?)?;
                Ok(TypeExpr {
                    kind: TypeExprKind::Generic(name, Box::new(arg)),
                    span,
                })
            }
            Rule::type_record => {
                let mut fields = Vec::new();
                for f in pair.into_inner() {
                    let mut fi = f.into_inner();
                    let key_pair = next(&mut next(&mut fi)?.into_inner())?;
                    let name = match key_pair.as_rule() {
                        Rule::name => self.ident(key_pair),
                        _ => self.plain_string(key_pair)?,
                    };
                    let ty = self.type_expr(next(&mut fi)?)?;
                    let default = fi.next().map(|p| self.expr(p)).transpose()?;
                    fields.push(TypeField { name, ty, default });
                }
                Ok(TypeExpr {
                    kind: TypeExprKind::Record(fields),
                    span,
                })
            }
            _ => Err(self.unexpected(span)),
        }
    }

    fn refinement(&self, pair: Pair<'_, Rule>) -> Result<Refinement> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::refine_matches => {
                let mut inner = pair.into_inner();
                let _keyword = next(&mut inner)?;
                Ok(Refinement::Matches(self.plain_string(next(&mut inner)?)?))
            }
            Rule::refine_range => {
                // `..` is not a pair: a bound before it is the low one.
                let dots = pair.as_str().find("..").unwrap_or(0) + pair.as_span().start();
                let (mut low, mut high) = (None, None);
                for p in pair.into_inner() {
                    let at = p.as_span().start();
                    let bound = self.range_bound(p)?;
                    if at < dots {
                        low = Some(bound);
                    } else {
                        high = Some(bound);
                    }
                }
                Ok(Refinement::Range { low, high, span })
            }
            _ => Err(self.unexpected(span)),
        }
    }

    /// A number, perhaps negated, as an expression (`-1`, `512MiB`).
    fn range_bound(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let first = next(&mut inner)?;
        if first.as_rule() == Rule::neg {
            let number = self.number(next(&mut inner)?)?;
            return Ok(Expr {
                kind: ExprKind::Unary(UnaryOp::Neg, Box::new(number)),
                span,
            });
        }
        self.number(first)
    }

    pub(super) fn validation(&self, pair: Pair<'_, Rule>) -> Result<Validation> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let _keyword = next(&mut inner)?;
        let cond = self.expr(next(&mut inner)?)?;
        let message = self.expr(next(&mut inner)?)?;
        Ok(Validation {
            cond,
            message,
            span,
        })
    }
}
