// Escaping and length caps of notification text per channel format (see format.h).

#include "notify/format.h"

#include <cstdint>
#include <vector>

#include "mimamori/core/text.h"

namespace mimamori::server {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// The code points of `s`; an invalid byte (a stray continuation, an overlong form, a surrogate,
// beyond U+10FFFF, a sequence cut short) becomes one U+FFFD.
std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    char32_t cp = 0, min = 0;
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      ok = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string encode(const std::vector<char32_t>& cps, size_t max_chars) {
  std::string out;
  const bool cut = cps.size() > max_chars;
  const size_t keep = cut ? (max_chars == 0 ? 0 : max_chars - 1) : cps.size();
  out.reserve(keep + 8);
  for (size_t i = 0; i < keep; ++i) core::append_utf8(out, cps[i]);
  if (cut && max_chars > 0) core::append_utf8(out, U'…');
  return out;
}

bool is_bidi_control(char32_t c) {
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

// Plain text as code points (see plain_text).
std::vector<char32_t> plain(std::string_view s) {
  std::vector<char32_t> out;
  for (char32_t c : decode(s)) {
    if (c == '\t') {
      out.push_back(' ');
    } else if (c == 0x2028 || c == 0x2029) {
      out.push_back('\n');
    } else if (c == '\n' || (c >= 0x20 && c != 0x7F && !(c >= 0x80 && c < 0xA0) &&
                             !is_bidi_control(c) && c != 0xFEFF)) {
      out.push_back(c);
    }
  }
  return out;
}

bool is_ascii_alnum(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_alpha(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::vector<char32_t> defanged(const std::vector<char32_t>& in) {
  std::vector<char32_t> out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char32_t c = in[i];
    if (c == ':' && i + 2 < in.size() && in[i + 1] == '/' && in[i + 2] == '/') {
      out.insert(out.end(), {'[', ':', ']'});
    } else if (c == '.' && i > 0 && i + 1 < in.size() && is_ascii_alnum(in[i - 1]) &&
               is_ascii_alpha(in[i + 1])) {
      out.insert(out.end(), {'[', '.', ']'});
    } else if (c == '@') {
      out.push_back(U'＠');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string cap_chars(std::string_view s, std::size_t max_chars) {
  return encode(decode(s), max_chars);
}

std::string field_value(std::string_view s) {
  std::vector<char32_t> cps;
  for (char32_t c : plain(s)) cps.push_back(c == '\n' ? U' ' : c);
  return encode(cps, kMaxFieldChars);
}

std::string plain_text(std::string_view s) {
  auto cps = plain(s);
  return encode(cps, cps.size());
}

std::string defang(std::string_view s) {
  auto cps = defanged(decode(s));
  return encode(cps, cps.size());
}

std::string slack_text(std::string_view s, std::size_t max_chars) {
  // Cut first (by characters the reader sees), then escape: an entity is never cut in half.
  auto cps = defanged(plain(s));
  std::string capped = encode(cps, max_chars), out;
  out.reserve(capped.size() + 16);
  for (char c : capped) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string teams_text(std::string_view s, std::size_t max_chars) {
  // A card's Markdown links only inline ("[text](url)"): a "]" just before "(" is what joins
  // them; "[見守り][critical]" stays as written.
  const auto in = defanged(plain(s));
  std::vector<char32_t> cps;
  cps.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char32_t c = in[i];
    if (c == ']' && i + 1 < in.size() && in[i + 1] == '(') {
      cps.push_back(U'］');
    } else if (c == '<') {
      cps.push_back(U'＜');
    } else if (c == '>') {
      cps.push_back(U'＞');
    } else if (c == '\\') {
      cps.push_back(U'＼');
    } else {
      cps.push_back(c);
    }
  }
  return encode(cps, max_chars);
}

std::string line_text(std::string_view s, std::size_t max_chars) {
  return encode(defanged(plain(s)), max_chars);
}

std::string mail_text(std::string_view s, std::size_t max_chars) {
  return encode(plain(s), max_chars);
}

}  // namespace mimamori::server
