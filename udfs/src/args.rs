//! Reading literal arguments of table functions at plan time, with errors that name the
//! function and the argument.

use datafusion::common::{plan_err, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::Expr;

/// A constant value of an argument expression, folding unary minus and casts of literals.
pub fn literal(expr: &Expr) -> Option<ScalarValue> {
    match expr {
        Expr::Literal(v, _) => Some(v.clone()),
        Expr::Negative(inner) => match literal(inner)? {
            ScalarValue::Int64(Some(v)) => Some(ScalarValue::Int64(Some(v.checked_neg()?))),
            ScalarValue::Float64(Some(v)) => Some(ScalarValue::Float64(Some(-v))),
            other => other.arithmetic_negate().ok(),
        },
        Expr::Cast(c) => literal(&c.expr)?.cast_to(c.field.data_type()).ok(),
        Expr::TryCast(c) => literal(&c.expr)?.cast_to(c.field.data_type()).ok(),
        _ => None,
    }
}

/// Reads argument `index` named `name` of `function` as a non-negative integer.
pub fn u64_arg(function: &str, args: &[Expr], index: usize, name: &str) -> Result<u64> {
    let Some(expr) = args.get(index) else {
        return plan_err!("{function}: missing argument {} `{name}`", index + 1);
    };
    let value = literal(expr);
    let as_i128: Option<i128> = match &value {
        Some(ScalarValue::Int8(Some(v))) => Some(*v as i128),
        Some(ScalarValue::Int16(Some(v))) => Some(*v as i128),
        Some(ScalarValue::Int32(Some(v))) => Some(*v as i128),
        Some(ScalarValue::Int64(Some(v))) => Some(*v as i128),
        Some(ScalarValue::UInt8(Some(v))) => Some(*v as i128),
        Some(ScalarValue::UInt16(Some(v))) => Some(*v as i128),
        Some(ScalarValue::UInt32(Some(v))) => Some(*v as i128),
        Some(ScalarValue::UInt64(Some(v))) => Some(*v as i128),
        _ => None,
    };
    match as_i128 {
        Some(v) if v >= 0 && v <= u64::MAX as i128 => Ok(v as u64),
        Some(v) => plan_err!("{function}: argument `{name}` must be a non-negative integer, got {v}"),
        None => plan_err!("{function}: argument `{name}` must be an integer literal, got {expr}"),
    }
}

/// Reads argument `index` named `name` of `function` as a finite number (integer or decimal).
pub fn f64_arg(function: &str, args: &[Expr], index: usize, name: &str) -> Result<f64> {
    let Some(expr) = args.get(index) else {
        return plan_err!("{function}: missing argument {} `{name}`", index + 1);
    };
    let value = literal(expr).and_then(|v| v.cast_to(&datafusion::arrow::datatypes::DataType::Float64).ok());
    match value {
        Some(ScalarValue::Float64(Some(v))) if v.is_finite() => Ok(v),
        _ => plan_err!("{function}: argument `{name}` must be a number, got {expr}"),
    }
}

/// Reads argument `index` named `name` of `function` as a string literal.
pub fn string_arg(function: &str, args: &[Expr], index: usize, name: &str) -> Result<String> {
    let Some(expr) = args.get(index) else {
        return plan_err!("{function}: missing argument {} `{name}`", index + 1);
    };
    match literal(expr) {
        Some(ScalarValue::Utf8(Some(s)))
        | Some(ScalarValue::LargeUtf8(Some(s)))
        | Some(ScalarValue::Utf8View(Some(s))) => Ok(s),
        _ => plan_err!("{function}: argument `{name}` must be a string literal, got {expr}"),
    }
}

/// Fails when more than `max` arguments were given.
pub fn check_arity(function: &str, args: &[Expr], min: usize, max: usize, syntax: &str) -> Result<()> {
    if args.len() < min || args.len() > max {
        return plan_err!(
            "{function}: expected {} arguments, got {}; usage: {syntax}",
            if min == max { min.to_string() } else { format!("{min} to {max}") },
            args.len()
        );
    }
    Ok(())
}
