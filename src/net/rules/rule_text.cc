// Values of rule options: the small grammar shared by every keyword handler.

#include "rule_text.h"

namespace mimamori::net::rules {

using core::make_error;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(strip(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

core::Result<std::string> unquote(std::string_view v, std::string_view what) {
  v = strip(v);
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') {
    return make_error("{} value must be in double quotes", what);
  }
  v = v.substr(1, v.size() - 2);
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      out += v[++i];
    } else {
      out += v[i];
    }
  }
  return out;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

core::Result<std::string> parse_content_bytes(std::string_view v, bool& negated) {
  v = strip(v);
  negated = false;
  if (!v.empty() && v.front() == '!') {
    negated = true;
    v = strip(v.substr(1));
  }
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') {
    return make_error("content must be in double quotes");
  }
  v = v.substr(1, v.size() - 2);
  std::string out;
  bool hex = false;
  int pending = -1;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (hex) {
      if (c == '|') {
        if (pending >= 0) return make_error("odd number of hex digits in content");
        hex = false;
      } else if (c == ' ' || c == '\t') {
        continue;
      } else {
        int d = hex_digit(c);
        if (d < 0) return make_error("bad hex character '{}' in content", c);
        if (pending < 0) {
          pending = d;
        } else {
          out += static_cast<char>(pending * 16 + d);
          pending = -1;
        }
      }
      continue;
    }
    if (c == '|') {
      hex = true;
    } else if (c == '\\') {
      if (i + 1 >= v.size()) return make_error("content ends in a lone backslash");
      char n = v[++i];
      if (n != '"' && n != ';' && n != '\\' && n != ':' && n != '|') {
        return make_error("bad escape '\\{}' in content", n);
      }
      out += n;
    } else if (c == '"') {
      return make_error("unescaped '\"' in content");
    } else {
      out += c;
    }
  }
  if (hex) return make_error("unterminated hex block in content");
  if (out.empty()) return make_error("empty content");
  return out;
}

core::Result<Range> parse_range(std::string_view v, std::string_view what) {
  v = strip(v);
  Range r;
  uint64_t a = 0, b = 0;
  if (auto p = v.find("<>"); p != std::string_view::npos) {
    if (!parse_int(v.substr(0, p), a) || !parse_int(v.substr(p + 2), b) || a >= b) {
      return make_error("bad {} range '{}'", what, v);
    }
    r.op = Range::Op::kBetween;
    r.lo = a;
    r.hi = b;
    return r;
  }
  if (v.starts_with("<=")) {
    r.op = Range::Op::kLe;
    v.remove_prefix(2);
  } else if (v.starts_with(">=")) {
    r.op = Range::Op::kGe;
    v.remove_prefix(2);
  } else if (v.starts_with("<")) {
    r.op = Range::Op::kLt;
    v.remove_prefix(1);
  } else if (v.starts_with(">")) {
    r.op = Range::Op::kGt;
    v.remove_prefix(1);
  } else if (v.starts_with("!=")) {
    r.op = Range::Op::kNe;
    v.remove_prefix(2);
  } else if (v.starts_with("!")) {
    r.op = Range::Op::kNe;
    v.remove_prefix(1);
  } else if (v.starts_with("=")) {
    v.remove_prefix(1);
  }
  if (!parse_int(v, a)) return make_error("bad {} value '{}'", what, v);
  r.lo = a;
  return r;
}

}  // namespace mimamori::net::rules
