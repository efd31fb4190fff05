//! Terraform `templatefile`-style interpolation, so one definition file feeds both Terraform and the
//! local runner: `${name}` is replaced, `$${` stays a literal `${`.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("line {line}: unknown template variable \"{name}\"")]
    UnknownVariable { name: String, line: usize },
    #[error(
        "line {line}: invalid template expression \"${{{text}}}\" (only plain variable names are supported)"
    )]
    InvalidExpression { text: String, line: usize },
    #[error("line {line}: unterminated \"${{\"")]
    Unterminated { line: usize },
}

pub fn render_template(template: &str, vars: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut line = 1;
    while let Some(pos) = rest.find('$') {
        let (before, after) = rest.split_at(pos);
        line += before.matches('\n').count();
        out.push_str(before);
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(end) = tail.find('}') else {
                return Err(TemplateError::Unterminated { line });
            };
            let raw = &tail[..end];
            let name = raw.trim();
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(TemplateError::InvalidExpression {
                    text: raw.to_owned(),
                    line,
                });
            }
            let Some(value) = vars.get(name) else {
                return Err(TemplateError::UnknownVariable {
                    name: name.to_owned(),
                    line,
                });
            };
            out.push_str(value);
            line += raw.matches('\n').count();
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([(
            "fn_arn".to_owned(),
            "arn:aws:lambda:eu-west-1:1:function:f".to_owned(),
        )])
    }

    #[test]
    fn renders_and_escapes() {
        let t = "{\"Resource\": \"${fn_arn}\", \"Path.$\": \"$.x\", \"Lit\": \"$${kept}\"}";
        assert_eq!(
            render_template(t, &vars()).expect("renders"),
            "{\"Resource\": \"arn:aws:lambda:eu-west-1:1:function:f\", \"Path.$\": \"$.x\", \"Lit\": \"${kept}\"}"
        );
    }

    #[test]
    fn unknown_variable_names_line() {
        let err = render_template("a\nb\n  ${missing_one}\n", &vars()).expect_err("unknown");
        assert_eq!(
            err,
            TemplateError::UnknownVariable {
                name: "missing_one".into(),
                line: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "line 3: unknown template variable \"missing_one\""
        );
        assert!(matches!(
            render_template("${a", &vars()),
            Err(TemplateError::Unterminated { line: 1 })
        ));
        assert!(matches!(
            render_template("\n${upper(x)}", &vars()),
            Err(TemplateError::InvalidExpression { line: 2, .. })
        ));
    }
}
