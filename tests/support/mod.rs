pub mod cluster;
pub mod fake_llm;
pub mod weed;
