//! Population of the Japan pack: persons by prefecture × sex × single year of age (Census
//! 2020, 第2-1表), each prefecture with its 地方 and half of Japan.

use std::collections::BTreeMap;
use std::path::Path;

use super::{region_of, Rows, FEMALE, MALE, MAX_AGE, MIN_AGE};
use crate::derive::{derr, field, read_csv, write_table, SourceSpec, TableRecord};
use crate::error::Result;

pub(super) const POPULATION: SourceSpec<'static> = SourceSpec {
    id: "census2020_table2_1",
    path: "japan/population/census2020_table2-1_pop_by_sex_single_age_prefecture_city.csv",
    publisher: "総務省統計局 (Statistics Bureau of Japan), e-Stat",
    table: "令和2年国勢調査 人口等基本集計 第2-1表: population by sex and single year of age, 全国 and prefectures",
    vintage: "Census 2020 (1 October 2020)",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier:
        "bantai-education-design/bantai-education-design.github.io@22ec39f78799:data-source/census2020/table2-1.xlsx",
};

/// Writes `population.csv` with its choices and returns the persons by (prefecture, sex, age).
pub(super) fn write(
    raw_dir: &Path,
    out_dir: &Path,
    tables: &mut Vec<TableRecord>,
    choices: &mut Vec<String>,
) -> Result<BTreeMap<(String, &'static str, u32), u64>> {
    // Population: area × region × prefecture × sex × single age, 18+.
    let population = population(raw_dir)?;
    let rows: Rows = population
        .iter()
        .map(|((pref, sex, age), w)| {
            let (region, area) = region_of(pref).unwrap_or(("", ""));
            vec![area.into(), region.into(), pref.clone(), sex.to_string(), age.to_string(), format!("{w}")]
        })
        .collect();
    tables.push(write_table(
        out_dir,
        "population.csv",
        &["area", "region", "prefecture", "sex", "age", "weight"],
        &rows,
        &[POPULATION.id],
        "Census 2020 第2-1表, all nationalities, the 47 prefectures (全国 and city rows dropped), men and women, \
         ages 18-99 as published and 100-109 with 110+ folded into 100; persons of unknown age (不詳, not \
         imputed in the basic tabulation) left out, which keeps each prefecture's known-age structure; each \
         prefecture carries its 地方 and 東日本/西日本 (fixed mapping). Weight = persons.",
    )?);
    choices.push(format!(
        "Ages {MIN_AGE} and over (adults; the age of majority since 2022). Prefecture × sex × age is the census \
         count of all residents, Japanese and foreign, as the census counts them; 100 and over are one age."
    ));
    choices.push(
        "地方 and 東日本/西日本 are fixed functions of the prefecture: the eight-region school division (三重県 in \
         近畿地方, 沖縄県 in 九州地方, as in Nemotron-Personas-Japan), 北海道・東北・関東・中部 = 東日本, \
         近畿・中国・四国・九州 = 西日本."
            .into(),
    );
    Ok(population)
}

/// Persons by (prefecture, sex, age) from 第2-1表, ages [`MIN_AGE`]..=[`MAX_AGE`].
pub(super) fn population(raw_dir: &Path) -> Result<BTreeMap<(String, &'static str, u32), u64>> {
    let path = POPULATION.path;
    let mut out: BTreeMap<(String, &'static str, u32), u64> = BTreeMap::new();
    let mut prefectures = Vec::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "nationality", path)? != "all" || field(&row, "area_level", path)? != "national_or_prefecture" {
            continue;
        }
        let name = field(&row, "area_name", path)?;
        if name == "全国" {
            continue;
        }
        if region_of(name).is_none() {
            return Err(derr(path, format!("prefecture `{name}` is in no region of the mapping")));
        }
        let sex = match field(&row, "sex", path)? {
            "male" => MALE,
            "female" => FEMALE,
            _ => continue,
        };
        if !prefectures.contains(&name.to_string()) {
            prefectures.push(name.to_string());
        }
        for age in MIN_AGE..=110 {
            let column = if age == 110 { "age_110plus".to_string() } else { format!("age_{age}") };
            let value = field(&row, &column, path)?;
            let persons: u64 = value.parse().map_err(|_| derr(path, format!("`{column}` of {name} is `{value}`")))?;
            *out.entry((name.to_string(), sex, age.min(MAX_AGE))).or_default() += persons;
        }
    }
    if prefectures.len() != 47 {
        return Err(derr(path, format!("expected 47 prefectures, found {}", prefectures.len())));
    }
    Ok(out)
}
