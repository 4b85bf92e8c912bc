//! Occupation of the Brazil pack: Censo 2010 occupations (COD) by sex, national, with the share
//! occupied by sex.

use std::path::Path;

use super::education::{education_rows, EDUCATION, EDUCATION_LEVELS};
use super::{FEMALE, MALE, NO_OCCUPATION};
use crate::derive::{derr, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub(super) const OCCUPATION: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_sidra3592_cod",
    path: "brazil/occupation/censo2010_sidra3592_ocupacao_cod_sexo_brasil.csv",
    publisher: "IBGE, Censo Demográfico 2010 (Amostra), SIDRA table 3592",
    table: "Pessoas de 10 anos ou mais ocupadas por ocupação (COD, 4 níveis) e sexo, Brasil",
    vintage: "Censo 2010",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "fernandomailbr/estudo-cancer-socio@46e4d4529b53:data/external/Tabela 3592.xlsx (as CSV)",
};

/// Writes `occupation_sex.csv`, `occupation_groups.csv`, `occupied_sex_age.csv` and
/// `occupation_model.csv` with their choice.
pub(super) const OCCUPIED_AGE: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_tab1_1_10",
    path: "datasets/br/sources/ibge_censo2010_tab1_1_10_ocupacao_sexo_idade.csv",
    publisher: "IBGE, Censo Demográfico 2010 (Amostra), Educação e Deslocamento, Tabela 1.1.10",
    table: "Pessoas de 10 anos ou mais de idade, por frequência a escola e situação de ocupação na semana de \
            referência, segundo o sexo e os grupos de idade - Brasil (ages to 45-49, then 50 anos ou mais)",
    vintage: "Censo 2010",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "luana-hartmann/SME0620@52f4c2b8bbff:brasil_xls.zip, brasil_xls/tab1_1_10.xls (as long CSV; see \
              datasets/br/sources/PROVENANCE.md)",
};

pub(super) const OCCUPIED_AGE_50: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2010_tab1_2_3",
    path: "datasets/br/sources/ibge_censo2010_tab1_2_3_ocupadas_idade.csv",
    publisher: "IBGE, Censo Demográfico 2010 (Amostra), Educação e Deslocamento, Tabela 1.2.3",
    table: "Pessoas de 10 anos ou mais de idade, ocupadas na semana de referência, segundo o sexo, os grupos de \
            idade, a cor ou raça e o nível de instrução - Brasil (each a margin; the local de trabalho total)",
    vintage: "Censo 2010",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "luana-hartmann/SME0620@52f4c2b8bbff:brasil_xls.zip, brasil_xls/tab1_2_3.xls (as long CSV; see \
              datasets/br/sources/PROVENANCE.md)",
};

/// The age bands of `occupied`: (label, Tabela 1.1.10's group). From 50 on, Tabela 1.1.10 has one
/// group only, split by Tabela 1.2.3's bands (see [`occupied_by_age`]).
const OCCUPIED_YOUNG_BANDS: [(&str, &str); 7] = [
    ("18-19", "18 ou 19 anos"),
    ("20-24", "20 a 24 anos"),
    ("25-29", "25 a 29 anos"),
    ("30-34", "30 a 34 anos"),
    ("35-39", "35 a 39 anos"),
    ("40-44", "40 a 44 anos"),
    ("45-49", "45 a 49 anos"),
];
const OCCUPIED_OLD_BANDS: [(&str, &str); 4] =
    [("50-54", "50 a 54 anos"), ("55-59", "55 a 59 anos"), ("60-69", "60 a 69 anos"), ("70+", "70 anos ou mais")];

/// Occupations whose exercise Brazilian law reserves to holders of a school level: (COD code or
/// branch, the lowest `EDUCATION_LEVELS` index allowed, the law). A structural zero of the
/// occupation × schooling model, not an estimate: the census has no such cross table.
const SCHOOLING_FLOORS: &[(&str, usize, &str)] = &[
    ("2.1.1.3", 3, "Lei 2.800/1956 (químicos)"),
    ("2.1.1.4", 3, "Lei 4.076/1962 (geólogos)"),
    ("2.1.4", 3, "Lei 5.194/1966 (engenheiros)"),
    ("2.1.5", 3, "Lei 5.194/1966 (engenheiros)"),
    ("2.1.6.1", 3, "Lei 12.378/2010 (arquitetos e urbanistas)"),
    ("2.1.6.2", 3, "Lei 12.378/2010 (arquitetos e urbanistas)"),
    ("2.1.6.4", 3, "Lei 12.378/2010 and Lei 5.194/1966"),
    ("2.2.1.1", 3, "Lei 12.842/2013 (medicina)"),
    ("2.2.1.2", 3, "Lei 12.842/2013 (medicina)"),
    ("2.2.2.1", 3, "Lei 7.498/1986, art. 6 (enfermeiro)"),
    ("2.2.5.0", 3, "Lei 5.517/1968 (medicina veterinária)"),
    ("2.2.6.1", 3, "Lei 5.081/1966 (odontologia)"),
    ("2.2.6.2", 3, "Lei 3.820/1960 (farmácia)"),
    ("2.2.6.4", 3, "Decreto-Lei 938/1969 (fisioterapia)"),
    ("2.2.6.5", 3, "Lei 8.234/1991 (nutricionista)"),
    ("2.2.6.6", 3, "Lei 6.965/1981 (fonoaudiologia)"),
    ("2.3.1.0", 3, "Lei 9.394/1996, art. 66 (magistério superior)"),
    ("2.3.3.0", 3, "Lei 9.394/1996, art. 62 (ensino médio: licenciatura; nível médio, modalidade normal, only up to the fifth year)"),
    ("2.3.4.1", 2, "Lei 9.394/1996, art. 62 (magistério da educação básica: nível médio, modalidade normal, at least)"),
    ("2.3.4.2", 2, "Lei 9.394/1996, art. 62 (magistério da educação básica: nível médio, modalidade normal, at least)"),
    ("2.4.1.1", 3, "Decreto-Lei 9.295/1946, art. 12 (contador: bacharel; técnicos em contabilidade are 3.3.1.3)"),
    ("2.6.1.1", 3, "Lei 8.906/1994, art. 8 (advocacia)"),
    ("2.6.1.2", 3, "Constituição Federal, art. 93, I (magistratura: bacharel em direito)"),
    ("2.6.2.2", 3, "Lei 4.084/1962 (bibliotecário)"),
    ("2.6.3.1", 3, "Lei 1.411/1951 (economista)"),
    ("2.6.3.4", 3, "Lei 4.119/1962 (psicólogo)"),
    ("2.6.3.5", 3, "Lei 8.662/1993 (assistente social)"),
];

/// The lowest education level (index into `EDUCATION_LEVELS`) allowed for a COD code.
fn schooling_floor(code: &str) -> usize {
    SCHOOLING_FLOORS
        .iter()
        .filter(|(c, _, _)| code == *c || (code.starts_with(c) && code[c.len()..].starts_with('.')))
        .map(|(_, floor, _)| *floor)
        .max()
        .unwrap_or(0)
}

pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    education: &[Vec<String>],
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<()> {
    // Occupation by sex (national), and whether a person is occupied.
    let (occupation, groups, codes) = occupation(raw_dir)?;
    let occupied = occupied_by_age(raw_dir)?;
    let population = population_by_band(out_dir)?;
    let model = occupation_model(&occupation, &codes, &occupied, &population, education)?;
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
        "occupied_sex_age.csv",
        &["sex", "age_band", "occupied", "weight"],
        &occupied,
        &[OCCUPIED_AGE.id, OCCUPIED_AGE_50.id, EDUCATION.id],
        "Persons occupied (`sim`) and not (`não`) in the reference week by sex × age band: Tabela 1.1.10 up to \
         45-49; from 50 on, Tabela 1.1.10's `50 anos ou mais` by sex and Tabela 1.2.3's occupied by age band \
         (both sexes) fitted by iterative proportional fitting from the population by sex × band of Tabela \
         1.1.11; not occupied = population − occupied.",
    )?);
    tables.push(write_table(
        out_dir,
        "occupation_model.csv",
        &["occupied", "sex", "education_level", "occupation", "weight"],
        &model,
        &[OCCUPATION.id, OCCUPIED_AGE.id, OCCUPIED_AGE_50.id, EDUCATION.id],
        "Occupied persons (`sim`) by sex × nível de instrução × occupation, fitted by iterative proportional \
         fitting per sex: the occupations' totals of occupation_sex.csv, the schooling of the occupied that \
         the model implies (population_state_sex_age.csv × occupied_sex_age.csv × education_model.csv over the \
         age bands), and a zero where \
         Brazilian law reserves an occupation to a school level (a degree for médicos, advogados, engenheiros \
         …; nível médio for teachers of basic education); independent otherwise. `Sem ocupação` for the \
         others (`não`).",
    )?);
    let floors: Vec<String> = SCHOOLING_FLOORS
        .iter()
        .map(|(code, floor, law)| format!("{code} ≥ {} ({law})", EDUCATION_LEVELS[*floor]))
        .collect();
    choices.push(format!(
        "Occupation: whether a person is occupied follows sex × age band (Censo 2010 Tabelas 1.1.10 and 1.2.3, \
         national, applied to every state; 50-54 … 70+ by sex fitted from a sex margin and an age margin); the \
         occupation follows the Censo 2010 COD occupations by sex and the person's schooling. No census table \
         crosses occupation with schooling (Tabela 1.2.3 has the schooling of the occupied as a margin only), \
         so the model keeps each sex's occupation totals and the schooling of the occupied, independent of \
         each other except where the law requires a school level to exercise the occupation (structural \
         zeros, no estimate): {}. Without it a librarian or a physician could have no schooling. Occupation \
         still does not depend on age or UF. Persons not occupied have occupation `Sem ocupação`. Labels are \
         IBGE's official (plural) titles.",
        floors.join("; ")
    ));
    Ok(())
}

/// The pack's population (population_state_sex_age.csv, already written) by (sex, age band of
/// `occupied`).
fn population_by_band(out_dir: &Path) -> Result<Vec<(String, String, f64)>> {
    let name = "population_state_sex_age.csv";
    let mut reader = csv::Reader::from_path(out_dir.join(name)).map_err(|e| derr(name, e.to_string()))?;
    let mut out: Vec<(String, String, f64)> = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| derr(name, e.to_string()))?;
        let age: u32 = r[2].parse().map_err(|_| derr(name, format!("age `{}` is not a number", &r[2])))?;
        let weight: f64 = r[3].parse().map_err(|_| derr(name, format!("weight `{}` is not a number", &r[3])))?;
        let band = OCCUPIED_YOUNG_BANDS
            .iter()
            .chain(OCCUPIED_OLD_BANDS.iter())
            .map(|(label, _)| *label)
            .find(|label| match label.split_once('-') {
                Some((lo, hi)) => {
                    lo.parse().is_ok_and(|lo: u32| age >= lo) && hi.parse().is_ok_and(|hi: u32| age <= hi)
                }
                None => label.trim_end_matches('+').parse().is_ok_and(|lo: u32| age >= lo),
            })
            .ok_or_else(|| derr(name, format!("age {age} is in no band")))?;
        match out.iter_mut().find(|(s, b, _)| s == &r[1] && b == band) {
            Some(row) => row.2 += weight,
            None => out.push((r[1].to_string(), band.to_string(), weight)),
        }
    }
    Ok(out)
}

/// The occupation model, rows (occupied, sex, education_level, occupation, weight): per sex, the
/// occupations' totals × the schooling the model gives the occupied, fitted with the law's zeros.
fn occupation_model(
    by_sex: &[Vec<String>],
    codes: &[(String, String)],
    occupied: &[Vec<String>],
    population: &[(String, String, f64)],
    education: &[Vec<String>],
) -> Result<Vec<Vec<String>>> {
    let number = |v: &str| v.parse::<f64>().unwrap_or(0.0);
    let mut rows = Vec::new();
    for sex in [FEMALE, MALE] {
        // Schooling of the occupied as the generator draws them: Σ over age bands of the pack's
        // population × the band's share occupied × the band's schooling shares.
        let mut schooling = [0.0f64; 4];
        for (_, band, persons) in population.iter().filter(|(s, _, _)| s == sex) {
            let count = |status: &str| {
                occupied.iter().find(|r| r[0] == sex && &r[1] == band && r[2] == status).map(|r| number(&r[3]))
            };
            let (Some(yes), Some(no)) = (count("sim"), count("não")) else {
                return Err(derr(OCCUPIED_AGE.path, format!("no occupied row for {sex}, {band}")));
            };
            let occupied_persons = if yes + no > 0.0 { persons * yes / (yes + no) } else { 0.0 };
            let shares: Vec<f64> = EDUCATION_LEVELS
                .iter()
                .map(|level| {
                    education
                        .iter()
                        .find(|e| e[0] == sex && &e[1] == band && e[2] == *level)
                        .map(|e| number(&e[3]))
                        .ok_or_else(|| derr(EDUCATION.path, format!("no schooling row for {sex}, {band}")))
                })
                .collect::<Result<_>>()?;
            let total: f64 = shares.iter().sum();
            if total > 0.0 {
                for (s, share) in schooling.iter_mut().zip(&shares) {
                    *s += occupied_persons * share / total;
                }
            }
        }
        let jobs: Vec<&Vec<String>> = by_sex.iter().filter(|r| r[0] == sex).collect();
        let totals: Vec<f64> = jobs.iter().map(|r| number(&r[2])).collect();
        let floor_of =
            |title: &str| codes.iter().find(|(_, t)| t == title).map(|(c, _)| schooling_floor(c)).unwrap_or(0);
        let seed: Vec<f64> = jobs
            .iter()
            .flat_map(|r| {
                let floor = floor_of(&r[1]);
                (0..EDUCATION_LEVELS.len()).map(move |level| if level >= floor { 1.0 } else { 0.0 })
            })
            .collect();
        let (fitted, worst) =
            crate::derive::ipf::fit_2d(&seed, jobs.len(), EDUCATION_LEVELS.len(), &totals, &schooling, 500);
        // The fit must keep both margins: the law's zeros leave room enough.
        if worst > 1e-4 {
            return Err(derr(
                OCCUPATION.path,
                format!("the occupation × schooling fit for {sex} misses a margin by {:.3} %", worst * 100.0),
            ));
        }
        for (level_index, level) in EDUCATION_LEVELS.iter().enumerate() {
            for (i, job) in jobs.iter().enumerate() {
                let weight = fitted[i * EDUCATION_LEVELS.len() + level_index];
                rows.push(vec!["sim".into(), sex.into(), level.to_string(), job[1].clone(), format!("{weight:.3}")]);
            }
            rows.push(vec!["não".into(), sex.into(), level.to_string(), NO_OCCUPATION.into(), "1".into()]);
        }
    }
    Ok(rows)
}

/// Rows (sex, age_band, occupied, weight).
fn occupied_by_age(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    let read = |spec: &SourceSpec, value_col: usize| -> Result<Vec<Vec<String>>> {
        let path = crate::derive::source_path(raw_dir, spec.path);
        let mut reader = csv::Reader::from_path(&path).map_err(|e| derr(spec.path, e.to_string()))?;
        let mut rows = Vec::new();
        for record in reader.records() {
            let r = record.map_err(|e| derr(spec.path, e.to_string()))?;
            if r.get(value_col).and_then(|v| v.parse::<f64>().ok()).is_none() {
                return Err(derr(spec.path, format!("a count is not a number: {:?}", r.get(value_col))));
            }
            rows.push(r.iter().map(str::to_string).collect());
        }
        Ok(rows)
    };
    let young = read(&OCCUPIED_AGE, 4)?;
    let by_age = read(&OCCUPIED_AGE_50, 2)?;
    let number = |v: &str| v.parse::<f64>().unwrap_or(0.0);
    // Tabela 1.1.10, school attendance `Total`: (sexo, group, situação) -> persons.
    let cell = |sexo: &str, group: &str, status: &str| -> Result<f64> {
        young
            .iter()
            .find(|r| r[0] == sexo && r[1] == group && r[2] == "Total" && r[3] == status)
            .map(|r| number(&r[4]))
            .ok_or_else(|| derr(OCCUPIED_AGE.path, format!("no row for {sexo}, {group}, {status}")))
    };
    let mut out = Vec::new();
    let sexes = [("Mulheres", FEMALE), ("Homens", MALE)];
    for (sexo, sex) in sexes {
        for (label, group) in OCCUPIED_YOUNG_BANDS {
            for (status, occupied) in [("Ocupadas", "sim"), ("Não ocupadas", "não")] {
                out.push(vec![sex.into(), label.into(), occupied.into(), format!("{:.3}", cell(sexo, group, status)?)]);
            }
        }
    }
    // From 50: occupied by sex (1.1.10) and by band (1.2.3), population by sex × band (1.1.11).
    let education = education_rows(raw_dir)?;
    let population = |sexo: &str, group: &str| -> Result<f64> {
        let total: f64 =
            education.iter().filter(|(s, g, l, _)| s == sexo && g == group && l != "Total").map(|r| r.3).sum();
        if total > 0.0 {
            Ok(total)
        } else {
            Err(derr(EDUCATION.path, format!("no population for {sexo}, {group}")))
        }
    };
    let band_occupied = |group: &str| -> Result<f64> {
        by_age
            .iter()
            .find(|r| r[0] == "Grupos de Idade" && r[1] == group)
            .map(|r| number(&r[2]))
            .ok_or_else(|| derr(OCCUPIED_AGE_50.path, format!("no row for {group}")))
    };
    let sex_occupied: Vec<f64> =
        sexes.iter().map(|(sexo, _)| cell(sexo, "50 anos ou mais", "Ocupadas")).collect::<Result<_>>()?;
    let bands_occupied: Vec<f64> = OCCUPIED_OLD_BANDS.iter().map(|(_, g)| band_occupied(g)).collect::<Result<_>>()?;
    let pop: Vec<Vec<f64>> = sexes
        .iter()
        .map(|(sexo, _)| OCCUPIED_OLD_BANDS.iter().map(|(_, g)| population(sexo, g)).collect::<Result<Vec<_>>>())
        .collect::<Result<_>>()?;
    let (sum_sex, sum_bands): (f64, f64) = (sex_occupied.iter().sum(), bands_occupied.iter().sum());
    if (sum_sex - sum_bands).abs() > 1e-4 * sum_sex {
        return Err(derr(
            OCCUPIED_AGE_50.path,
            format!("occupied 50+ by band ({sum_bands:.0}) differs from Tabela 1.1.10's total ({sum_sex:.0})"),
        ));
    }
    let cols = OCCUPIED_OLD_BANDS.len();
    let seed: Vec<f64> = pop.iter().flatten().copied().collect();
    let (fitted, _) = crate::derive::ipf::fit_2d(&seed, sexes.len(), cols, &sex_occupied, &bands_occupied, 200);
    for (i, (_, sex)) in sexes.iter().enumerate() {
        for (j, (label, _)) in OCCUPIED_OLD_BANDS.iter().enumerate() {
            let occupied = fitted[i * cols + j].min(pop[i][j]);
            out.push(vec![sex.to_string(), label.to_string(), "sim".into(), format!("{occupied:.3}")]);
            out.push(vec![sex.to_string(), label.to_string(), "não".into(), format!("{:.3}", pop[i][j] - occupied)]);
        }
    }
    Ok(out)
}

type OccupationTables = (Vec<Vec<String>>, Vec<Vec<String>>, Vec<(String, String)>);

/// (sex, occupation, weight) over the finest published COD codes; (occupation, group); and each
/// occupation's (COD code, title).
fn occupation(raw_dir: &Path) -> Result<OccupationTables> {
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
    let titles = leaves.iter().map(|c| (c.0.clone(), c.2.clone())).collect();
    Ok((rows, groups, titles))
}
