//! Measured initial values: `initial u = data("signal.csv")`, one value
//! per grid point, one per line (blank lines and lines starting with `#`
//! are skipped; a line may end with a comma).

use crate::diag::{Diagnostic, Span};

/// The values of a data file's text, or E0707 errors located in it.
pub fn parse(text: &str) -> Result<Vec<f64>, Vec<Diagnostic>> {
    let mut values = Vec::new();
    let mut errors = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let lead = body.len() - body.trim_start().len();
        let item = body.trim().trim_end_matches(',').trim_end();
        if item.is_empty() || item.starts_with('#') {
            continue;
        }
        let span = Span::new(start + lead, start + lead + item.len());
        match item.parse::<f64>() {
            Ok(v) if v.is_finite() => values.push(v),
            Ok(v) => errors.push(
                Diagnostic::error("E0707", format!("the value {v} is not finite"), span)
                    .with_label_message("here"),
            ),
            Err(_) => errors.push(
                Diagnostic::error(
                    "E0707",
                    format!("`{item}` is not a number; the data file holds one value per line"),
                    span,
                )
                .with_label_message("not a number"),
            ),
        }
        if errors.len() >= 10 {
            break;
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_comments_and_errors() {
        assert_eq!(
            parse("# u at t = 0\n1.5\n\n-2e-3,\n  4\r\n").unwrap(),
            vec![1.5, -2e-3, 4.0]
        );
        let errors = parse("1\n2\n  abc\ninf\n").unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].labels[0].span, Span::new(6, 9));
        assert!(errors[1].message.contains("not finite"));
    }
}
