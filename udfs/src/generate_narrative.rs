//! `generate_narrative(field, seed, column, ...)`: an async scalar function that writes one
//! narrative field about each row's persona, from the persona columns passed after the seed
//! (matched by name: `first_name`, `age`, `occupation`, ...; pass as many as you have). The
//! engine's narrator does the writing — the offline template narrator unless configured
//! otherwise — in batches.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::{exec_err, plan_err, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::async_udf::AsyncScalarUDFImpl;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::backends::PersonaNarrator;
use crate::doc::FunctionDoc;

/// The SQL name.
pub const NAME: &str = "generate_narrative";

/// The function's documentation.
pub fn doc() -> FunctionDoc {
    FunctionDoc {
        name: NAME,
        kind: "async scalar function",
        description: "Writes one narrative field about each row's persona. The persona columns \
            follow the seed and are matched by name (those of `sample_persona` for the row's locale: \
            `uuid`, `first_name`, `sex`, `age`, `occupation`, `state`, ...); columns not passed are \
            treated as unknown. Each row is narrated in its own locale's language: the locale is the \
            row's `locale` column if passed, else `SET personadb.locale = 'br'`, else the one whose \
            `country` matches the row's (`Brasil` is br), else us; `SET personadb.language` picks \
            among a locale's languages. The same persona and seed give the same text; a persona's \
            narrative does not depend on the other rows. Prose fields return a string, the `_list` \
            fields a list of strings; a field the row's locale lacks gives NULL. Rows are narrated in \
            batches by the session's narrator: the offline template narrator by default, or an LLM \
            after `SET personadb.narrator = 'llm'` (the server from PERSONADB_LLM_* or \
            PERSONADB_LLM_CONFIG; requests share the process-wide concurrency limit with `generate`; \
            a persona whose narration fails gets NULL).",
        syntax: "generate_narrative(field, seed, column [, column ...])",
        arguments: &[
            (
                "field",
                "The narrative field, a string literal: `'persona'`, `'professional_persona'`, \
                 `'sports_persona'`, `'arts_persona'`, `'travel_persona'`, `'culinary_persona'`, \
                 `'cultural_background'`, `'skills_and_expertise'`, `'skills_and_expertise_list'`, \
                 `'hobbies_and_interests'`, `'hobbies_and_interests_list'`, `'career_goals_and_ambitions'`.",
            ),
            ("seed", "Random seed, a non-negative integer literal."),
            ("column", "Persona columns, by name (at least one)."),
        ],
        example: "SELECT first_name, generate_narrative('persona', 7, uuid, first_name, last_name, sex, age, \
                  city, state, occupation, employment_status) AS persona FROM sample_persona(3, 'us', 1);",
    }
}

/// The function, over a [`PersonaNarrator`] backend.
#[derive(Debug)]
pub struct GenerateNarrative {
    narrator: Arc<dyn PersonaNarrator>,
    signature: Signature,
}

impl GenerateNarrative {
    pub fn new(narrator: Arc<dyn PersonaNarrator>) -> Self {
        GenerateNarrative { narrator, signature: Signature::variadic_any(Volatility::Volatile) }
    }

    /// Persona arguments are matched to columns by name, so a constant (`'x'`, `1`, `NULL`,
    /// or a subquery's constant that the optimizer put in its place) has none and is refused,
    /// and an argument named like a persona column must be of that column's kind: text
    /// narrated under a wrong name or type would be nonsense. (Other computed arguments keep
    /// the name the planner gives them and are treated as unknown columns.)
    fn check_columns(&self, arguments: &[FieldRef], constants: &[bool]) -> Result<()> {
        let known = self.narrator.persona_columns();
        if known.is_empty() {
            return Ok(());
        }
        for (i, argument) in arguments.iter().enumerate() {
            let position = i + 3;
            let column = known.iter().find(|c| c.name() == argument.name());
            if constants.get(i).copied().unwrap_or(false) && column.is_none() {
                return plan_err!(
                    "{NAME}: argument {position} is a constant (`{}`), not a persona column: persona columns are \
                     matched by name (uuid, first_name, sex, age, occupation, ...)",
                    shorten(argument.name())
                );
            }
            let Some(column) = column else { continue };
            let given = argument.data_type();
            let fits = match column.data_type() {
                t if t.is_integer() => given.is_integer() || given.is_null(),
                _ => is_text(given) || given.is_null(),
            };
            if !fits {
                let kind = if column.data_type().is_integer() { "an integer" } else { "text" };
                return plan_err!("{NAME}: column `{}` must be {kind}, got {given}", argument.name());
            }
        }
        Ok(())
    }

    fn field_names(&self) -> String {
        self.narrator.fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>().join(", ")
    }
}

impl PartialEq for GenerateNarrative {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.narrator, &other.narrator)
    }
}

impl Eq for GenerateNarrative {}

impl std::hash::Hash for GenerateNarrative {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        NAME.hash(state);
    }
}

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

/// At most 60 characters of a name (an expression's name can be the whole expression).
fn shorten(name: &str) -> String {
    match name.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_string(),
    }
}

/// The oldest age a persona column may give (older is a mistake, not a person).
const MAX_AGE: i64 = 130;

fn literal_string(value: Option<&ScalarValue>) -> Option<String> {
    match value {
        Some(ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s))) => {
            Some(s.clone())
        }
        _ => None,
    }
}

fn literal_seed(value: Option<&ScalarValue>) -> Option<u64> {
    match value {
        Some(ScalarValue::Int64(Some(v))) if *v >= 0 => Some(*v as u64),
        Some(ScalarValue::Int32(Some(v))) if *v >= 0 => Some(*v as u64),
        Some(ScalarValue::UInt64(Some(v))) => Some(*v),
        Some(ScalarValue::UInt32(Some(v))) => Some(*v as u64),
        _ => None,
    }
}

impl ScalarUDFImpl for GenerateNarrative {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let usage = "generate_narrative(field, seed, column [, column ...])";
        if args.arg_fields.len() < 3 {
            return plan_err!("{NAME}: expected {usage}, got {} arguments", args.arg_fields.len());
        }
        let Some(field) = literal_string(args.scalar_arguments.first().copied().flatten()) else {
            return plan_err!("{NAME}: the field must be a string literal, one of: {}", self.field_names());
        };
        if literal_seed(args.scalar_arguments.get(1).copied().flatten()).is_none() {
            return plan_err!("{NAME}: the seed must be a non-negative integer literal");
        }
        let Some(output) = self.narrator.fields().into_iter().find(|f| f.name() == &field) else {
            return plan_err!("{NAME}: unknown field '{field}' (fields: {})", self.field_names());
        };
        // A NULL constant is an unknown value, whatever its name: nothing wrong is narrated from it.
        let constants: Vec<bool> =
            args.scalar_arguments.iter().skip(2).map(|a| a.is_some_and(|v| !v.is_null())).collect();
        self.check_columns(&args.arg_fields[2..], &constants)?;
        Ok(Arc::new(Field::new(NAME, output.data_type().clone(), true)))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("{NAME} can only be invoked asynchronously")
    }
}

#[async_trait::async_trait]
impl AsyncScalarUDFImpl for GenerateNarrative {
    fn ideal_batch_size(&self) -> Option<usize> {
        Some(self.narrator.batch_size())
    }

    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let (field, seed) = match (args.args.first(), args.args.get(1)) {
            (Some(ColumnarValue::Scalar(f)), Some(ColumnarValue::Scalar(s))) => {
                (literal_string(Some(f)), literal_seed(Some(s)))
            }
            _ => (None, None),
        };
        let (Some(field), Some(seed)) = (field, seed) else {
            return exec_err!("{NAME}: the field and the seed must be literals");
        };
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (value, f) in args.args.iter().zip(&args.arg_fields).skip(2) {
            if fields.iter().any(|g: &Field| g.name() == f.name()) {
                continue;
            }
            let array = value.to_array(rows)?;
            if f.name() == "age" && array.data_type().is_integer() {
                let ages = arrow::compute::cast(&array, &DataType::Int64)?;
                let ages = ages.as_any().downcast_ref::<arrow::array::Int64Array>();
                if let Some(bad) = ages.and_then(|a| a.iter().flatten().find(|v| !(0..=MAX_AGE).contains(v))) {
                    return exec_err!("{NAME}: age {bad} is out of range (0 to {MAX_AGE})");
                }
            }
            fields.push(Field::new(f.name(), array.data_type().clone(), true));
            columns.push(array);
        }
        let personas = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        let settings = match args.config_options.extensions.get::<crate::options::PersonadbOptions>() {
            Some(o) => crate::backends::NarrationSettings {
                narrator: o.narrator.clone(),
                locale: o.locale.clone(),
                language: o.language.clone(),
            },
            None => crate::backends::NarrationSettings { narrator: "template".into(), ..Default::default() },
        };
        let column = self.narrator.narrate(personas, seed, &field, &settings).await?;
        if column.len() != rows {
            return exec_err!("{NAME}: the narrator returned {} rows for {rows}", column.len());
        }
        Ok(ColumnarValue::Array(column))
    }
}
