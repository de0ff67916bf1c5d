//! The SDK's errors sorted into the sink's failure kinds, with secrets kept out of their text.

use azure_messaging_eventhubs::EventHubsError;

use crate::config::eventhubs::Secret;
use crate::sink::SinkError;

/// Sorts an SDK error into the sink's failure kinds, with any secret removed from its text.
pub(super) fn classify(error: &EventHubsError, secret: Option<&Secret>) -> SinkError {
    let text = redact(&format!("{error}"), secret);
    let lower = format!("{error} {error:?}").to_ascii_lowercase();
    // A refused put-token shows as "unauthorized", a 401, or "Error authorizing <path>".
    if ["unauthorized", "authoriz", "401"]
        .iter()
        .any(|word| lower.contains(word))
    {
        SinkError::Unauthorized(text)
    } else if ["not-found", "notfound", "not found"]
        .iter()
        .any(|word| lower.contains(word))
    {
        SinkError::Missing(text)
    } else if lower.contains("reject") {
        SinkError::NotAccepted(text)
    } else {
        SinkError::Unreachable(text)
    }
}

/// Removes a secret and any SAS signature from a text.
fn redact(text: &str, secret: Option<&Secret>) -> String {
    let mut out = text.to_owned();
    if let Some(secret) = secret {
        for part in secret
            .expose()
            .split(';')
            .filter_map(|p| p.split_once('='))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("SharedAccessKey"))
        {
            if !part.1.is_empty() {
                out = out.replace(part.1, "<redacted>");
            }
        }
        out = out.replace(secret.expose(), "<redacted>");
    }
    let mut cursor = 0;
    while let Some(found) = out[cursor..].find("sig=") {
        let start = cursor + found + "sig=".len();
        let end = out[start..]
            .find(['&', ' ', '"', ';'])
            .map_or(out.len(), |e| start + e);
        out.replace_range(start..end, "<redacted>");
        cursor = start + "<redacted>".len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_keys_and_signatures() {
        let secret =
            Secret::new("Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=TOPSECRETKEY");
        let text = "failed with TOPSECRETKEY and SharedAccessSignature sr=x&sig=abc%2F123&se=1 end";
        let out = redact(text, Some(&secret));
        assert!(
            !out.contains("TOPSECRETKEY") && !out.contains("abc%2F123"),
            "{out}"
        );
        assert!(out.contains("sig=<redacted>"), "{out}");
    }
}
