//! `narrative_violations(column, ...)`: the consistency checker on each row — what its
//! narratives say that contradicts the row's own attributes or the locale's rules. The same
//! checker as `personadb report --narratives`.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::backends::{NarrationSettings, NarrativeChecker};
use crate::doc::FunctionDoc;

/// The SQL name.
pub const NAME: &str = "narrative_violations";

/// The function's documentation.
pub fn doc() -> FunctionDoc {
    FunctionDoc {
        name: NAME,
        kind: "scalar function",
        description: "The narrative consistency checker on each row: a list of what the row's narratives \
            get wrong, each written `rule (field): evidence` — a stated age that is not the row's age, \
            pronouns of the other sex, work sentences for someone not working, a team, festival or \
            place outside the person's own, a sentence written twice, unfilled template syntax, raw \
            category labels, phrases that contradict each other — empty when nothing is found. Pass \
            the persona columns and the narrative fields to check, matched by name (`uuid`, `sex`, \
            `age`, `employment_status`, ..., `persona`, `professional_persona`, ...); rules that need \
            a column not passed are skipped. The rules are the locale pack's \
            (`narrative/<lang>/rules.json`); each row is checked in its own locale, chosen as \
            `generate_narrative` chooses it (`locale` column, `SET personadb.locale`, `country`), and \
            `SET personadb.language` picks the language. Text from any narrator can be checked, \
            imported text included. `personadb report --narratives` runs the same checker over a \
            whole table.",
        syntax: "narrative_violations(column [, column ...])",
        arguments: &[("column", "Persona columns and narrative fields, by name (at least one).")],
        example: "SELECT uuid, narrative_violations(sex, age, employment_status, persona, professional_persona) \
                  AS problems FROM personas WHERE cardinality(narrative_violations(sex, age, employment_status, \
                  persona, professional_persona)) > 0 LIMIT 5;",
    }
}

/// The function, over a [`NarrativeChecker`] backend.
#[derive(Debug)]
pub struct NarrativeViolations {
    checker: Arc<dyn NarrativeChecker>,
    signature: Signature,
}

impl NarrativeViolations {
    pub fn new(checker: Arc<dyn NarrativeChecker>) -> Self {
        NarrativeViolations { checker, signature: Signature::variadic_any(Volatility::Immutable) }
    }

    fn output() -> DataType {
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
    }
}

impl PartialEq for NarrativeViolations {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.checker, &other.checker)
    }
}

impl Eq for NarrativeViolations {}

impl std::hash::Hash for NarrativeViolations {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        NAME.hash(state);
    }
}

/// A column's name without its table qualifier (`t.age` is `age`).
fn unqualified(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(_, n)| n)
}

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

impl ScalarUDFImpl for NarrativeViolations {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(Self::output())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if args.arg_fields.is_empty() {
            return plan_err!(
                "{NAME}: expected {NAME}(column [, column ...]) with the persona columns and narrative fields"
            );
        }
        let known = self.checker.columns();
        let mut any_known = false;
        for (i, (argument, constant)) in args.arg_fields.iter().zip(args.scalar_arguments.iter()).enumerate() {
            let Some(column) = known.iter().find(|c| c.name() == unqualified(argument.name())) else {
                if constant.is_some_and(|v| !v.is_null()) {
                    return plan_err!(
                        "{NAME}: argument {} is a constant, not a column: columns are matched by name (sex, age, persona, ...)",
                        i + 1
                    );
                }
                continue;
            };
            any_known = true;
            let given = argument.data_type();
            let fits = match column.data_type() {
                t if t.is_integer() => given.is_integer() || given.is_null(),
                DataType::List(_) | DataType::LargeList(_) => {
                    matches!(given, DataType::List(_) | DataType::LargeList(_) | DataType::Null)
                }
                _ => is_text(given) || given.is_null(),
            };
            if !fits {
                return plan_err!(
                    "{NAME}: column `{}` must be of type {}, got {given}",
                    argument.name(),
                    column.data_type()
                );
            }
        }
        if !any_known {
            return plan_err!(
                "{NAME}: none of the arguments is a persona column or narrative field (pass columns such as sex, age, persona)"
            );
        }
        Ok(Arc::new(Field::new(NAME, Self::output(), true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (value, f) in args.args.iter().zip(&args.arg_fields) {
            let name = unqualified(f.name());
            if fields.iter().any(|g: &Field| g.name() == name) {
                continue;
            }
            let array = value.to_array(rows)?;
            fields.push(Field::new(name, array.data_type().clone(), true));
            columns.push(array);
        }
        let batch = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        let settings = match args.config_options.extensions.get::<crate::options::PersonadbOptions>() {
            Some(o) => NarrationSettings {
                narrator: o.narrator.clone(),
                locale: o.locale.clone(),
                language: o.language.clone(),
            },
            None => NarrationSettings::default(),
        };
        let out = self.checker.check(batch, &settings)?;
        if out.len() != rows {
            return exec_err!("{NAME}: the checker returned {} rows for {rows}", out.len());
        }
        Ok(ColumnarValue::Array(out))
    }
}
