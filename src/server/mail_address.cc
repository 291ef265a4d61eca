// RFC 5321 mailbox syntax (§4.1.2, §4.1.3) and RFC 2047 header text, for the e-mail that
// notifications send.

#include "mail_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "mimamori/core/text.h"

namespace mimamori::server {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 5321 atext: letters, digits and these.
bool is_atext(char c) {
  return is_alpha(c) || is_digit(c) ||
         (c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

core::Error bad(std::string_view why) {
  return core::make_error_code(400, "not an e-mail address (RFC 5321 mailbox): {}", why);
}

// Dot-string = Atom *("." Atom).
core::Status check_dot_string(std::string_view s) {
  if (s.empty()) return bad("the local part is empty");
  if (s.front() == '.' || s.back() == '.') return bad("the local part starts or ends with '.'");
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.' && i + 1 < s.size() && s[i + 1] == '.') return bad("'..' in the local part");
    if (s[i] != '.' && !is_atext(s[i])) {
      return core::make_error_code(400,
                                   "not an e-mail address (RFC 5321 mailbox): character '{}' at "
                                   "octet {} of the local part needs quoting",
                                   s[i], i + 1);
    }
  }
  return {};
}

// Quoted-string = DQUOTE *(qtextSMTP / "\" %d32-126) DQUOTE; control characters were refused
// before, so only the quoting itself is checked.
core::Status check_quoted_string(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return bad("unbalanced '\"'");
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] == '\\') {
      if (++i + 1 >= s.size()) return bad("'\\' at the end of the quoted local part");
    } else if (s[i] == '"') {
      return bad("unescaped '\"' inside the quoted local part");
    }
  }
  return {};
}

// Snum = 1*3DIGIT representing 0-255.
bool ipv4_literal(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int v = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) v = v * 10 + (s[i++] - '0');
    if (i == start || v > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str], at most 63 octets.
core::Status check_domain(std::string_view d) {
  if (d.empty()) return bad("the domain is empty");
  if (d.front() == '[') {
    if (d.back() != ']') return bad("the address literal lacks its ']'");
    std::string_view lit = d.substr(1, d.size() - 2);
    if (lit.starts_with("IPv6:")) {
      std::string ip(lit.substr(5));
      unsigned char buf[16];
      if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return {};
      return bad("the IPv6 address literal is not an IPv6 address");
    }
    if (ipv4_literal(lit)) return {};
    return bad("the address literal is neither an IPv4 address nor 'IPv6:' and an address");
  }
  size_t start = 0;
  while (true) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty()) {
      return bad(dot == std::string_view::npos ? "the domain ends with '.'"
                                               : "an empty label in the domain");
    }
    if (label.size() > 63) return bad("a domain label is longer than 63 octets");
    if (label.front() == '-' || label.back() == '-') {
      return bad("a domain label starts or ends with '-'");
    }
    for (char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-') {
        return core::make_error_code(
            400, "not an e-mail address (RFC 5321 mailbox): character '{}' in the domain", c);
      }
    }
    if (dot == std::string_view::npos) return {};
    start = dot + 1;
  }
}

}  // namespace

core::Status check_mailbox(std::string_view a) {
  if (a.empty()) return bad("it is empty");
  // Checked first and over the whole value: CR, LF and NUL are what would end an SMTP command
  // or a header line, wherever they stand.
  for (size_t i = 0; i < a.size(); ++i) {
    auto c = static_cast<unsigned char>(a[i]);
    if (c < 0x20 || c == 0x7f) {
      return core::make_error_code(
          400, "not an e-mail address (RFC 5321 mailbox): control character 0x{:02x} at octet {}",
          c, i + 1);
    }
    if (c >= 0x80) {
      return core::make_error_code(
          400,
          "not an e-mail address (RFC 5321 mailbox): non-ASCII octet at {} (write the "
          "domain in its xn-- form)",
          i + 1);
    }
  }
  if (a.size() > kMaxMailbox) {
    return core::make_error_code(400,
                                 "not an e-mail address (RFC 5321 mailbox): {} octets, at most {}",
                                 a.size(), kMaxMailbox);
  }
  // The domain never contains '@' (a quoted local part may), so the last one separates.
  size_t at = a.rfind('@');
  if (at == std::string_view::npos) return bad("no '@'");
  std::string_view local = a.substr(0, at), domain = a.substr(at + 1);
  if (local.size() > kMaxLocalPart) {
    return core::make_error_code(
        400, "not an e-mail address (RFC 5321 mailbox): a local part of {} octets, at most {}",
        local.size(), kMaxLocalPart);
  }
  auto l =
      !local.empty() && local.front() == '"' ? check_quoted_string(local) : check_dot_string(local);
  if (!l.ok()) return l;
  return check_domain(domain);
}

std::string encode_header_text(std::string_view text) {
  std::string clean(text);
  bool plain = clean.size() <= 64 && clean.find("=?") == std::string::npos;
  for (char& c : clean) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
    if (u >= 0x80) plain = false;
  }
  if (plain) return clean;
  // 39 octets make 52 base64 characters: "=?UTF-8?B?" + 52 + "?=" is 64, so even after a
  // header name the line stays within RFC 2047's 76. A word ends on a character boundary.
  std::string out;
  size_t i = 0;
  while (i < clean.size()) {
    size_t n = std::min<size_t>(39, clean.size() - i);
    while (n > 1 && i + n < clean.size() &&
           (static_cast<unsigned char>(clean[i + n]) & 0xc0) == 0x80) {
      --n;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + core::base64(std::string_view(clean).substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

}  // namespace mimamori::server
