//! Loading a locale pack's narrator: its `lexicon.json` and `templates.json` read, compiled
//! into one [`PackNarrator`] and checked in full before any persona is narrated.

use std::collections::HashMap;

use serde_json::Value;

use super::compile::{check_cycles, compile_slot, csv_table, entries, flatten, join_keys, min_options, Names, Origin};
use super::{Arena, PackNarrator, ReadFile, MAX_PICKS};
use crate::error::{Error, Result};
use crate::model::schema::PersonaSchema;
use crate::narrate::Language;

impl PackNarrator {
    /// The narrator of a locale's `language` (its folder `narrative/<code>/`), checked in full.
    pub fn load(
        locale: &str,
        language: Language,
        schema: &PersonaSchema,
        columns: &[String],
        read: ReadFile,
    ) -> Result<Self> {
        let dir = format!("narrative/{}", language.code());
        let lexicon_file = format!("{dir}/lexicon.json");
        let templates_file = format!("{dir}/templates.json");
        let lex_origin = Origin { locale, file: &lexicon_file };
        let lexicon: Value = serde_json::from_str(&read(&lexicon_file)?).map_err(|e| lex_origin.bad(e.to_string()))?;
        let own = lexicon
            .get("slots")
            .and_then(Value::as_object)
            .ok_or_else(|| lex_origin.bad("expected an object with a `slots` object"))?;
        // Slot files shared by the pack's languages (`"include"`): their slots are the
        // person's decisions, drawn the same whatever the language (see `shared`).
        let mut sources: Vec<(String, serde_json::Map<String, Value>)> = Vec::new();
        let includes = match lexicon.get("include") {
            None => Vec::new(),
            Some(Value::Array(files)) => files
                .iter()
                .map(|f| {
                    f.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| lex_origin.bad("`include` must be a list of file names"))
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(lex_origin.bad("`include` must be a list of file names")),
        };
        for file in &includes {
            let path = crate::narrate::resolve_pack_path(&dir, file);
            let origin = Origin { locale, file: &path };
            let value: Value = serde_json::from_str(&read(&path)?).map_err(|e| origin.bad(e.to_string()))?;
            let slots = value
                .get("slots")
                .and_then(Value::as_object)
                .ok_or_else(|| origin.bad("expected an object with a `slots` object"))?
                .clone();
            sources.push((path, slots));
        }
        let mut slot_names: Vec<String> = Vec::new();
        let mut shared = Vec::new();
        let mut defs: Vec<(&Value, usize)> = Vec::new();
        for (i, (path, slots)) in sources.iter().enumerate() {
            for (name, def) in slots {
                if own.contains_key(name) || slot_names.contains(name) {
                    return Err(lex_origin.bad(format!("slot `{name}` is defined both here and in {path}")));
                }
                slot_names.push(name.clone());
                shared.push(true);
                defs.push((def, i + 1));
            }
        }
        for (name, def) in own {
            slot_names.push(name.clone());
            shared.push(false);
            defs.push((def, 0));
        }
        let index: HashMap<String, usize> = slot_names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        let mut names = Names {
            language,
            slots: &index,
            known_columns: columns,
            used_columns: Vec::new(),
            arena: Arena::default(),
        };
        let mut tables: HashMap<String, csv_table::Table> = HashMap::new();
        let mut slots = Vec::with_capacity(slot_names.len());
        for (name, (def, source)) in slot_names.iter().zip(&defs) {
            let (file, slot_dir) = match source {
                0 => (lexicon_file.clone(), dir.clone()),
                i => {
                    let path = &sources[i - 1].0;
                    (path.clone(), path.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default())
                }
            };
            let origin = Origin { locale, file: &file };
            slots.push(compile_slot(name, def, &mut names, &origin, &slot_dir, read, &mut tables, locale)?);
        }
        // Templates.
        let t_origin = Origin { locale, file: &templates_file };
        let templates: Value =
            serde_json::from_str(&read(&templates_file)?).map_err(|e| t_origin.bad(e.to_string()))?;
        let field_defs = templates
            .get("fields")
            .and_then(Value::as_object)
            .ok_or_else(|| t_origin.bad("expected an object with a `fields` object"))?;
        let mut fields = Vec::new();
        for field in &schema.narrative.fields {
            let positions = field_defs
                .get(field)
                .and_then(Value::as_array)
                .ok_or_else(|| t_origin.bad(format!("no templates for the field `{field}` (a list of positions)")))?;
            if positions.is_empty() {
                return Err(t_origin.bad(format!("`{field}` has no positions")));
            }
            let mut compiled = Vec::new();
            for variants in positions {
                let what = format!("`{field}`: each position is a non-empty list of template strings");
                compiled.push(entries(variants, &mut names, &t_origin, &what)?);
            }
            fields.push((field.clone(), compiled));
        }
        if let Some(extra) = field_defs.keys().find(|k| !schema.narrative.fields.contains(k)) {
            return Err(t_origin.bad(format!(
                "templates for `{extra}`, which is not a narrative field of the pack (fields: {})",
                schema.narrative.fields.join(", ")
            )));
        }
        let list_defs = templates.get("lists").and_then(Value::as_object);
        let mut lists = Vec::new();
        for field in &schema.narrative.lists {
            let def = list_defs
                .and_then(|l| l.get(field))
                .ok_or_else(|| t_origin.bad(format!("no `lists` entry for the list field `{field}`")))?;
            let slot = def.get("slot").and_then(Value::as_str).unwrap_or_default();
            let count = def.get("count").and_then(Value::as_u64).unwrap_or(0) as usize;
            let Some(&i) = index.get(slot) else {
                return Err(t_origin.bad(format!("`lists.{field}`: `slot` must name a lexicon slot, got `{slot}`")));
            };
            if !(1..=MAX_PICKS).contains(&count) {
                return Err(t_origin.bad(format!("`lists.{field}`: `count` must be 1 to {MAX_PICKS}")));
            }
            lists.push((field.clone(), i, count));
        }
        let gender = match &schema.narrative.gender {
            Some(g) => {
                let i = names.column(&g.column).ok_or_else(|| Error::InvalidLocalePack {
                    locale: locale.into(),
                    reason: format!("no gender column `{}`", g.column),
                })?;
                Some((g.clone(), i))
            }
            None => None,
        };
        check_cycles(&slot_names, &slots, &shared, &names.arena, &lex_origin)?;
        let (key_ids, column_ids) = join_keys(&mut slots, names.used_columns.len());
        for (name, slot) in slot_names.iter().zip(&slots) {
            let min = min_options(slot);
            if min == 0 {
                return Err(lex_origin.bad(format!("slot `{name}` has an empty list of entries")));
            }
        }
        for (field, slot, count) in &lists {
            if min_options(&slots[*slot]) < *count {
                return Err(t_origin.bad(format!(
                    "`lists.{field}` takes {count} distinct picks of `{}`, which has fewer entries for some personas",
                    slot_names[*slot]
                )));
            }
        }
        let flat = flatten(&slots, &slot_names, &shared, &key_ids, &names.arena);
        let output = crate::narrate::narrative_schema_for(schema);
        Ok(PackNarrator {
            locale: locale.to_string(),
            language,
            lists,
            flat,
            arena: names.arena,
            columns: names.used_columns,
            slot_names,
            key_ids,
            column_ids,
            field_bytes: fields.iter().map(|_| std::sync::atomic::AtomicUsize::new(300)).collect(),
            fields,
            gender,
            output,
        })
    }

    /// The template narrator of an embedded locale pack in one of its languages (`None`: the
    /// pack's first).
    pub fn for_locale(locale: &str, language: Option<&str>) -> Result<Self> {
        let pack = crate::locale::pack(locale)?;
        let model = crate::locale::model(locale)?;
        let spec = model.persona.language(pack.locale, language)?;
        let lang = Language::from_code(&spec.code)?;
        let columns: Vec<String> = model.columns.iter().map(|c| c.name().to_string()).collect();
        let read = |name: &str| pack.file(name).map(str::to_string);
        PackNarrator::load(pack.locale, lang, &model.persona, &columns, &read)
    }
}
