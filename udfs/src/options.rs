//! personadb's session settings, set with `SET personadb.<name> = <value>`.

use datafusion::common::extensions_options;
use datafusion::config::ConfigExtension;

extensions_options! {
    /// Session settings of personadb's SQL functions.
    pub struct PersonadbOptions {
        /// The narrator behind `generate_narrative`: 'template' (offline, the default) or
        /// 'llm' (the OpenAI-compatible server configured by PERSONADB_LLM_* / PERSONADB_LLM_CONFIG).
        pub narrator: String, default = "template".to_string()
        /// The locale whose narrator `generate_narrative` uses for rows without a `locale`
        /// column: a locale name or alias; '' (the default) takes it from each row's `country`
        /// column (`Brasil` is br), else the US.
        pub locale: String, default = String::new()
        /// The narrative language ('' for the locale's first): e.g. 'hi-Latn'.
        pub language: String, default = String::new()
        /// Columns that `COPY` leaves out of the files it writes, comma-separated; the word
        /// `protected` stands for every locale pack's protected attributes (race, ethnicity,
        /// religion). '' (the default) keeps every column. E.g. 'protected, sex'.
        pub drop_protected: String, default = String::new()
    }
}

impl ConfigExtension for PersonadbOptions {
    const PREFIX: &'static str = "personadb";
}
