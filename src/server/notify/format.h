#pragma once
// Text of notifications per channel format. A message is composed once (subject and body, in
// triage and escalation) from our own words and values a device or customer controls (host
// names, signatures, titles); each channel's builder passes the whole text through its escaper
// here, so that no device text can form a link, a mention or markup in that channel, and caps
// its length. Pure functions over UTF-8 (invalid bytes become U+FFFD); never cut inside a
// character.

#include <cstddef>
#include <string>
#include <string_view>

namespace mimamori::server {

/// Longest device- or customer-controlled value put into a message, in characters.
inline constexpr std::size_t kMaxFieldChars = 200;
/// Longest subject line (our prefix and a title of at most kMaxFieldChars), in characters.
inline constexpr std::size_t kMaxSubjectChars = 256;

/// `s` cut to at most `max_chars` characters (code points), the last one "…" when cut;
/// invalid UTF-8 becomes U+FFFD first.
std::string cap_chars(std::string_view s, std::size_t max_chars);

/// A value for a message: `cap_chars(s, kMaxFieldChars)` with line breaks and every other
/// control character removed (a value never starts a line of its own).
std::string field_value(std::string_view s);

/// Plain text: valid UTF-8, no control characters but the newline (a tab becomes a space),
/// no C1 controls, no bidirectional overrides or isolates (which can make text read
/// otherwise than it is), U+2028/U+2029 become newlines.
std::string plain_text(std::string_view s);

/// Text that cannot turn into a link or mention where a chat client autolinks: "://" becomes
/// "[:]//", a dot between a letter or digit and a letter becomes "[.]" (evil[.]example),
/// "@" becomes the full-width "＠".
std::string defang(std::string_view s);

/// Slack mrkdwn (incoming webhooks): plain, defanged, then `&` `<` `>` as `&amp;` `&lt;` `&gt;`
/// (so `<!channel>`, `<@U…>` and `<url|text>` never form); at most `max_chars`.
std::string slack_text(std::string_view s, std::size_t max_chars = 4000);

/// Text for a Teams Adaptive Card TextBlock (a small Markdown whose only link is inline,
/// `[text](url)`): plain, defanged, a "]" before "(" as the full-width "］" (so no link forms),
/// the angle brackets of a mention tag (`<at>`) as "＜＞" and Markdown's escape character as
/// "＼"; at most `max_chars`.
std::string teams_text(std::string_view s, std::size_t max_chars = 4000);

/// A LINE text message: plain, defanged, at most `max_chars` (LINE's limit is 5000).
std::string line_text(std::string_view s, std::size_t max_chars = 5000);

/// A plain-text e-mail body (the only part a notification mail has): plain, at most
/// `max_chars`.
std::string mail_text(std::string_view s, std::size_t max_chars = 20000);

}  // namespace mimamori::server
