//! Template narratives through `generate`, and `report --narratives`.

use super::*;

#[test]
fn generate_with_template_narratives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(
        &db,
        &["generate", "-n", "300", "--seed", "4", "--table", "narrated", "--narrator", "template", "--embed", "none"],
    );
    // Every persona has every narrative field, names itself, and has three skills and hobbies.
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT count(*) FROM narrated WHERE persona LIKE '%' || first_name || '%' AND persona LIKE '%' || CAST(age AS VARCHAR) || '%' \
             AND professional_persona IS NOT NULL AND sports_persona IS NOT NULL AND arts_persona IS NOT NULL \
             AND travel_persona IS NOT NULL AND culinary_persona IS NOT NULL AND cultural_background IS NOT NULL \
             AND skills_and_expertise IS NOT NULL AND hobbies_and_interests IS NOT NULL AND career_goals_and_ambitions IS NOT NULL \
             AND cardinality(skills_and_expertise_list) = 3 AND cardinality(hobbies_and_interests_list) = 3",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["300"]);
    // The same seed gives the same narratives.
    ok(&db, &["generate", "-n", "300", "--seed", "4", "--table", "again", "--narrator", "template", "--embed", "none"]);
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT count(*) FROM narrated n JOIN again a ON n.uuid = a.uuid AND n.persona = a.persona",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["300"]);
    user_error(&db, &["generate", "-n", "10", "--table", "x", "--narrator", "poet"], "narrator");
}

/// `report --narratives` runs the consistency checker over every row: the template narrator's own
/// text passes; text that contradicts its row is counted per rule with examples.
#[test]
fn report_narratives_counts_violations_per_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "-n", "500", "--seed", "12", "--table", "narrated", "--embed", "none"]);
    let clean = ok(&db, &["report", "--narratives", "--table", "narrated"]);
    assert!(clean.contains("500 rows") && clean.contains("| stated_age | 0 |"), "{clean}");
    ok(
        &db,
        &[
            "sql",
            "CREATE TABLE bad AS SELECT uuid, sex, age, employment_status, \
             'A ' || CAST(age + 5 AS VARCHAR) || '-year-old who watches games on TV on TV.' AS persona FROM narrated LIMIT 7",
        ],
    );
    let bad = ok(&db, &["report", "--narratives", "--table", "bad", "--locale", "us", "--examples", "2"]);
    assert!(bad.contains("Rows with at least one violation: **7**"), "{bad}");
    assert!(bad.contains("| stated_age | 7 |") && bad.contains("| doubled_words | 7 |"), "{bad}");
    assert_eq!(bad.matches("-year-old").count(), 2, "two examples of the rule: {bad}");
    user_error(&db, &["report", "--narratives", "--table", "nope", "--locale", "us"], "nope");
}
