//! The SQL session: a DataFusion `SessionContext` whose tables are the database's Lance
//! datasets, with personadb's functions registered. Statements that change what tables exist
//! (CREATE TABLE, CREATE TABLE AS, DROP TABLE) are routed to the database so they persist;
//! everything else is ordinary DataFusion.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::{exec_err, DataFusionError};
use datafusion::logical_expr::{CreateMemoryTable, DdlStatement, DropTable, LogicalPlan};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::{
    FunctionArg, FunctionArgExpr, TableFactor, Value, ValueWithSpan, Visit, Visitor,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;

use crate::database::{Database, WriteKind};
use crate::error::{Error, Result};
use crate::storage::LanceTable;

/// The deepest expression a statement may hold. DataFusion clones, plans and evaluates
/// expressions by recursion, and a chain of a few thousand `+` or `OR` overflows a 2 MB thread
/// stack (a tokio worker's), which aborts the process; a thousand levels leave room to spare.
pub const MAX_EXPRESSION_DEPTH: usize = 1_000;

/// Refuses SQL text holding an expression deeper than [`MAX_EXPRESSION_DEPTH`], before it is
/// parsed (dropping a deep syntax tree recurses too). The depth is estimated from the tokens:
/// each binary operator of a chain adds a level, each open parenthesis or bracket one more;
/// commas and clause keywords end a chain. Text that does not tokenize is left to the parser.
pub fn check_statement_depth(sql: &str) -> Result<()> {
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else { return Ok(()) };
    // Operators in the current chain of each open group; `levels` is their sum.
    let mut chains: Vec<usize> = vec![0];
    let mut levels = 0usize;
    for token in &tokens {
        let operator = match token {
            Token::LParen | Token::LBracket | Token::LBrace => {
                chains.push(0);
                false
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                if chains.len() > 1 {
                    levels -= chains.pop().unwrap_or(0);
                }
                false
            }
            Token::Comma | Token::SemiColon => {
                if let Some(last) = chains.last_mut() {
                    levels -= *last;
                    *last = 0;
                }
                false
            }
            Token::Word(w) => match w.keyword {
                Keyword::AND
                | Keyword::OR
                | Keyword::NOT
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::IN
                | Keyword::IS
                | Keyword::BETWEEN => true,
                Keyword::SELECT
                | Keyword::FROM
                | Keyword::WHERE
                | Keyword::GROUP
                | Keyword::ORDER
                | Keyword::HAVING
                | Keyword::LIMIT
                | Keyword::ON
                | Keyword::WHEN
                | Keyword::THEN
                | Keyword::ELSE
                | Keyword::END
                | Keyword::UNION
                | Keyword::VALUES => {
                    if let Some(last) = chains.last_mut() {
                        levels -= *last;
                        *last = 0;
                    }
                    false
                }
                _ => false,
            },
            Token::Ampersand | Token::Pipe | Token::Caret | Token::DoubleColon => true,
            t => crate::model::evidence::is_comparison_or_arithmetic(t),
        };
        if operator {
            if let Some(last) = chains.last_mut() {
                *last += 1;
                levels += 1;
            }
        }
        let depth = levels + chains.len();
        if depth > MAX_EXPRESSION_DEPTH {
            return Err(Error::InvalidArgument {
                name: format!("statement `{}`", crate::error::shorten(sql, 60)),
                reason: format!(
                    "an expression nested more than {MAX_EXPRESSION_DEPTH} levels deep (operators in one chain, \
                     parentheses); list many alternatives with IN (...) or split the expression"
                ),
            });
        }
    }
    Ok(())
}

/// A SQL session over one database.
#[derive(Clone)]
pub struct PersonaSession {
    db: Arc<Database>,
    ctx: SessionContext,
    schema: Arc<DatabaseSchema>,
    stratifier: Arc<crate::stratify::Stratifier>,
    searcher: Arc<crate::search::Searcher>,
    duplicates: Arc<crate::diversity::sql::Finder>,
    cache: Option<Arc<crate::hot::HotCache>>,
}

impl std::fmt::Debug for PersonaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonaSession").field("db", &self.db.dir()).finish()
    }
}

impl PersonaSession {
    /// A session over `db` with every personadb function registered.
    pub fn new(db: Arc<Database>) -> Result<Self> {
        Self::with_cache(db, None)
    }

    /// A session that keeps the decoded columns its statements read in `cache` (see
    /// [`crate::hot`]): for sessions that run many statements, like `serve` and `shell`. One
    /// cache can serve several sessions of the same database.
    pub fn with_cache(db: Arc<Database>, cache: Option<Arc<crate::hot::HotCache>>) -> Result<Self> {
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_option_extension(personadb_udfs::PersonadbOptions::default());
        let state = datafusion::execution::SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rules(crate::window_topk::WindowTopK::with_default_rules())
            .build();
        let ctx = SessionContext::new_with_state(state);
        let schema = Arc::new(DatabaseSchema {
            db: db.clone(),
            session_tables: RwLock::new(HashMap::new()),
            cache: cache.clone(),
        });
        let catalog = ctx
            .catalog("datafusion")
            .ok_or_else(|| Error::Unsupported("DataFusion's default catalog is missing".into()))?;
        catalog.register_schema("public", schema.clone())?;
        let stratifier = Arc::new(crate::stratify::Stratifier::default());
        let mut backends = crate::backends::backends();
        backends.stratifier = Some(stratifier.clone());
        let searcher = Arc::new(crate::search::Searcher::new(db.clone(), cache.clone()));
        backends.searcher = Some(searcher.clone());
        let duplicates = Arc::new(crate::diversity::sql::Finder::default());
        backends.duplicates = Some(duplicates.clone());
        personadb_udfs::register_all(&ctx, backends)?;
        Ok(PersonaSession { db, ctx, schema, stratifier, searcher, duplicates, cache })
    }

    /// The session's cache of decoded columns, when it has one.
    pub fn cache(&self) -> Option<&Arc<crate::hot::HotCache>> {
        self.cache.as_ref()
    }

    /// The DataFusion context, for registering more functions or tables.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The database.
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    /// Makes `table` available to `semantic_search` in plans built without SQL text.
    pub(crate) fn prepare_search(&self, name: &str, dataset: Arc<lance::Dataset>) {
        self.searcher.prepare(name, dataset);
    }

    /// Splits SQL text into statements, refusing expressions too deep to plan
    /// ([`check_statement_depth`]).
    pub fn parse(&self, sql: &str) -> Result<Vec<Statement>> {
        check_statement_depth(sql)?;
        Ok(DFParser::parse_sql_with_dialect(sql, &GenericDialect {})?.into_iter().collect())
    }

    /// Runs one statement and streams its result.
    pub async fn execute(&self, statement: Statement) -> Result<SendableRecordBatchStream> {
        if let Statement::Statement(s) = &statement {
            if matches!(**s, datafusion::sql::sqlparser::ast::Statement::ShowTables { .. }) {
                // Only the user's tables, not DataFusion's information_schema views.
                return self
                    .sql_stream(
                        "SELECT table_name, table_type FROM information_schema.tables \
                         WHERE table_catalog = 'datafusion' AND table_schema = 'public' ORDER BY table_name",
                    )
                    .await;
            }
        }
        let plan = self.plan(statement).await?;
        self.execute_plan(plan).await
    }

    /// Plans one statement: opens the tables its table functions sample or search, matches
    /// `INSERT ... SELECT` columns by name, and refuses files SQL may not touch. The plan is run
    /// by [`PersonaSession::execute_plan`] (after its parameters, if any, are given values).
    pub async fn plan(&self, statement: Statement) -> Result<LogicalPlan> {
        if let Statement::Statement(s) = &statement {
            // Table functions are planned synchronously: open the tables they sample first.
            for name in table_function_tables(s, personadb_udfs::stratified_sample::NAME) {
                if let Some(table) = self.schema.table(&name).await? {
                    self.stratifier.prepare(&name, table);
                }
            }
            for name in table_function_tables(s, personadb_udfs::near_duplicates::NAME) {
                if let Some(table) = self.schema.table(&name).await? {
                    self.duplicates.prepare(&name, table);
                }
            }
            let searched = personadb_udfs::semantic_search::NAMES.iter().flat_map(|f| table_function_tables(s, f));
            for name in searched.collect::<Vec<_>>() {
                if self.db.table_exists(&name) {
                    self.searcher.prepare(&name, Arc::new(self.db.open_table(&name).await?));
                }
            }
        }
        let statement = self.insert_by_name(statement).await?;
        let state = self.ctx.state();
        let plan = state.statement_to_plan(statement).await?;
        // Files SQL would touch: never inside the database directory, and a COPY only where a
        // file can really be written.
        match &plan {
            LogicalPlan::Copy(copy) => crate::output_path::check_copy_target(
                self.db.dir(),
                &copy.output_url,
                crate::output_path::copy_is_single_file(&copy.output_url, &copy.options),
            )?,
            LogicalPlan::Ddl(DdlStatement::CreateExternalTable(create)) => {
                crate::output_path::check_outside(self.db.dir(), &create.location, "external table location")?
            }
            _ => {}
        }
        // Protected attributes left out of the files COPY writes, when the session asks.
        let drop = state
            .config()
            .options()
            .extensions
            .get::<personadb_udfs::PersonadbOptions>()
            .map(|o| o.drop_protected.clone())
            .unwrap_or_default();
        let plan = crate::protected::copy_without(plan, &crate::protected::columns(&drop))?;
        // Files carry plain strings, whatever reads them.
        let plan = match plan {
            LogicalPlan::Copy(mut copy) => {
                copy.input = Arc::new(crate::columns::plain_text_plan(Arc::unwrap_or_clone(copy.input))?);
                LogicalPlan::Copy(copy)
            }
            other => other,
        };
        Ok(plan)
    }

    /// Runs a plan made by [`PersonaSession::plan`]: tables created or dropped persist in the
    /// database; everything else is ordinary DataFusion.
    pub async fn execute_plan(&self, plan: LogicalPlan) -> Result<SendableRecordBatchStream> {
        match plan {
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(create)) => self.create_table(create).await,
            LogicalPlan::Ddl(DdlStatement::DropTable(drop)) => self.drop_table(drop).await,
            plan => Ok(self.ctx.execute_logical_plan(plan).await?.execute_stream().await?),
        }
    }

    /// `INSERT INTO t SELECT ...` whose query gives fewer columns than `t` has, every one named
    /// like a column of `t`: the columns are matched by name, as if the statement listed them
    /// (the others are NULL, or written by the table: narratives and their embeddings). So
    /// `INSERT INTO narrated SELECT * FROM sample_persona(...)` adds narrated personas.
    pub(crate) async fn insert_by_name(&self, statement: Statement) -> Result<Statement> {
        use datafusion::sql::sqlparser::ast;
        let Statement::Statement(boxed) = &statement else { return Ok(statement) };
        let ast::Statement::Insert(insert) = boxed.as_ref() else { return Ok(statement) };
        let (Some(source), ast::TableObject::TableName(name)) = (&insert.source, &insert.table) else {
            return Ok(statement);
        };
        let Some(table) = name.0.last().and_then(|part| part.as_ident()).map(|i| i.value.clone()) else {
            return Ok(statement);
        };
        if !insert.columns.is_empty() || name.0.len() != 1 || !self.db.table_exists(&table) {
            return Ok(statement);
        }
        let target = arrow::datatypes::Schema::from(self.db.open_table(&table).await?.schema());
        let query = Statement::Statement(Box::new(ast::Statement::Query(source.clone())));
        let plan = self.ctx.state().statement_to_plan(query).await?;
        let names: Vec<String> = plan.schema().fields().iter().map(|f| f.name().clone()).collect();
        if names.len() >= target.fields().len() || !names.iter().all(|n| target.field_with_name(n).is_ok()) {
            return Ok(statement);
        }
        let mut insert = insert.clone();
        insert.columns =
            names.iter().map(|n| ast::ObjectName::from(vec![ast::Ident::with_quote('"', n.as_str())])).collect();
        Ok(Statement::Statement(Box::new(ast::Statement::Insert(insert))))
    }

    async fn sql_stream(&self, sql: &str) -> Result<SendableRecordBatchStream> {
        Ok(self.ctx.sql(sql).await?.execute_stream().await?)
    }

    /// Runs every statement in `sql` and returns the last one's rows.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let mut last = Vec::new();
        for statement in self.parse(sql)? {
            let stream = self.execute(statement).await?;
            last = datafusion::physical_plan::common::collect(stream).await?;
        }
        Ok(last)
    }

    async fn create_table(&self, create: CreateMemoryTable) -> Result<SendableRecordBatchStream> {
        let name = create.name.table().to_string();
        Database::validate_name(&name)?;
        if create.temporary {
            return Err(Error::Unsupported(
                "CREATE TEMPORARY TABLE (personadb tables are persistent; use CREATE VIEW for a session-scoped name)"
                    .into(),
            ));
        }
        let exists = self.db.table_exists(&name) || self.schema.has_session_table(&name);
        let kind = match (exists, create.if_not_exists, create.or_replace) {
            (true, true, _) => return Ok(empty_stream()),
            (true, false, true) => WriteKind::Replace,
            (true, false, false) => return Err(Error::TableExists { name }),
            (false, _, _) => WriteKind::Create,
        };
        if self.schema.has_session_table(&name) {
            return Err(Error::TableExists { name });
        }
        let embedded = embed_columns(&create.input);
        let input = self.ctx.execute_logical_plan((*create.input).clone()).await?.execute_stream().await?;
        self.db.write_stream(&name, input, kind, None).await?;
        if !embedded.is_empty() {
            let model = crate::embed::FastEmbedder::shared()?;
            let catalog = self.db.catalog()?;
            for column in embedded {
                catalog.put_embedding(&name, &column, model.model(), model.dimension())?;
            }
        }
        Ok(empty_stream())
    }

    async fn drop_table(&self, drop: DropTable) -> Result<SendableRecordBatchStream> {
        let name = drop.name.table().to_string();
        if self.db.table_exists(&name) {
            self.db.drop_table(&name).await?;
        } else if !self.schema.remove_session_table(&name) && !drop.if_exists {
            return Err(Error::TableNotFound { name });
        }
        Ok(empty_stream())
    }
}

/// The output columns of a query that are `embed(...)` of something: their model is the
/// session's, recorded in the catalog so searches can check it.
fn embed_columns(plan: &LogicalPlan) -> Vec<String> {
    match plan {
        LogicalPlan::Projection(p) => p
            .expr
            .iter()
            .zip(p.schema.fields())
            .filter(|(e, _)| {
                matches!((*e).clone().unalias_nested().data, datafusion::logical_expr::Expr::ScalarFunction(ref f)
                    if f.name() == personadb_udfs::embed::NAME)
            })
            .map(|(_, f)| f.name().clone())
            .collect(),
        LogicalPlan::Limit(l) => embed_columns(&l.input),
        LogicalPlan::Sort(s) => embed_columns(&s.input),
        LogicalPlan::Filter(f) => embed_columns(&f.input),
        _ => Vec::new(),
    }
}

fn empty_stream() -> SendableRecordBatchStream {
    let schema: SchemaRef = Arc::new(Schema::empty());
    Box::pin(RecordBatchStreamAdapter::new(schema, futures::stream::empty()))
}

/// The `public` schema: the database's Lance tables, plus session-scoped views and external
/// tables that DataFusion registers (those vanish with the session).
#[derive(Debug)]
struct DatabaseSchema {
    db: Arc<Database>,
    session_tables: RwLock<HashMap<String, Arc<dyn TableProvider>>>,
    cache: Option<Arc<crate::hot::HotCache>>,
}

impl DatabaseSchema {
    fn has_session_table(&self, name: &str) -> bool {
        self.session_tables.read().map(|t| t.contains_key(name)).unwrap_or(false)
    }

    fn remove_session_table(&self, name: &str) -> bool {
        self.session_tables.write().map(|mut t| t.remove(name).is_some()).unwrap_or(false)
    }
}

#[async_trait]
impl SchemaProvider for DatabaseSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.db.table_names();
        if let Ok(t) = self.session_tables.read() {
            names.extend(t.keys().cloned());
        }
        names.sort();
        names
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.session_tables.read().ok().and_then(|t| t.get(name).cloned()) {
            return Ok(Some(t));
        }
        if !self.db.table_exists(name) {
            return Ok(None);
        }
        Ok(Some(Arc::new(LanceTable::open_with(self.db.clone(), name, self.cache.clone()).await?)))
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        if self.db.table_exists(&name) {
            return exec_err!("table '{name}' already exists");
        }
        let mut tables = self
            .session_tables
            .write()
            .map_err(|_| DataFusionError::Execution("session table registry poisoned".into()))?;
        Ok(tables.insert(name, table))
    }

    fn deregister_table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        let mut tables = self
            .session_tables
            .write()
            .map_err(|_| DataFusionError::Execution("session table registry poisoned".into()))?;
        Ok(tables.remove(name))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.has_session_table(name) || self.db.table_exists(name)
    }
}

/// The first arguments (string literals) of every call of table function `function` in a
/// statement.
pub(crate) fn table_function_tables(
    statement: &datafusion::sql::sqlparser::ast::Statement,
    function: &str,
) -> Vec<String> {
    struct Finder<'a>(Vec<String>, &'a str);
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> std::ops::ControlFlow<()> {
            if let TableFactor::Table { name, args: Some(args), .. } = factor {
                let is_ours = name.0.last().map(|p| p.to_string().eq_ignore_ascii_case(self.1));
                if is_ours == Some(true) {
                    if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(
                        datafusion::sql::sqlparser::ast::Expr::Value(ValueWithSpan {
                            value: Value::SingleQuotedString(s),
                            ..
                        }),
                    ))) = args.args.first()
                    {
                        self.0.push(s.clone());
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut finder = Finder(Vec::new(), function);
    let _ = statement.visit(&mut finder);
    finder.0
}

#[cfg(test)]
mod table_function_tests {
    use super::*;

    #[test]
    fn finds_sampled_tables() {
        let stmts = DFParser::parse_sql("SELECT * FROM stratified_sample('people', 'sex', 10) JOIN t ON true").unwrap();
        let Statement::Statement(s) = &stmts[0] else { panic!() };
        assert_eq!(table_function_tables(s, personadb_udfs::stratified_sample::NAME), vec!["people".to_string()]);
    }
}
