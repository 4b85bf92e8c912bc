//! Population of the Brazil pack and where it lives: persons by state × sex × single age (IBGE
//! projection 2018, year 2022) and municipalities within states (Censo 2022).

use std::collections::HashMap;
use std::path::Path;

use super::{uf_name, FEMALE, MALE, MAX_AGE, UFS, YEAR};
use crate::derive::xlsx::{num, sheet, text};
use crate::derive::{derr, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub(super) const POPULATION: SourceSpec<'static> = SourceSpec {
    id: "ibge_projecao_2018_uf_sexo_idade",
    path: "brazil/population/projecoes_2018_populacao_2010_2060_20200406.xls",
    publisher: "IBGE, Coordenação de População e Indicadores Sociais",
    table: "Projeção da população do Brasil e Unidades da Federação por sexo e idade 2010-2060 (5-year groups, one sheet per UF)",
    vintage: "2018 revision; year 2022 taken",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "reginaparadela/Paper_datasus@24931748720a:projecoes_2018_populacao_2010_2060_20200406.xls",
};
pub(super) const MUNICIPALITIES: SourceSpec<'static> = SourceSpec {
    id: "ibge_censo2022_populacao_municipio",
    path: "brazil/population/CD2022_Populacao_Coletada_Imputada_e_Total_Municipio_e_UF.xlsx",
    publisher: "IBGE, Censo Demográfico 2022",
    table: "População coletada, imputada e total por município e UF (primeiros resultados)",
    vintage: "Censo 2022, published 28 June 2023",
    licence: "IBGE open data (reuse with attribution)",
    carrier: "estatista/curso_r@91eceeae6473:CD2022_Populacao_Coletada_Imputada_e_Total_Municipio_e_UF.xlsx",
};

/// Writes `population_state_sex_age.csv` and `municipality_model.csv` with their choices and
/// returns the municipality rows (state, municipality, weight).
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<Vec<Vec<String>>> {
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

    // The size of each municipality, for narratives that must not put a shopping centre or a metro in a
    // town of 8,000, or send a state capital's residents on a trip to their own city's sights.
    let sizes = municipality_sizes(&municipalities)?;
    tables.push(write_table(
        out_dir,
        "municipality_size.csv",
        &["municipality", "size"],
        &sizes,
        &[MUNICIPALITIES.id],
        "Key `state/municipality`; size = `capital` (the state capital), else by POP. TOTAL: `grande` >= 200,000, \
         `media` 50,000-199,999, `pequena` 20,000-49,999, `micro` < 20,000. Read by the narrative pack only.",
    )?);

    Ok(municipalities)
}

/// The capital of each state.
const CAPITALS: [(&str, &str); 27] = [
    ("Rondônia", "Porto Velho"),
    ("Acre", "Rio Branco"),
    ("Amazonas", "Manaus"),
    ("Roraima", "Boa Vista"),
    ("Pará", "Belém"),
    ("Amapá", "Macapá"),
    ("Tocantins", "Palmas"),
    ("Maranhão", "São Luís"),
    ("Piauí", "Teresina"),
    ("Ceará", "Fortaleza"),
    ("Rio Grande do Norte", "Natal"),
    ("Paraíba", "João Pessoa"),
    ("Pernambuco", "Recife"),
    ("Alagoas", "Maceió"),
    ("Sergipe", "Aracaju"),
    ("Bahia", "Salvador"),
    ("Minas Gerais", "Belo Horizonte"),
    ("Espírito Santo", "Vitória"),
    ("Rio de Janeiro", "Rio de Janeiro"),
    ("São Paulo", "São Paulo"),
    ("Paraná", "Curitiba"),
    ("Santa Catarina", "Florianópolis"),
    ("Rio Grande do Sul", "Porto Alegre"),
    ("Mato Grosso do Sul", "Campo Grande"),
    ("Mato Grosso", "Cuiabá"),
    ("Goiás", "Goiânia"),
    ("Distrito Federal", "Brasília"),
];

/// Rows (`state/municipality`, size class) of the municipality rows (state, municipality, weight).
fn municipality_sizes(municipalities: &[Vec<String>]) -> Result<Vec<Vec<String>>> {
    let path = MUNICIPALITIES.path;
    let mut rows = Vec::with_capacity(municipalities.len());
    for row in municipalities {
        let [state, name, weight] = row.as_slice() else {
            return Err(derr(path, format!("a municipality row of {} cells: {row:?}", row.len())));
        };
        let population: f64 = weight
            .parse()
            .map_err(|_| derr(path, format!("{name} ({state}): population {weight:?} is not a number")))?;
        let size = if CAPITALS.contains(&(state.as_str(), name.as_str())) {
            "capital"
        } else if population >= 200_000.0 {
            "grande"
        } else if population >= 50_000.0 {
            "media"
        } else if population >= 20_000.0 {
            "pequena"
        } else {
            "micro"
        };
        rows.push(vec![format!("{state}/{name}"), size.to_string()]);
    }
    let capitals = rows.iter().filter(|r| r[1] == "capital").count();
    if capitals != CAPITALS.len() {
        return Err(derr(path, format!("found {capitals} of the {} state capitals by name", CAPITALS.len())));
    }
    Ok(rows)
}

/// Rows (state, sex, age, weight) from the projection workbook.
fn population(raw_dir: &Path) -> Result<Vec<Vec<String>>> {
    let path = POPULATION.path;
    let old = crate::derive::old_age_shares(90, MAX_AGE);
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
pub(super) fn fold(name: &str) -> String {
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
