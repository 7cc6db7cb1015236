//! Splitting one `sshd_config` line the way OpenSSH does (`strdelim` for the keyword,
//! `argv_split` for the arguments).
//!
//! - leading and trailing whitespace is stripped (a form feed only at the end);
//! - the keyword ends at whitespace or at one `=` (with optional whitespace around it);
//! - arguments are split on spaces and tabs; `"…"` and `'…'` group words; `\'`, `\"`, `\\`
//!   and (outside quotes) `\ ` are escapes; an argument that *starts* with `#` ends the line;
//! - an unterminated quote is an error, as it is for sshd ("invalid quotes").

/// One lexed line: the keyword as spelled and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexedLine {
    pub keyword: String,
    pub args: Vec<String>,
    /// The raw text after the keyword (Match criteria are parsed from it).
    pub rest: String,
}

/// Why a line cannot be lexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexError {
    /// A keyword with nothing after it.
    NoArgument(String),
    /// Unbalanced quotes.
    InvalidQuotes(String),
}

const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

/// Splits one token off `s` as `strdelim` does with `=` as a separator; returns the token and
/// the rest, or `None` for an unterminated quote.
pub fn strdelim(s: &str) -> Option<(String, &str)> {
    let Some(pos) = s.find(|c: char| WHITESPACE.contains(&c) || c == '"' || c == '=') else {
        return Some((s.to_string(), ""));
    };
    if s[pos..].starts_with('"') {
        let after = &s[pos + 1..];
        let close = after.find('"')?;
        let token = format!("{}{}", &s[..pos], &after[..close]);
        let rest = after[close + 1..].trim_start_matches(WHITESPACE);
        return Some((token, rest));
    }
    let token = s[..pos].to_string();
    let was_equals = s[pos..].starts_with('=');
    let mut rest = s[pos + 1..].trim_start_matches(WHITESPACE);
    if !was_equals && rest.starts_with('=') {
        rest = rest[1..].trim_start_matches(WHITESPACE);
    }
    Some((token, rest))
}

/// An unterminated quote in an argument list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnterminatedQuote;

/// Splits arguments as `argv_split(…, terminate_on_comment = 1)`.
pub fn argv_split(s: &str) -> Result<Vec<String>, UnterminatedQuote> {
    let chars: Vec<char> = s.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' || chars[i] == '\t' {
            i += 1;
            continue;
        }
        if chars[i] == '#' {
            break;
        }
        let mut quote: Option<char> = None;
        let mut arg = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let next = chars.get(i + 1).copied();
                match next {
                    Some('\'') | Some('"') | Some('\\') => {
                        i += 1;
                        arg.push(chars[i]);
                    }
                    Some(' ') if quote.is_none() => {
                        i += 1;
                        arg.push(' ');
                    }
                    _ => arg.push(c),
                }
            } else if quote.is_none() && (c == ' ' || c == '\t') {
                break;
            } else if quote.is_none() && (c == '"' || c == '\'') {
                quote = Some(c);
            } else if quote == Some(c) {
                quote = None;
            } else {
                arg.push(c);
            }
            i += 1;
        }
        if quote.is_some() {
            return Err(UnterminatedQuote);
        }
        args.push(arg);
    }
    Ok(args)
}

/// Lexes one line; `Ok(None)` for blank lines and comments.
pub fn lex_line(line: &str) -> Result<Option<LexedLine>, LexError> {
    let line = line
        .trim_end_matches(|c: char| WHITESPACE.contains(&c) || c == '\x0c')
        .trim_start_matches([' ', '\t', '\r']);
    if line.is_empty() {
        return Ok(None);
    }
    let Some((keyword, rest)) = strdelim(line) else {
        return Err(LexError::InvalidQuotes(line.to_string()));
    };
    if keyword.is_empty() || keyword.starts_with('#') {
        return Ok(None);
    }
    if rest.is_empty() {
        return Err(LexError::NoArgument(keyword));
    }
    let args =
        argv_split(rest).map_err(|UnterminatedQuote| LexError::InvalidQuotes(keyword.clone()))?;
    Ok(Some(LexedLine {
        keyword,
        args,
        rest: rest.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(s: &str) -> (String, Vec<String>) {
        let l = lex_line(s).expect("lexes").expect("not blank");
        (l.keyword, l.args)
    }

    #[test]
    fn separators_and_case_are_kept_for_the_caller() {
        assert_eq!(lex("PermitRootLogin=no").1, ["no"]);
        assert_eq!(lex("  PermitRootLogin = no").1, ["no"]);
        assert_eq!(lex("permitrootlogin\tno\t").0, "permitrootlogin");
        assert_eq!(lex("PermitRootLogin==no").1, ["=no"]);
    }

    #[test]
    fn comments_and_quotes() {
        assert_eq!(lex("X11Forwarding no # c").1, ["no"]);
        assert_eq!(lex("AllowUsers a#b").1, ["a#b"]);
        assert_eq!(lex("Banner \"/etc/issue net\"").1, ["/etc/issue net"]);
        assert_eq!(lex("Banner '/a b' c").1, ["/a b", "c"]);
        assert_eq!(lex("Banner a\\ b").1, ["a b"]);
        assert_eq!(lex("Banner \"\"").1, [""]);
        assert_eq!(lex_line("# comment"), Ok(None));
        assert_eq!(lex_line("   "), Ok(None));
        assert!(matches!(
            lex_line("Banner \"abc"),
            Err(LexError::InvalidQuotes(_))
        ));
        assert!(matches!(lex_line("Banner"), Err(LexError::NoArgument(_))));
    }
}
