//! The occupation string of the Japan pack, as Nemotron-Personas-Japan writes it: industry
//! [+ firm size] [+ 経営] [+ (現在は引退) | (現在は離職)], or 学生.

use super::Rows;

/// The occupation string of Nemotron-Personas-Japan for a status, industry and firm size.
pub fn occupation_of(status: &str, industry: &str, size: &str) -> String {
    if status == "学生" {
        return "学生".into();
    }
    let mut out = industry.to_string();
    if !size.is_empty() {
        out.push(' ');
        out.push_str(size);
    }
    match status {
        "経営" => out.push_str(" 経営"),
        "引退" => out.push_str(" (現在は引退)"),
        "家事" | "無職" => out.push_str(" (現在は離職)"),
        _ => {}
    }
    out
}

/// The deterministic occupation table (work_status, industry, firm_size, occupation, weight)
/// over every combination the firm-size table can produce.
pub fn occupation_rows(firm: &Rows) -> Rows {
    let mut seen = std::collections::BTreeSet::new();
    for r in firm {
        seen.insert((r[0].clone(), r[1].clone(), r[3].clone()));
    }
    seen.into_iter()
        .map(|(status, industry, size)| {
            let occ = occupation_of(&status, &industry, &size);
            vec![status, industry, size, occ, "1".into()]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupation_is_written_as_nemotron_writes_it() {
        assert_eq!(occupation_of("就業", "製造業", "大手"), "製造業 大手");
        assert_eq!(occupation_of("経営", "建設業", "中小"), "建設業 中小 経営");
        assert_eq!(occupation_of("引退", "運輸業，郵便業", "中堅"), "運輸業，郵便業 中堅 (現在は引退)");
        assert_eq!(occupation_of("家事", "医療，福祉", "中小"), "医療，福祉 中小 (現在は離職)");
        assert_eq!(occupation_of("就業", "公務", ""), "公務");
        assert_eq!(occupation_of("学生", "", ""), "学生");
    }
}
