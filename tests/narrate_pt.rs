//! Brazilian Portuguese narratives from the locale engine: complete and clean, in gender
//! agreement with the person, consistent with the persona's attributes and region,
//! deterministic, and packs with broken templates refused with a message naming what is wrong.

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};
use personadb::model::Encoding;
use personadb::narrate::{Language, PackNarrator};

fn personas(n: usize, seed: u64) -> RecordBatch {
    let model = personadb::locale::model("br").expect("br model");
    model.sample_batch(seed, 0, n, None, Encoding::Plain, 1).expect("batch")
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    let col = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let col = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8).expect("cast");
    col.as_string::<i32>().iter().map(|v| v.unwrap_or("").to_string()).collect()
}

fn fields() -> Vec<String> {
    personadb::locale::model("br").expect("model").persona.narrative.fields.clone()
}

async fn narrate(batch: &RecordBatch, seed: u64) -> RecordBatch {
    let narrator = personadb::narrate::template_for("pt_BR", None).expect("narrator");
    assert_eq!(narrator.name(), "template:br:pt");
    let out = narrator.narrate(batch, seed).await.expect("narrate");
    assert!(out.failures.is_empty());
    out.batch
}

/// Words that agree with the person: (masculine, feminine).
const AGREEING: [(&str, &str); 13] = [
    ("ele", "ela"),
    ("dele", "dela"),
    ("aposentado", "aposentada"),
    ("formado", "formada"),
    ("dedicado", "dedicada"),
    ("apaixonado", "apaixonada"),
    ("nascido", "nascida"),
    ("criado", "criada"),
    ("acostumado", "acostumada"),
    ("conhecido", "conhecida"),
    ("curioso", "curiosa"),
    ("um profissional", "uma profissional"),
    // Said of the person ("costuma ser o primeiro a chegar"), not of a thing ("a primeira viagem").
    ("ser o primeiro", "ser a primeira"),
];

/// The pronouns among [`AGREEING`] (checked as whole words anywhere).
const PRONOUNS: [&str; 2] = ["ele", "dele"];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '-').filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

#[tokio::test]
async fn portuguese_narratives_are_complete_clean_and_agree_in_gender() {
    let batch = personas(3_000, 21);
    let out = narrate(&batch, 5).await;
    assert_eq!(out.num_rows(), 3_000);
    let sex = strings(&batch, "sex");
    let first = strings(&batch, "first_name");
    let texts: Vec<(String, Vec<String>)> = fields().iter().map(|f| (f.clone(), strings(&out, f))).collect();
    for i in 0..out.num_rows() {
        for (f, column) in &texts {
            let t = &column[i];
            assert!(t.chars().count() > 40, "{f} of row {i} is too short: {t:?}");
            for bad in ["{", "}", "[", "]", "|", "  ", " .", " ,", "..", ",."] {
                assert!(!t.contains(bad), "{f} of row {i} contains {bad:?}: {t}");
            }
            assert!(t.chars().next().is_some_and(|c| c.is_uppercase()), "{f} of row {i} starts lower-case: {t}");
            assert!(t.ends_with(['.', '!']), "{f} of row {i} does not end a sentence: {t}");
            let w = words(t);
            let female = sex[i] == "Feminino";
            for (m, fem) in AGREEING {
                let wrong = if female { m } else { fem };
                // Pronouns stand alone; adjectives and participles are checked where they
                // describe the person (`é dedicado`, `está aposentado`, `sempre foi curioso`).
                let hit = if PRONOUNS.contains(&m) {
                    w.iter().any(|x| x == wrong)
                } else if wrong.contains(' ') {
                    t.to_lowercase().contains(&format!(" {wrong} "))
                } else {
                    let lower = t.to_lowercase();
                    ["é ", "está ", "foi ", "é muito ", "anda ", "vive "].iter().any(|verb| {
                        lower.contains(&format!("{verb}{wrong} ")) || lower.contains(&format!("{verb}{wrong}."))
                    })
                };
                assert!(!hit, "{f} of row {i} ({}) says {wrong:?}: {t}", sex[i]);
            }
        }
        assert!(texts[0].1[i].contains(&first[i]), "the persona names {}: {}", first[i], texts[0].1[i]);
    }
    for list in ["skills_and_expertise_list", "hobbies_and_interests_list"] {
        let column = out.column_by_name(list).expect("list").as_list::<i32>().clone();
        for i in 0..column.len() {
            let items = column.value(i);
            let items = items.as_string::<i32>();
            let mut seen: Vec<&str> = items.iter().map(|v| v.unwrap_or("")).collect();
            assert_eq!(seen.len(), 3, "{list} of row {i}");
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), 3, "{list} of row {i} repeats an item");
        }
    }
}

#[tokio::test]
async fn narratives_fit_the_persona() {
    let batch = personas(3_000, 22);
    let out = narrate(&batch, 1).await;
    let (age, state, occupation, municipality) = (
        strings(&batch, "age"),
        strings(&batch, "state"),
        strings(&batch, "occupation"),
        strings(&batch, "municipality"),
    );
    let education = strings(&batch, "education_level");
    let religion = strings(&batch, "religion");
    let all: Vec<Vec<String>> = fields().iter().map(|f| strings(&out, f)).collect();
    let professional = strings(&out, "professional_persona");
    let states = personadb::locale::pack("br").expect("pack").file("narrative/pt/states.csv").expect("states");
    let mut reader = csv::Reader::from_reader(states.as_bytes());
    let mut local: HashMap<String, Vec<String>> = HashMap::new();
    for r in reader.records() {
        let r = r.expect("row");
        let mut words: Vec<String> = Vec::new();
        for col in [0, 3, 4, 5, 6, 7, 8, 9, 10] {
            words.extend(r[col].split(';').map(|s| {
                s.trim()
                    .trim_start_matches("o ")
                    .trim_start_matches("a ")
                    .trim_start_matches("os ")
                    .trim_start_matches("as ")
                    .to_string()
            }));
        }
        local.insert(r[0].to_string(), words);
    }
    assert_eq!(local.len(), 27, "a lexicon row for every state");
    let mut with_local = 0;
    for i in 0..out.num_rows() {
        let text = all.iter().map(|f| f[i].as_str()).collect::<Vec<_>>().join(" ");
        let lower = text.to_lowercase();
        let age: i64 = age[i].parse().expect("age");
        // Place: the persona's municipality is named, and regional references are its state's.
        assert!(
            text.contains(&municipality[i]) || text.contains("capital"),
            "row {i} never names {}: {text}",
            municipality[i]
        );
        if local[&state[i]].iter().filter(|w| w.len() > 3).any(|w| text.contains(w.as_str())) {
            with_local += 1;
        }
        // Life stage.
        if age < 50 {
            let retired =
                words(&text).into_iter().any(|w| w.starts_with("aposentad") && !w.starts_with("aposentadoria"));
            assert!(!retired, "row {i} is {age} and retired: {text}");
        }
        // No degree without one; a course in progress only for those with some college.
        if education[i] != "Superior completo" {
            for degree in ["se formou", "formação superior", "diploma", "uma graduação", "fazer pós-graduação"] {
                assert!(!lower.contains(degree), "row {i} ({}) says {degree:?}: {text}", education[i]);
            }
        }
        if education[i] != "Médio completo e superior incompleto" {
            assert!(!lower.contains("faz faculdade"), "row {i} ({}) is at college: {text}", education[i]);
        }
        // The very old neither work out hard nor plan careers.
        if age >= 80 {
            for young in ["academia do bairro", "futebol society", "currículo", "estágio", "concurso"] {
                assert!(!lower.contains(young), "row {i} is {age}: {young:?} in {text}");
            }
        }
        // Grandchildren only from middle age on (the person's own grandparents, "a casa dos
        // avós", are anyone's).
        if age < 45 {
            // The town's own name is no kin word (Coelho Neto, in Maranhão).
            let unnamed = lower.replace(&municipality[i].to_lowercase(), "");
            for elder in [" netos", " neto,", " neta,", "bisneto", "é avô", "é avó", "virou avô", "virou avó"] {
                assert!(!unnamed.contains(elder), "row {i} is {age} with {elder:?}: {text}");
            }
        }
        // Work only for the occupied.
        if occupation[i] == "Sem ocupação" {
            assert!(!professional[i].contains("trabalha como"), "row {i} is not occupied: {}", professional[i]);
        }
        if religion[i] == "Sem religião" {
            for faith in ["missa", "cultos", "terreiro", "centro espírita", "paróquia"] {
                assert!(
                    !lower.contains(faith),
                    "row {i} has no religion but {faith:?}: {}",
                    &lower[lower.find(faith).unwrap_or(0).saturating_sub(200)..]
                );
            }
        }
    }
    assert!(with_local > 2_900, "regional references of the persona's own state ({with_local} of 3000)");
}

#[tokio::test]
async fn same_seed_same_text_whatever_the_batch() {
    let batch = personas(600, 23);
    let whole = narrate(&batch, 9).await;
    let part = narrate(&batch.slice(100, 200), 9).await;
    let other = narrate(&batch, 10).await;
    for f in fields() {
        let (a, b, c) = (strings(&whole, &f), strings(&part, &f), strings(&other, &f));
        assert_eq!(&a[100..300], &b[..], "{f} does not depend on the batch");
        assert!(a.iter().zip(&c).filter(|(x, y)| x != y).count() > 500, "{f} varies with the seed");
    }
    let distinct: std::collections::HashSet<String> = strings(&whole, "persona").into_iter().collect();
    assert!(distinct.len() > 590, "personas are told apart");
}

/// Loads the Brazilian narrator with one file replaced.
fn load_with(file: &str, text: &str) -> String {
    let pack = personadb::locale::pack("br").expect("pack");
    let model = personadb::locale::model("br").expect("model");
    let columns: Vec<String> = model.columns.iter().map(|c| c.name().to_string()).collect();
    let read = |name: &str| -> personadb::Result<String> {
        if name == file {
            Ok(text.to_string())
        } else {
            pack.file(name).map(str::to_string)
        }
    };
    match PackNarrator::load("br", Language::Portuguese, &model.persona, &columns, &read) {
        Ok(_) => "loaded".to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn broken_templates_are_refused_with_what_is_wrong() {
    let pack = personadb::locale::pack("br").expect("pack");
    let templates = pack.file("narrative/pt/templates.json").expect("templates");
    let lexicon = pack.file("narrative/pt/lexicon.json").expect("lexicon");
    assert_eq!(load_with("narrative/pt/templates.json", templates), "loaded");
    // An unknown slot, named with the file.
    let mut t: serde_json::Value = serde_json::from_str(templates).expect("json");
    t["fields"]["persona"][0] = serde_json::json!(["{first_name} calça {shoe_size}."]);
    let e = load_with("narrative/pt/templates.json", &t.to_string());
    assert!(e.contains("narrative/pt/templates.json") && e.contains("unknown slot `{shoe_size}`"), "{e}");
    // A field without templates.
    let mut t: serde_json::Value = serde_json::from_str(templates).expect("json");
    t["fields"].as_object_mut().expect("fields").remove("arts_persona");
    let e = load_with("narrative/pt/templates.json", &t.to_string());
    assert!(e.contains("no templates for the field `arts_persona`"), "{e}");
    // Unbalanced syntax and unknown operators.
    for (bad, message) in [
        ("{first_name mora aqui.", "unclosed `{`"),
        ("[Ele|Ela mora aqui.", "unclosed `[`"),
        ("[Ele] mora aqui.", "2 or 3 forms"),
        ("{the:state} é bonito.", "unknown operator `the:`"),
    ] {
        let mut t: serde_json::Value = serde_json::from_str(templates).expect("json");
        t["fields"]["persona"][0] = serde_json::json!([bad]);
        let e = load_with("narrative/pt/templates.json", &t.to_string());
        assert!(e.contains(message), "{bad}: {e}");
    }
    // A slot that refers to itself, and a keyed slot without a default.
    let mut l: serde_json::Value = serde_json::from_str(lexicon).expect("json");
    l["slots"]["loop_a"] = serde_json::json!(["{loop_b}"]);
    l["slots"]["loop_b"] = serde_json::json!(["x {loop_a}"]);
    let e = load_with("narrative/pt/lexicon.json", &l.to_string());
    assert!(e.contains("refers back to itself") && e.contains("loop_a"), "{e}");
    let mut l: serde_json::Value = serde_json::from_str(lexicon).expect("json");
    l["slots"]["by_state"] = serde_json::json!({"by": "state", "values": {"Bahia": ["x"]}});
    let e = load_with("narrative/pt/lexicon.json", &l.to_string());
    assert!(e.contains("slot `by_state` is keyed by `state` and needs a `default`"), "{e}");
    let mut l: serde_json::Value = serde_json::from_str(lexicon).expect("json");
    l["slots"]["by_shoe"] = serde_json::json!({"by": "shoe_size", "values": {}, "default": ["x"]});
    let e = load_with("narrative/pt/lexicon.json", &l.to_string());
    assert!(e.contains("`by` names `shoe_size`, which is neither a column nor a slot"), "{e}");
    let e = load_with("narrative/pt/lexicon.json", "{\"slots\": 3}");
    assert!(e.contains("expected an object with a `slots` object"), "{e}");
}
