//! Industry of the Japan pack: ILOSTAT's employment by sex × ISIC section, relabelled with the
//! JSIC 大分類 each section holds in ILOSTAT's Japan series.

use std::collections::BTreeMap;
use std::path::Path;

use super::work::WORK_STATUSES;
use super::{ilo_sex, num, Rows, SEXES};
use crate::derive::{derr, field, read_csv, SourceSpec};
use crate::error::Result;

/// The latest year ILOSTAT has ISIC sections for Japan.
pub const INDUSTRY_YEAR: &str = "2022";

/// ILOSTAT's ISIC sections for Japan (its re-coding of the JSIC tabulation) → the JSIC 大分類
/// label used in `occupation`. A holds farming, forestry and fishing together (no table splits
/// them); D and E (energy, water, sewerage and waste) are JSIC's 電気・ガス・熱供給・水道業; R and S
/// (arts and recreation, personal services) its 生活関連サービス業，娯楽業; N and U (U, "extraterritorial",
/// holds over a million persons in ILOSTAT's Japan series, a re-coding artefact) its サービス業（他に分類
/// されないもの）. X (not classifiable) is left out and the rest renormalised.
pub const INDUSTRIES: [(&str, &str); 20] = [
    ("A", "農林漁業"),
    ("B", "鉱業，採石業，砂利採取業"),
    ("C", "製造業"),
    ("D", "電気・ガス・熱供給・水道業"),
    ("E", "電気・ガス・熱供給・水道業"),
    ("F", "建設業"),
    ("G", "卸売業，小売業"),
    ("H", "運輸業，郵便業"),
    ("I", "宿泊業，飲食サービス業"),
    ("J", "情報通信業"),
    ("K", "金融業，保険業"),
    ("L", "不動産業，物品賃貸業"),
    ("M", "学術研究，専門・技術サービス業"),
    ("N", "サービス業（他に分類されないもの）"),
    ("U", "サービス業（他に分類されないもの）"),
    ("O", "公務"),
    ("P", "教育，学習支援業"),
    ("Q", "医療，福祉"),
    ("R", "生活関連サービス業，娯楽業"),
    ("S", "生活関連サービス業，娯楽業"),
];

/// Industries whose persons carry no firm size (as in Nemotron-Personas-Japan: "地方公務員",
/// "農業"): the public service and farming, forestry and fishing.
pub const UNSIZED: [&str; 2] = ["公務", "農林漁業"];

pub const INDUSTRY: SourceSpec<'static> = SourceSpec {
    id: "ilostat_jpn_employment_sex_isic4",
    path: "datasets/jp/sources/h3_ilostat_jpn_employment_by_sex_isic4_2018_2025.csv",
    publisher: "ILO (ILOSTAT) from the Statistics Bureau of Japan's Labour Force Survey",
    table: "Employment by sex and economic activity, ISIC Rev.4 sections (EMP_TEMP_SEX_ECO_NB), thousands",
    vintage: "LFS annual averages 2018-2022 (2022 used)",
    licence: "CC BY 4.0 (ILOSTAT)",
    carrier: "open-numbers/ddf--ilo--ilostat (see datasets/jp/sources/h3_PROVENANCE.md)",
};

/// Employment in thousands by (sex, JSIC label) for [`INDUSTRY_YEAR`].
pub fn industry_by_sex(raw_dir: &Path) -> Result<BTreeMap<(&'static str, &'static str), f64>> {
    let path = INDUSTRY.path;
    let mut out: BTreeMap<(&'static str, &'static str), f64> = BTreeMap::new();
    let mut seen = 0;
    for row in read_csv(raw_dir, path)? {
        if field(&row, "year", path)? != INDUSTRY_YEAR || field(&row, "level", path)? != "isic4_section" {
            continue;
        }
        let Some(sex) = ilo_sex(field(&row, "sex", path)?) else { continue };
        let code = field(&row, "code", path)?;
        let value = num(path, "value_thousands", field(&row, "value_thousands", path)?)?;
        match INDUSTRIES.iter().find(|(c, _)| *c == code) {
            Some((_, label)) => {
                *out.entry((sex, label)).or_default() += value;
                seen += 1;
            }
            None if code == "X" || code == "total" => {}
            None => return Err(derr(path, format!("section `{code}` has no JSIC label in the mapping"))),
        }
    }
    if seen != INDUSTRIES.len() * 2 {
        return Err(derr(path, format!("expected every mapped section for both sexes in {INDUSTRY_YEAR}, got {seen}")));
    }
    Ok(out)
}

/// The industry table (work_status, sex, industry, weight): the employed's industries by sex
/// for every status but 学生 (none); 経営 never in the public service.
pub fn industry_rows(by_sex: &BTreeMap<(&'static str, &'static str), f64>) -> Rows {
    let mut rows = Vec::new();
    for status in WORK_STATUSES {
        for sex in SEXES {
            if status == "学生" {
                rows.push(vec![status.into(), sex.into(), String::new(), "1".into()]);
                continue;
            }
            for ((s, label), w) in by_sex {
                if *s != sex || (status == "経営" && *label == "公務") {
                    continue;
                }
                rows.push(vec![status.into(), sex.into(), label.to_string(), format!("{:.0}", w * 1000.0)]);
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_but_not_classifiable_has_a_label_and_unsized_industries_exist() {
        for code in ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "U"]
        {
            assert!(INDUSTRIES.iter().any(|(c, _)| *c == code), "{code}");
        }
        for label in UNSIZED {
            assert!(INDUSTRIES.iter().any(|(_, l)| *l == label), "{label}");
        }
    }
}
