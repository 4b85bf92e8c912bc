//! personadb's session settings, set with `SET personadb.<name> = <value>`.

use datafusion::common::extensions_options;
use datafusion::config::ConfigExtension;

extensions_options! {
    /// Session settings of personadb's SQL functions.
    pub struct PersonadbOptions {
        /// The narrator behind `generate_narrative`: 'template' (offline, the default) or
        /// 'llm' (the OpenAI-compatible server configured by PERSONADB_LLM_* / PERSONADB_LLM_CONFIG).
        pub narrator: String, default = "template".to_string()
    }
}

impl ConfigExtension for PersonadbOptions {
    const PREFIX: &'static str = "personadb";
}
