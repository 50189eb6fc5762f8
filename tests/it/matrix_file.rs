//! `tests/matrix.tsv`, read once for both enforcement points: the API's matrix
//! test (`matrix/cells.rs`) and the cloud's (`rls/matrix.rs`) run the same cases.
//!
//! Cells: `A` = every row of the caller's shop; `-` = denied; `O` = own rows only;
//! `S` = own user row only, display name only.

use collisionos::domain::catalog::ROLES;

/// One cell of the matrix: may `role` do `verb` on `table`?
pub struct Case {
    pub table: String,
    pub verb: String,
    pub role: &'static str,
    pub cell: char,
}

/// Every cell of `tests/matrix.tsv`, checked for shape: the header names every role
/// in order, every line has a cell per role, every cell is one of `A - O S`, and
/// no (table, verb) is stated twice.
pub fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/matrix.tsv");
    let text = std::fs::read_to_string(path).expect("read tests/matrix.tsv");
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("a header line").split('\t').collect();
    assert_eq!(header[..2], ["table", "verb"], "matrix.tsv header");
    assert_eq!(header[2..], *ROLES, "matrix.tsv names every role, in order");
    let mut seen = std::collections::BTreeSet::new();
    let mut cases = Vec::new();
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), header.len(), "matrix.tsv line: {line}");
        assert!(
            seen.insert((cols[0], cols[1])),
            "matrix.tsv states {} {} twice",
            cols[0],
            cols[1]
        );
        for (role, cell) in ROLES.iter().zip(&cols[2..]) {
            let cell = match *cell {
                "A" | "-" | "O" | "S" => cell.chars().next().expect("one char"),
                other => panic!("matrix.tsv: unknown cell {other:?} in {line}"),
            };
            cases.push(Case {
                table: cols[0].to_string(),
                verb: cols[1].to_string(),
                role,
                cell,
            });
        }
    }
    cases
}
