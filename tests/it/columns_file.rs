//! `tests/columns.tsv`, read once for both enforcement points: the API's
//! column-rule test (`columns_api.rs`) and the cloud's (`columns_rls.rs`) run
//! the same cases. The file's header comment says what each column and cell means.

use collisionos::domain::catalog::{TableId, ROLES};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Read this column of the row.
    Read(String),
    /// Set these fields on the row.
    Update(Map<String, Value>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A row of the caller's shop that is not the caller's own.
    Fixture,
    /// The caller's own user row.
    OwnUser,
}

/// One cell: may `role` do `op` on `row` of `table`?
#[derive(Debug, Clone)]
pub struct ColumnCase {
    /// Line number in the file, for messages.
    pub line: usize,
    pub table: &'static str,
    pub row: RowKind,
    pub given: Map<String, Value>,
    pub op: Op,
    /// The field a refusal names.
    pub field: Option<String>,
    pub role: &'static str,
    pub allowed: bool,
}

impl ColumnCase {
    pub fn label(&self) -> String {
        let what = match &self.op {
            Op::Read(c) => format!("read {c}"),
            Op::Update(m) => format!("set {}", Value::Object(m.clone())),
        };
        let given = if self.given.is_empty() {
            String::new()
        } else {
            format!(" given {}", Value::Object(self.given.clone()))
        };
        format!(
            "columns.tsv:{} {} {} {what} of {:?} row{given} [{}]",
            self.line,
            self.role,
            self.table,
            self.row,
            if self.allowed { '+' } else { '-' }
        )
    }
}

fn object(text: &str, line: usize) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => panic!("columns.tsv:{line}: {text:?} is not a JSON object"),
    }
}

/// Every cell of `tests/columns.tsv`, checked for shape: the header names every
/// role in order, every line has a cell per role, cells are `+` or `-`, tables
/// and columns exist in the catalog, and a line with a `-` names a field its
/// change (or read) touches.
pub fn cases() -> Vec<ColumnCase> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/columns.tsv");
    let text = std::fs::read_to_string(path).expect("read tests/columns.tsv");
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (_, header) = lines.next().expect("a header line");
    let header: Vec<&str> = header.split('\t').collect();
    assert_eq!(
        header[..6],
        ["op", "table", "row", "given", "change", "field"],
        "columns.tsv header"
    );
    assert_eq!(
        header[6..],
        *ROLES,
        "columns.tsv names every role, in order"
    );
    let mut out = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), header.len(), "columns.tsv:{n}: {line}");
        let table = TableId::by_name(cols[1])
            .unwrap_or_else(|| panic!("columns.tsv:{n}: unknown table {}", cols[1]));
        let def = table.def();
        let row = match cols[2] {
            "fixture" => RowKind::Fixture,
            "self" if def.name == "users" => RowKind::OwnUser,
            other => panic!("columns.tsv:{n}: unknown row {other:?}"),
        };
        let given = if cols[3] == "-" {
            Map::new()
        } else {
            object(cols[3], n)
        };
        let op = match cols[0] {
            "read" => Op::Read(cols[4].to_string()),
            "update" => Op::Update(object(cols[4], n)),
            other => panic!("columns.tsv:{n}: unknown op {other:?}"),
        };
        let touched: Vec<String> = match &op {
            Op::Read(c) => vec![c.clone()],
            Op::Update(m) => m.keys().cloned().collect(),
        };
        for c in touched.iter().chain(given.keys()) {
            assert!(
                def.column(c).is_some(),
                "columns.tsv:{n}: {c} is not a column of {}",
                def.name
            );
        }
        let field = (cols[5] != "-").then(|| cols[5].to_string());
        let cells: Vec<bool> = cols[6..]
            .iter()
            .map(|c| match *c {
                "+" => true,
                "-" => false,
                other => panic!("columns.tsv:{n}: unknown cell {other:?}"),
            })
            .collect();
        if matches!(op, Op::Update(_)) && cells.contains(&false) {
            let f = field
                .as_deref()
                .unwrap_or_else(|| panic!("columns.tsv:{n}: a refusal must name its field"));
            assert!(
                touched.iter().any(|t| t == f),
                "columns.tsv:{n}: {f} is not among the fields set"
            );
        }
        for (role, allowed) in ROLES.iter().zip(cells) {
            out.push(ColumnCase {
                line: n,
                table: def.name,
                row,
                given: given.clone(),
                op: op.clone(),
                field: field.clone(),
                role,
                allowed,
            });
        }
    }
    assert!(!out.is_empty(), "columns.tsv states no case");
    out
}

#[test]
fn the_column_cases_are_well_formed() {
    let cases = cases();
    // Every column rule (docs/roles.md) has cases: the rate, repair orders, parts.
    for (table, op_read) in [("users", true), ("repair_orders", false), ("parts", false)] {
        assert!(
            cases
                .iter()
                .any(|c| c.table == table && matches!(c.op, Op::Read(_)) == op_read),
            "no case for {table}"
        );
    }
    assert!(cases.iter().any(|c| !c.allowed) && cases.iter().any(|c| c.allowed));
}
