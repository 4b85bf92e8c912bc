//! The template narrator: offline, deterministic per seed, fast. Every narrative is put
//! together from sentence templates with slots (`{first_name}`, `{skill1}`, `{team}`, ...)
//! filled from the persona's attributes and from lexicons kept as data files in the locale pack
//! (`datasets/<locale>/narrative/`: templates.json, lexicon.json, occupations.json, states.csv,
//! plus the derived occupation_titles.csv). Editing those files changes the narratives without
//! touching code.
//!
//! Consistency: the same picks (traits, skills, hobbies, team, dishes, ...) are used across all
//! fields of one persona, and every slot comes from the persona's own attributes: name, age and
//! life stage, occupation (its B24010 group's lexicon), education and field, state (teams,
//! dishes, places), marital status, race/ethnicity and Big Five scores.
//! Determinism: one random stream per persona, keyed by the seed and the persona's uuid (or its
//! row, when a table has no uuid), so a persona's narratives do not depend on its batch.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, ListBuilder, RecordBatch, StringBuilder};
use serde::Deserialize;

use super::language::{capitalise_at, indefinite_article as article};
use super::{int_at, narrative_schema, text_at, Narrated, Narrator, PersonaColumns, PersonaRng as Rng, TEXT_FIELDS};
use crate::error::{Error, Result};
use crate::locale;

/// One template: literal text and slots.
#[derive(Debug, Clone)]
struct Template(Vec<Part>);

#[derive(Debug, Clone)]
enum Part {
    Text(Box<str>),
    Slot(Slot),
}

macro_rules! slots {
    ($($name:ident = $text:literal),* $(,)?) => {
        /// A slot of a template, filled per persona.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Slot { $($name),* }
        impl Slot {
            fn parse(name: &str) -> Option<Slot> {
                match name { $($text => Some(Slot::$name),)* _ => None }
            }
            const NAMES: &'static [&'static str] = &[$($text),*];
        }
    };
}

slots! {
    FirstName = "first_name", LastName = "last_name", FullName = "full_name", Age = "age",
    ManWoman = "man_woman", City = "city", StateName = "state_name", RegionPhrase = "region_phrase",
    He = "he", Him = "him", His = "his", HeCap = "He", HisCap = "His",
    WorkClause = "work_clause", AOccupation = "a_occupation", Occupation = "occupation", Workplace = "workplace",
    Task = "task", Skill1 = "skill1", Skill2 = "skill2", Skill3 = "skill3", Goal = "goal",
    Education = "education", EducationCap = "Education_cap", EducationSentence = "education_sentence",
    Trait1 = "trait1", Trait2 = "trait2", LifeStageSentence = "life_stage_sentence", MaritalSentence = "marital_sentence",
    Hobby1 = "hobby1", Hobby2 = "hobby2", Hobby3 = "hobby3", Team = "team", Team2 = "team2", Sport = "sport",
    SportClause = "sport_clause", Art = "art", ArtCap = "Art_cap", ArtDetail = "art_detail", Genre = "genre",
    Place = "place", TravelStyle = "travel_style", Destination = "destination", Dish = "dish", Dish2 = "dish2",
    Cooking = "cooking", Heritage = "heritage", Generation = "generation", GenerationChange = "generation_change",
    GenerationTopic = "generation_topic", LifeGoalSentence = "life_goal_sentence", SportAttitude = "sport_attitude",
    GenreCap = "genre_cap", DestinationCap = "destination_cap", TravelCompany = "travel_company",
    TravelAttitude = "travel_attitude",
}

fn bad(locale: &str, file: &str, reason: impl Into<String>) -> Error {
    Error::InvalidLocalePack { locale: locale.into(), reason: format!("narrative/{file}: {}", reason.into()) }
}

impl Template {
    fn parse(text: &str, locale: &str, file: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].into()));
            }
            let close =
                rest[open..].find('}').ok_or_else(|| bad(locale, file, format!("unclosed `{{` in \"{text}\"")))? + open;
            let name = &rest[open + 1..close];
            let slot = Slot::parse(name).ok_or_else(|| {
                bad(
                    locale,
                    file,
                    format!("unknown slot `{{{name}}}` in \"{text}\" (known: {})", Slot::NAMES.join(", ")),
                )
            })?;
            parts.push(Part::Slot(slot));
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.into()));
        }
        Ok(Template(parts))
    }

    fn list(texts: &[String], locale: &str, file: &str) -> Result<Vec<Template>> {
        if texts.is_empty() {
            return Err(bad(locale, file, "an empty list of templates"));
        }
        texts.iter().map(|t| Template::parse(t, locale, file)).collect()
    }
}

// ---- The data files, as read. ----

#[derive(Deserialize)]
struct TraitWords {
    high: Vec<String>,
    low: Vec<String>,
}

#[derive(Deserialize)]
struct StageFile {
    max_age: i64,
    sentences: Vec<String>,
}

#[derive(Deserialize)]
struct ArtFile {
    art: String,
    details: Vec<String>,
}

#[derive(Deserialize)]
struct GenerationFile {
    max_age: i64,
    name: String,
    changes: Vec<String>,
    topics: Vec<String>,
}

#[derive(Deserialize)]
struct TravelStyles {
    open: Vec<String>,
    closed: Vec<String>,
}

#[derive(Deserialize)]
struct LexiconFile {
    traits: HashMap<String, TraitWords>,
    life_stages: Vec<StageFile>,
    marital: HashMap<String, Vec<String>>,
    education: HashMap<String, String>,
    fields: HashMap<String, String>,
    education_sentences: Vec<String>,
    hobbies: HashMap<String, Vec<String>>,
    sports: HashMap<String, Vec<String>>,
    sport_sentences: Vec<String>,
    arts: Vec<ArtFile>,
    genres: Vec<String>,
    destinations: Vec<String>,
    travel_styles: TravelStyles,
    cooking: Vec<String>,
    heritage: HashMap<String, Vec<String>>,
    regions: HashMap<String, String>,
    generations: Vec<GenerationFile>,
    work: HashMap<String, Vec<String>>,
    life_goal_sentences: Vec<String>,
    sport_attitudes: SportAttitudes,
    travel_companions: Vec<String>,
    travel_attitudes: TravelStyles,
}

#[derive(Deserialize)]
struct SportAttitudes {
    high_energy: Vec<String>,
    calm: Vec<String>,
}

#[derive(Deserialize)]
struct OccupationLexicon {
    skills: Vec<String>,
    workplaces: Vec<String>,
    tasks: Vec<String>,
    goals: Vec<String>,
}

/// An occupation group's lexicon, as the narrator keeps it.
struct OccupationEntry {
    skills: Vec<String>,
    workplaces: Vec<String>,
    tasks: Vec<Template>,
    goals: Vec<Template>,
}

struct StateLexicon {
    name: String,
    region_phrase: String,
    teams: Vec<String>,
    dishes: Vec<String>,
    places: Vec<String>,
}

/// Big Five order of the score columns.
const BIG5: [&str; 5] = ["openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"];

/// The template narrator of one locale.
pub struct TemplateNarrator {
    locale: String,
    /// Per text field, its sentence positions, each with its variants.
    fields: Vec<Vec<Vec<Template>>>,
    traits: Vec<[Vec<String>; 2]>,
    life_stages: Vec<(i64, Vec<Template>)>,
    marital: HashMap<String, Vec<Template>>,
    education: HashMap<String, String>,
    education_fields: HashMap<String, String>,
    education_sentences: Vec<Template>,
    hobby_pools: HashMap<String, Vec<String>>,
    sports: HashMap<String, Vec<String>>,
    sport_sentences: Vec<Template>,
    arts: Vec<(String, Vec<String>)>,
    genres: Vec<String>,
    destinations: Vec<String>,
    travel_open: Vec<Template>,
    travel_closed: Vec<Template>,
    cooking: Vec<String>,
    heritage: HashMap<String, Vec<String>>,
    generations: Vec<GenerationFile>,
    work: HashMap<String, Vec<Template>>,
    life_goal_sentences: Vec<Template>,
    sport_energetic: Vec<Template>,
    sport_calm: Vec<Template>,
    travel_companions: Vec<String>,
    travel_attitude_open: Vec<Template>,
    travel_attitude_closed: Vec<Template>,
    occupations: Vec<OccupationEntry>,
    /// Occupation code -> (singular title, index into `occupations`).
    titles: HashMap<String, (String, usize)>,
    /// Lexicon index for people outside the workforce and for unknown occupations.
    not_working: usize,
    default_occupation: usize,
    states: HashMap<String, StateLexicon>,
}

fn nonempty<T>(v: &[T], locale: &str, file: &str, what: &str) -> Result<()> {
    if v.is_empty() {
        return Err(bad(locale, file, format!("`{what}` is empty")));
    }
    Ok(())
}

impl TemplateNarrator {
    /// The template narrator of an embedded locale pack.
    pub fn for_locale(locale: &str) -> Result<TemplateNarrator> {
        let pack = locale::pack(locale)?;
        TemplateNarrator::from_files(locale, &|name| pack.file(name).map(str::to_string))
    }

    /// Builds the narrator from a pack's files (`narrative/*.json`, `narrative/states.csv`,
    /// `occupation_titles.csv`), read through `read`.
    pub fn from_files(locale: &str, read: &dyn Fn(&str) -> Result<String>) -> Result<TemplateNarrator> {
        let json = |file: &str| -> Result<String> { read(&format!("narrative/{file}")) };
        let templates: HashMap<String, Vec<Vec<String>>> =
            serde_json::from_str(&json("templates.json")?).map_err(|e| bad(locale, "templates.json", e.to_string()))?;
        let mut fields = Vec::new();
        for f in TEXT_FIELDS {
            let positions =
                templates.get(f).ok_or_else(|| bad(locale, "templates.json", format!("no templates for `{f}`")))?;
            nonempty(positions, locale, "templates.json", f)?;
            fields.push(
                positions.iter().map(|p| Template::list(p, locale, "templates.json")).collect::<Result<Vec<_>>>()?,
            );
        }
        let lex: LexiconFile =
            serde_json::from_str(&json("lexicon.json")?).map_err(|e| bad(locale, "lexicon.json", e.to_string()))?;
        let l = |t: &[String]| Template::list(t, locale, "lexicon.json");
        let mut traits = Vec::new();
        for dim in BIG5 {
            let w = lex.traits.get(dim).ok_or_else(|| bad(locale, "lexicon.json", format!("no traits for `{dim}`")))?;
            nonempty(&w.high, locale, "lexicon.json", dim)?;
            nonempty(&w.low, locale, "lexicon.json", dim)?;
            traits.push([w.high.clone(), w.low.clone()]);
        }
        nonempty(&lex.life_stages, locale, "lexicon.json", "life_stages")?;
        let life_stages =
            lex.life_stages.iter().map(|s| Ok((s.max_age, l(&s.sentences)?))).collect::<Result<Vec<_>>>()?;
        let marital = lex.marital.iter().map(|(k, v)| Ok((k.clone(), l(v)?))).collect::<Result<HashMap<_, _>>>()?;
        let work = lex.work.iter().map(|(k, v)| Ok((k.clone(), l(v)?))).collect::<Result<HashMap<_, _>>>()?;
        for key in ["employed", "unemployed", "not_in_labor_force"] {
            if !work.contains_key(key) {
                return Err(bad(locale, "lexicon.json", format!("`work` has no `{key}` clauses")));
            }
        }
        for (what, v) in [
            ("genres", &lex.genres),
            ("destinations", &lex.destinations),
            ("cooking", &lex.cooking),
            ("travel_companions", &lex.travel_companions),
        ] {
            nonempty(v, locale, "lexicon.json", what)?;
        }
        nonempty(&lex.arts, locale, "lexicon.json", "arts")?;
        nonempty(&lex.generations, locale, "lexicon.json", "generations")?;
        for stage in ["young", "midlife", "older"] {
            if lex.sports.get(stage).is_none_or(|v| v.is_empty()) {
                return Err(bad(locale, "lexicon.json", format!("`sports` has no `{stage}` list")));
            }
        }
        if lex.hobbies.get("any").is_none_or(|v| v.len() < 3) {
            return Err(bad(locale, "lexicon.json", "`hobbies.any` needs at least three hobbies"));
        }
        let occupation_file: HashMap<String, OccupationLexicon> = serde_json::from_str(&json("occupations.json")?)
            .map_err(|e| bad(locale, "occupations.json", e.to_string()))?;
        let mut keys: Vec<&String> = occupation_file.keys().collect();
        keys.sort();
        let index_of: HashMap<String, usize> = keys.iter().enumerate().map(|(i, k)| ((*k).clone(), i)).collect();
        let mut occupations = Vec::new();
        for k in &keys {
            let o = &occupation_file[*k];
            if o.skills.len() < 3 || o.workplaces.is_empty() || o.tasks.is_empty() || o.goals.is_empty() {
                return Err(bad(
                    locale,
                    "occupations.json",
                    format!("`{k}` needs 3+ skills and some workplaces, tasks and goals"),
                ));
            }
            // Tasks and goals are templates: they speak of the person ({his} own studio).
            let t = |v: &[String]| Template::list(v, locale, "occupations.json");
            occupations.push(OccupationEntry {
                skills: o.skills.clone(),
                workplaces: o.workplaces.clone(),
                tasks: t(&o.tasks)?,
                goals: t(&o.goals)?,
            });
        }
        let required = |k: &str| {
            index_of.get(k).copied().ok_or_else(|| bad(locale, "occupations.json", format!("no `{k}` entry")))
        };
        let not_working = required("not_in_workforce")?;
        let default_occupation = required("default")?;
        // Occupation titles: the deepest group ancestor with a lexicon entry.
        let mut titles = HashMap::new();
        let titles_csv = read("occupation_titles.csv")?;
        let mut reader = csv::Reader::from_reader(titles_csv.as_bytes());
        for rec in reader.records() {
            let rec = rec.map_err(|e| bad(locale, "../occupation_titles.csv", e.to_string()))?;
            let (Some(code), Some(path), Some(title)) = (rec.get(0), rec.get(2), rec.get(3)) else {
                return Err(bad(
                    locale,
                    "../occupation_titles.csv",
                    "expected occupation,occupation_group,group_path,title",
                ));
            };
            let lexicon = path.split('/').rev().find_map(|a| index_of.get(a).copied()).unwrap_or(default_occupation);
            titles.insert(code.to_string(), (title.to_string(), lexicon));
        }
        let mut states = HashMap::new();
        let states_csv = json("states.csv")?;
        let mut reader = csv::Reader::from_reader(states_csv.as_bytes());
        for rec in reader.records() {
            let rec = rec.map_err(|e| bad(locale, "states.csv", e.to_string()))?;
            let field = |i: usize| rec.get(i).unwrap_or("").to_string();
            let list = |i: usize| -> Vec<String> {
                field(i).split(';').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
            };
            let (teams, dishes, places) = (list(3), list(4), list(5));
            if teams.len() < 2 || dishes.len() < 2 || places.is_empty() {
                return Err(bad(locale, "states.csv", format!("`{}` needs 2+ teams, 2+ dishes and a place", field(0))));
            }
            let region_phrase = lex.regions.get(&field(2)).cloned().unwrap_or_else(|| field(2));
            states.insert(field(0), StateLexicon { name: field(1), region_phrase, teams, dishes, places });
        }
        Ok(TemplateNarrator {
            locale: locale.to_string(),
            fields,
            traits,
            life_stages,
            marital,
            education: lex.education,
            education_fields: lex.fields,
            education_sentences: l(&lex.education_sentences)?,
            hobby_pools: lex.hobbies,
            sports: lex.sports,
            sport_sentences: l(&lex.sport_sentences)?,
            arts: lex.arts.into_iter().map(|a| (a.art, a.details)).collect(),
            genres: lex.genres,
            destinations: lex.destinations,
            travel_open: l(&lex.travel_styles.open)?,
            travel_closed: l(&lex.travel_styles.closed)?,
            cooking: lex.cooking,
            heritage: lex.heritage,
            generations: lex.generations,
            work,
            life_goal_sentences: l(&lex.life_goal_sentences)?,
            sport_energetic: l(&lex.sport_attitudes.high_energy)?,
            sport_calm: l(&lex.sport_attitudes.calm)?,
            travel_companions: lex.travel_companions,
            travel_attitude_open: l(&lex.travel_attitudes.open)?,
            travel_attitude_closed: l(&lex.travel_attitudes.closed)?,
            occupations,
            titles,
            not_working,
            default_occupation,
            states,
        })
    }

    /// Narrates a batch synchronously (the work behind [`Narrator::narrate`]).
    pub fn narrate_batch(&self, personas: &RecordBatch, seed: u64) -> Result<Narrated> {
        let cols = PersonaColumns::new(personas)?;
        let c = |n: &str| cols.string(n);
        let (uuid, first, last, sex, city, state) =
            (c("uuid"), c("first_name"), c("last_name"), c("sex"), c("city"), c("state"));
        let (occupation, employment, marital, education, field, race) = (
            c("occupation"),
            c("employment_status"),
            c("marital_status"),
            c("education_level"),
            c("bachelors_field"),
            c("race_ethnicity"),
        );
        let age = cols.int("age");
        let big5: Vec<_> = BIG5.iter().map(|d| cols.int(&format!("big5_{d}"))).collect();
        let rows = personas.num_rows();
        let mut text: Vec<StringBuilder> =
            TEXT_FIELDS.iter().map(|_| StringBuilder::with_capacity(rows, rows * 200)).collect();
        let mut skills_list = ListBuilder::new(StringBuilder::new());
        let mut hobbies_list = ListBuilder::new(StringBuilder::new());
        let mut scratch = String::with_capacity(1024);
        for i in 0..rows {
            let id = text_at(uuid, i);
            let mut rng = Rng::new(seed, if id.is_empty() { None } else { Some(id) }, i as u64);
            let scores: Vec<Option<i64>> = big5.iter().map(|b| int_at(*b, i)).collect();
            let ctx = self.context(
                Row {
                    first: text_at(first, i),
                    last: text_at(last, i),
                    sex: text_at(sex, i),
                    age: int_at(age, i),
                    city: text_at(city, i),
                    state: text_at(state, i),
                    occupation: text_at(occupation, i),
                    employment: text_at(employment, i),
                    marital: text_at(marital, i),
                    education: text_at(education, i),
                    field: text_at(field, i),
                    race: text_at(race, i),
                    big5: &scores,
                },
                &mut rng,
            );
            for (f, positions) in self.fields.iter().enumerate() {
                scratch.clear();
                for variants in positions {
                    let t = &variants[rng.below(variants.len())];
                    if !scratch.is_empty() {
                        scratch.push(' ');
                    }
                    let start = scratch.len();
                    self.render(t, &ctx, &mut rng, &mut scratch);
                    capitalise_at(&mut scratch, start);
                }
                text[f].append_value(&scratch);
            }
            for s in &ctx.skills {
                skills_list.values().append_value(s);
            }
            skills_list.append(true);
            for h in &ctx.hobbies {
                hobbies_list.values().append_value(h);
            }
            hobbies_list.append(true);
        }
        let mut columns: Vec<ArrayRef> = text.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef).collect();
        columns.push(Arc::new(skills_list.finish()));
        columns.push(Arc::new(hobbies_list.finish()));
        Ok(Narrated { batch: RecordBatch::try_new(narrative_schema(), columns)?, failures: Vec::new() })
    }

    fn context<'a>(&'a self, row: Row<'a>, rng: &mut Rng) -> Context<'a> {
        let male = row.sex.eq_ignore_ascii_case("male");
        let age = row.age.unwrap_or(40);
        let (title, lexicon) = match self.titles.get(row.occupation) {
            Some((t, l)) => (t.as_str(), *l),
            None if row.occupation == "not_in_workforce" || row.occupation.is_empty() => ("", self.not_working),
            None => (row.occupation, self.default_occupation),
        };
        let occ = &self.occupations[lexicon];
        // The two most pronounced Big Five traits (random ones when scores are missing).
        let mut dims: Vec<(i64, usize, bool)> = row
            .big5
            .iter()
            .enumerate()
            .map(|(d, s)| match s {
                Some(v) => ((v - 50).abs() * 16 + rng.below(16) as i64, d, *v >= 50),
                None => (rng.below(16) as i64, d, rng.below(2) == 0),
            })
            .collect();
        dims.sort_by(|a, b| b.0.cmp(&a.0));
        let trait_word = |(_, d, high): (i64, usize, bool), rng: &mut Rng| -> &'a str {
            let words = &self.traits[d][if high { 0 } else { 1 }];
            &words[rng.below(words.len())]
        };
        let traits = [trait_word(dims[0], rng), trait_word(dims[1], rng)];
        let openness = row.big5.first().copied().flatten().unwrap_or(50);
        let extraversion = row.big5.get(2).copied().flatten().unwrap_or(50);
        let skill_idx = distinct3(occ.skills.len(), rng);
        let skills = skill_idx.map(|k| occ.skills[k].as_str());
        // Hobbies from the pools that fit the persona.
        let stage = if age < 30 {
            "young"
        } else if age < 60 {
            "midlife"
        } else {
            "older"
        };
        let mut pools: Vec<&Vec<String>> = ["any", stage].iter().filter_map(|p| self.hobby_pools.get(*p)).collect();
        if openness >= 56 {
            pools.extend(self.hobby_pools.get("open"));
        }
        if extraversion >= 56 {
            pools.extend(self.hobby_pools.get("outgoing"));
        } else if extraversion <= 44 {
            pools.extend(self.hobby_pools.get("quiet"));
        }
        let total: usize = pools.iter().map(|p| p.len()).sum();
        let hobby_at = |k: usize| -> &'a str {
            let mut k = k;
            for p in &pools {
                if k < p.len() {
                    return &p[k];
                }
                k -= p.len();
            }
            ""
        };
        let mut hobbies: [&'a str; 3] = [""; 3];
        let mut n = 0;
        for _ in 0..32 {
            let h = hobby_at(rng.below(total));
            if !hobbies[..n].contains(&h) {
                hobbies[n] = h;
                n += 1;
                if n == 3 {
                    break;
                }
            }
        }
        let state = self.states.get(row.state);
        let (team, team2, dish, dish2, place) = match state {
            Some(s) => {
                let t = distinct2(s.teams.len(), rng);
                let d = distinct2(s.dishes.len(), rng);
                (
                    s.teams[t[0]].as_str(),
                    s.teams[t[1]].as_str(),
                    s.dishes[d[0]].as_str(),
                    s.dishes[d[1]].as_str(),
                    s.places[rng.below(s.places.len())].as_str(),
                )
            }
            None => ("home team", "local college team", "home cooking", "barbecue", "the coast"),
        };
        let sports = &self.sports[stage];
        let art = &self.arts[rng.below(self.arts.len())];
        let generation =
            self.generations.iter().find(|g| age <= g.max_age).unwrap_or(&self.generations[self.generations.len() - 1]);
        let heritage =
            self.heritage.get(row.race).map(|h| h[rng.below(h.len())].as_str()).unwrap_or("a family story of its own");
        let education = self.education.get(row.education).map(String::as_str).unwrap_or("years of experience");
        let education = match (row.education, self.education_fields.get(row.field)) {
            ("bachelors" | "graduate", Some(f)) => EducationPhrase::WithField(education, f),
            _ => EducationPhrase::Plain(education),
        };
        Context {
            first: if row.first.is_empty() { "This person" } else { row.first },
            last: row.last,
            male,
            age: row.age,
            city: if row.city.is_empty() { "a small town" } else { row.city },
            state_name: state.map(|s| s.name.as_str()).unwrap_or(row.state),
            region_phrase: state.map(|s| s.region_phrase.as_str()).unwrap_or("the United States"),
            title,
            employment: if row.employment == "not_in_labor_force" && age >= 62 { "retired" } else { row.employment },
            marital: row.marital,
            workplace: &occ.workplaces[rng.below(occ.workplaces.len())],
            task: &occ.tasks[rng.below(occ.tasks.len())],
            goal: &occ.goals[rng.below(occ.goals.len())],
            skills,
            hobbies: hobbies[..n].to_vec(),
            traits,
            team,
            team2,
            dish,
            dish2,
            place,
            sport: &sports[rng.below(sports.len())],
            art: &art.0,
            art_detail: &art.1[rng.below(art.1.len())],
            genre: &self.genres[rng.below(self.genres.len())],
            destination: &self.destinations[rng.below(self.destinations.len())],
            cooking: &self.cooking[rng.below(self.cooking.len())],
            heritage,
            generation,
            generation_change: &generation.changes[rng.below(generation.changes.len())],
            generation_topic: &generation.topics[rng.below(generation.topics.len())],
            open: openness >= 50,
            outgoing: extraversion >= 50,
            travel_company: &self.travel_companions[rng.below(self.travel_companions.len())],
            education,
        }
    }

    fn render(&self, t: &Template, ctx: &Context, rng: &mut Rng, out: &mut String) {
        for part in &t.0 {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Slot(slot) => self.fill(*slot, ctx, rng, out),
            }
        }
    }

    fn pick_render(&self, options: &[Template], ctx: &Context, rng: &mut Rng, out: &mut String) {
        if !options.is_empty() {
            let t = &options[rng.below(options.len())];
            self.render(t, ctx, rng, out);
        }
    }

    fn fill(&self, slot: Slot, ctx: &Context, rng: &mut Rng, out: &mut String) {
        let pronoun = |m: &'static str, f: &'static str| if ctx.male { m } else { f };
        match slot {
            Slot::FirstName => out.push_str(ctx.first),
            Slot::LastName => out.push_str(ctx.last),
            Slot::FullName => {
                out.push_str(ctx.first);
                if !ctx.last.is_empty() {
                    out.push(' ');
                    out.push_str(ctx.last);
                }
            }
            Slot::Age => match ctx.age {
                Some(a) => {
                    use std::fmt::Write;
                    let _ = write!(out, "{a}");
                }
                None => out.push_str("adult"),
            },
            Slot::ManWoman => out.push_str(pronoun("man", "woman")),
            Slot::City => out.push_str(ctx.city),
            Slot::StateName => out.push_str(ctx.state_name),
            Slot::RegionPhrase => out.push_str(ctx.region_phrase),
            Slot::He => out.push_str(pronoun("he", "she")),
            Slot::Him => out.push_str(pronoun("him", "her")),
            Slot::His => out.push_str(pronoun("his", "her")),
            Slot::HeCap => out.push_str(pronoun("He", "She")),
            Slot::HisCap => out.push_str(pronoun("His", "Her")),
            Slot::WorkClause => {
                let key = if ctx.title.is_empty() && matches!(ctx.employment, "employed" | "unemployed") {
                    "not_in_labor_force"
                } else {
                    ctx.employment
                };
                let options = self.work.get(key).or_else(|| self.work.get("not_in_labor_force"));
                self.pick_render(options.map(Vec::as_slice).unwrap_or(&[]), ctx, rng, out);
            }
            Slot::AOccupation => {
                out.push_str(article(ctx.title));
                out.push(' ');
                out.push_str(ctx.title);
            }
            Slot::Occupation => out.push_str(ctx.title),
            Slot::Workplace => out.push_str(ctx.workplace),
            Slot::Task => self.render(ctx.task, ctx, rng, out),
            Slot::Skill1 => out.push_str(ctx.skills[0]),
            Slot::Skill2 => out.push_str(ctx.skills[1]),
            Slot::Skill3 => out.push_str(ctx.skills[2]),
            Slot::Goal => self.render(ctx.goal, ctx, rng, out),
            Slot::Education => ctx.education.write(out),
            Slot::EducationCap => {
                let start = out.len();
                ctx.education.write(out);
                capitalise_at(out, start);
            }
            Slot::EducationSentence => self.pick_render(&self.education_sentences, ctx, rng, out),
            Slot::Trait1 => out.push_str(ctx.traits[0]),
            Slot::Trait2 => out.push_str(ctx.traits[1]),
            Slot::LifeStageSentence => {
                let age = ctx.age.unwrap_or(40);
                let stage = self.life_stages.iter().find(|(max, _)| age <= *max).or(self.life_stages.last());
                self.pick_render(stage.map(|s| s.1.as_slice()).unwrap_or(&[]), ctx, rng, out);
            }
            Slot::MaritalSentence => match self.marital.get(ctx.marital) {
                Some(options) => self.pick_render(options, ctx, rng, out),
                None => self.fill(Slot::LifeStageSentence, ctx, rng, out),
            },
            Slot::Hobby1 | Slot::Hobby2 | Slot::Hobby3 => {
                let k = match slot {
                    Slot::Hobby1 => 0,
                    Slot::Hobby2 => 1,
                    _ => 2,
                };
                out.push_str(ctx.hobbies.get(k).or(ctx.hobbies.first()).copied().unwrap_or("reading"));
            }
            Slot::Team => out.push_str(ctx.team),
            Slot::Team2 => out.push_str(ctx.team2),
            Slot::Sport => out.push_str(ctx.sport),
            Slot::SportClause => self.pick_render(&self.sport_sentences, ctx, rng, out),
            Slot::Art => out.push_str(ctx.art),
            Slot::ArtCap => {
                let start = out.len();
                out.push_str(ctx.art);
                capitalise_at(out, start);
            }
            Slot::ArtDetail => out.push_str(ctx.art_detail),
            Slot::Genre => out.push_str(ctx.genre),
            Slot::Place => out.push_str(ctx.place),
            Slot::TravelStyle => {
                let options = if ctx.open { &self.travel_open } else { &self.travel_closed };
                self.pick_render(options, ctx, rng, out);
            }
            Slot::Destination => out.push_str(ctx.destination),
            Slot::Dish => out.push_str(ctx.dish),
            Slot::Dish2 => out.push_str(ctx.dish2),
            Slot::Cooking => out.push_str(ctx.cooking),
            Slot::Heritage => out.push_str(ctx.heritage),
            Slot::Generation => out.push_str(&ctx.generation.name),
            Slot::GenerationChange => out.push_str(ctx.generation_change),
            Slot::GenerationTopic => out.push_str(ctx.generation_topic),
            Slot::LifeGoalSentence => self.pick_render(&self.life_goal_sentences, ctx, rng, out),
            Slot::SportAttitude => {
                let options = if ctx.outgoing { &self.sport_energetic } else { &self.sport_calm };
                self.pick_render(options, ctx, rng, out);
            }
            Slot::GenreCap | Slot::DestinationCap => {
                let start = out.len();
                out.push_str(if slot == Slot::GenreCap { ctx.genre } else { ctx.destination });
                capitalise_at(out, start);
            }
            Slot::TravelCompany => out.push_str(ctx.travel_company),
            Slot::TravelAttitude => {
                let options = if ctx.open { &self.travel_attitude_open } else { &self.travel_attitude_closed };
                self.pick_render(options, ctx, rng, out);
            }
        }
    }
}

#[async_trait::async_trait]
impl Narrator for TemplateNarrator {
    fn name(&self) -> String {
        format!("template:{}", self.locale)
    }

    async fn narrate(&self, personas: &RecordBatch, seed: u64) -> Result<Narrated> {
        self.narrate_batch(personas, seed)
    }
}

/// The attributes of one persona the narrator reads.
struct Row<'a> {
    first: &'a str,
    last: &'a str,
    sex: &'a str,
    age: Option<i64>,
    city: &'a str,
    state: &'a str,
    occupation: &'a str,
    employment: &'a str,
    marital: &'a str,
    education: &'a str,
    field: &'a str,
    race: &'a str,
    big5: &'a [Option<i64>],
}

enum EducationPhrase<'a> {
    Plain(&'a str),
    WithField(&'a str, &'a str),
}

impl EducationPhrase<'_> {
    fn write(&self, out: &mut String) {
        match self {
            EducationPhrase::Plain(p) => out.push_str(p),
            EducationPhrase::WithField(p, f) => {
                out.push_str(p);
                out.push_str(" in ");
                out.push_str(f);
            }
        }
    }
}

/// Everything one persona's narratives draw on, picked once so all fields agree.
struct Context<'a> {
    first: &'a str,
    last: &'a str,
    male: bool,
    age: Option<i64>,
    city: &'a str,
    state_name: &'a str,
    region_phrase: &'a str,
    title: &'a str,
    employment: &'a str,
    marital: &'a str,
    workplace: &'a str,
    task: &'a Template,
    goal: &'a Template,
    skills: [&'a str; 3],
    hobbies: Vec<&'a str>,
    traits: [&'a str; 2],
    team: &'a str,
    team2: &'a str,
    dish: &'a str,
    dish2: &'a str,
    place: &'a str,
    sport: &'a str,
    art: &'a str,
    art_detail: &'a str,
    genre: &'a str,
    destination: &'a str,
    cooking: &'a str,
    heritage: &'a str,
    generation: &'a GenerationFile,
    generation_change: &'a str,
    generation_topic: &'a str,
    open: bool,
    outgoing: bool,
    travel_company: &'a str,
    education: EducationPhrase<'a>,
}

fn distinct2(n: usize, rng: &mut Rng) -> [usize; 2] {
    let a = rng.below(n);
    if n < 2 {
        return [a, a];
    }
    let b = (a + 1 + rng.below(n - 1)) % n;
    [a, b]
}

fn distinct3(n: usize, rng: &mut Rng) -> [usize; 3] {
    let [a, b] = distinct2(n, rng);
    if n < 3 {
        return [a, b, a];
    }
    let mut c = rng.below(n);
    while c == a || c == b {
        c = (c + 1) % n;
    }
    [a, b, c]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_and_capitals() {
        assert_eq!(article("electrician"), "an");
        assert_eq!(article("registered nurse"), "a");
        assert_eq!(article("university professor"), "a");
        let mut s = String::from("x. he is");
        capitalise_at(&mut s, 3);
        assert_eq!(s, "x. He is");
    }

    #[test]
    fn unknown_slot_is_a_clear_error() {
        let e = Template::parse("{first_name} likes {shoe_size}", "us", "templates.json").expect_err("unknown slot");
        assert!(e.to_string().contains("unknown slot `{shoe_size}`"), "{e}");
        assert!(Template::parse("{first_name", "us", "templates.json").is_err());
    }
}
