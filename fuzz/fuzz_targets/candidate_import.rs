//! The candidate import's readers (`read_csv`, `read_json`) on any body: never panic,
//! number rows 1, 2, 3… without gaps, and (CSV) hand on fee item codes trimmed and
//! non-empty.
//! Every row read is then checked with the parsers the import's validation uses.
#![no_main]

use examfee::domain::import::{ReadRow, read_csv, read_json};
use examfee_shared::fields::check_name;
use examfee_shared::{IdNumber, Phone};
use libfuzzer_sys::fuzz_target;

fn check_rows(rows: &[ReadRow], codes_trimmed: bool) {
    for (expected, (row, read)) in (1u64..).zip(rows) {
        assert_eq!(*row, expected);
        match read {
            Ok(input) => {
                if codes_trimmed {
                    for code in &input.fee_item_codes {
                        assert!(!code.is_empty());
                        assert_eq!(code.trim(), code);
                    }
                }
                let _ = IdNumber::parse(&input.id_number);
                let _ = check_name(&input.name);
                let _ = Phone::parse(&input.phone);
            }
            Err(error) => {
                assert_eq!(error.row, expected);
                assert!(!error.code.is_empty());
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = read_csv(data) {
        check_rows(&rows, true);
    }
    if let Ok(rows) = read_json(data) {
        check_rows(&rows, false);
    }
});
