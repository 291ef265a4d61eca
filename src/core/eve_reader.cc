// The EVE reader: a small exact JSON parser straight into Event / Fields. It is byte-exact
// for Mimamori's writer (see eve.h), bounds nesting, and names the offset of every error.

#include <charconv>
#include <cstring>
#include <limits>

#include "mimamori/core/eve.h"
#include "mimamori/core/text.h"

namespace mimamori::core {
namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Status parse_event(Event& e) {
    skip_ws();
    if (!eat('{')) return fail("expected '{' at the start of an EVE record");
    bool have_type = false, have_time = false;
    skip_ws();
    if (eat('}')) return fail("empty object: an EVE record needs timestamp and event_type");
    while (true) {
      skip_ws();
      if (auto st = parse_string(key_); !st.ok()) return st;
      skip_ws();
      if (!eat(':')) return fail("expected ':' after a member name");
      skip_ws();
      std::string k = key_;  // small; member names of the header fit the SSO buffer
      if (auto st = header_member(e, k, have_type, have_time); !st.ok()) return st;
      skip_ws();
      if (eat(',')) continue;
      if (eat('}')) break;
      return fail("expected ',' or '}' after a member");
    }
    if (auto st = finish(); !st.ok()) return st;
    if (!have_time) return make_error("EVE record: member 'timestamp' is missing");
    if (!have_type) return make_error("EVE record: member 'event_type' is missing");
    return {};
  }

  Status parse_object_into(Fields& f) {
    skip_ws();
    if (!eat('{')) return fail("expected '{'");
    if (auto st = parse_members(f, 1); !st.ok()) return st;
    return finish();
  }

 private:
  Status finish() {
    skip_ws();
    if (pos_ != s_.size()) return fail("unexpected text after the end of the object");
    return {};
  }

  Status header_member(Event& e, const std::string& k, bool& have_type, bool& have_time) {
    auto want_string = [&](std::string& dst) -> Status {
      if (peek() != '"') return fail_member(k, "expected a string");
      return parse_string(dst);
    };
    if (k == "timestamp") {
      if (auto st = want_string(scratch_); !st.ok()) return st;
      auto t = parse_time(scratch_);
      if (!t) return fail_member(k, t.error().message);
      e.timestamp = *t;
      have_time = true;
      return {};
    }
    if (k == "event_type") {
      have_type = true;
      return want_string(e.event_type);
    }
    if (k == "in_iface") return want_string(e.in_iface);
    if (k == "proto") return want_string(e.proto);
    if (k == "app_proto") return want_string(e.app_proto);
    if (k == "src_ip" || k == "dest_ip") {
      if (auto st = want_string(scratch_); !st.ok()) return st;
      auto ip = IpAddress::parse(scratch_);
      if (!ip) return fail_member(k, ip.error().message);
      (k == "src_ip" ? e.src_ip : e.dest_ip) = *ip;
      return {};
    }
    if (k == "src_port" || k == "dest_port") {
      uint64_t v = 0;
      if (auto st = parse_uint(k, v, 65535); !st.ok()) return st;
      (k == "src_port" ? e.src_port : e.dest_port) = static_cast<uint16_t>(v);
      return {};
    }
    if (k == "flow_id") {
      uint64_t v = 0;
      if (auto st = parse_uint(k, v, std::numeric_limits<uint64_t>::max()); !st.ok()) return st;
      e.flow_id = v;
      return {};
    }
    if (k == "alert" && peek() == '{') return parse_alert(e.alert.emplace());
    return parse_value(e.fields, k, 1);
  }

  Status parse_alert(Alert& a) {
    ++pos_;
    skip_ws();
    if (eat('}')) return {};
    while (true) {
      skip_ws();
      if (auto st = parse_string(key_); !st.ok()) return st;
      skip_ws();
      if (!eat(':')) return fail("expected ':' after a member name");
      skip_ws();
      std::string k = "alert." + key_;
      Status st;
      uint64_t v = 0;
      if (k == "alert.action") {
        st = peek() == '"' ? parse_string(a.action) : fail_member(k, "expected a string");
      } else if (k == "alert.signature") {
        st = peek() == '"' ? parse_string(a.signature) : fail_member(k, "expected a string");
      } else if (k == "alert.category") {
        st = peek() == '"' ? parse_string(a.category) : fail_member(k, "expected a string");
      } else if (k == "alert.gid") {
        st = parse_uint(k, v, std::numeric_limits<uint32_t>::max());
        a.gid = static_cast<uint32_t>(v);
      } else if (k == "alert.signature_id") {
        st = parse_uint(k, v, std::numeric_limits<uint64_t>::max());
        a.signature_id = v;
      } else if (k == "alert.rev") {
        st = parse_uint(k, v, std::numeric_limits<uint32_t>::max());
        a.rev = static_cast<uint32_t>(v);
      } else if (k == "alert.severity") {
        st = parse_uint(k, v, 255);
        a.severity = static_cast<int>(v);
      } else if (k == "alert.metadata" && peek() == '{') {
        ++pos_;
        st = parse_members(a.metadata, 2);
      } else {
        st = parse_value(a.extra, key_, 2);
      }
      if (!st.ok()) return st;
      skip_ws();
      if (eat(',')) continue;
      if (eat('}')) return {};
      return fail("expected ',' or '}' in 'alert'");
    }
  }

  // Parses members after '{' up to and including '}' into f.
  Status parse_members(Fields& f, int depth) {
    skip_ws();
    if (eat('}')) return {};
    while (true) {
      skip_ws();
      if (peek() != '"') return fail("expected a member name");
      if (auto st = parse_string(key_); !st.ok()) return st;
      skip_ws();
      if (!eat(':')) return fail("expected ':' after a member name");
      skip_ws();
      std::string k = key_;
      if (auto st = parse_value(f, k, depth); !st.ok()) return st;
      skip_ws();
      if (eat(',')) continue;
      if (eat('}')) return {};
      return fail("expected ',' or '}' after a member");
    }
  }

  Status parse_value(Fields& f, std::string_view key, int depth) {
    if (depth > kMaxDepth) return fail("nesting deeper than 64 levels");
    char c = peek();
    switch (c) {
      case '"': {
        if (auto st = parse_string(scratch_); !st.ok()) return st;
        f.add(key, std::string_view(scratch_));
        return {};
      }
      case '{': {
        ++pos_;
        f.begin_object(key);
        if (auto st = parse_members(f, depth + 1); !st.ok()) return st;
        f.end();
        return {};
      }
      case '[': {
        ++pos_;
        f.begin_array(key);
        skip_ws();
        if (!eat(']')) {
          while (true) {
            skip_ws();
            if (auto st = parse_value(f, {}, depth + 1); !st.ok()) return st;
            skip_ws();
            if (eat(',')) continue;
            if (eat(']')) break;
            return fail("expected ',' or ']' in an array");
          }
        }
        f.end();
        return {};
      }
      case 't':
        if (!literal("true")) return fail("bad literal");
        f.add(key, true);
        return {};
      case 'f':
        if (!literal("false")) return fail("bad literal");
        f.add(key, false);
        return {};
      case 'n':
        if (!literal("null")) return fail("bad literal");
        f.add_null(key);
        return {};
      default:
        return parse_number(f, key);
    }
  }

  Status parse_number(Fields& f, std::string_view key) {
    size_t start = pos_;
    bool is_float = false;
    if (peek() == '-') ++pos_;
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return fail("expected a value");
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c >= '0' && c <= '9') {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        is_float = true;
        ++pos_;
      } else {
        break;
      }
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + pos_;
    if (!is_float) {
      if (*b == '-') {
        int64_t v;
        auto r = std::from_chars(b, e, v);
        if (r.ec == std::errc() && r.ptr == e) {
          f.add_int(key, v);
          return {};
        }
      } else {
        uint64_t v = 0;
        auto r = std::from_chars(b, e, v);
        if (r.ec == std::errc() && r.ptr == e) {
          f.add_uint(key, v);
          return {};
        }
      }
    }
    double d;
    auto r = std::from_chars(b, e, d);
    if (r.ec != std::errc() || r.ptr != e) {
      pos_ = start;
      return fail("malformed number");
    }
    f.add(key, d);
    return {};
  }

  Status parse_uint(const std::string& k, uint64_t& v, uint64_t max) {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    auto r = std::from_chars(s_.data() + start, s_.data() + pos_, v);
    if (start == pos_ || r.ec != std::errc() || v > max) {
      pos_ = start;
      return fail_member(k, fmt::format("expected an integer from 0 to {}", max));
    }
    return {};
  }

  Status parse_string(std::string& out) {
    out.clear();
    if (!eat('"')) return fail("expected a string");
    size_t run = pos_;
    while (true) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        out.append(s_.data() + run, pos_ - run);
        ++pos_;
        return {};
      }
      if (c < 0x20) return fail("raw control byte in a string (must be escaped)");
      if (c != '\\') {
        ++pos_;
        continue;
      }
      out.append(s_.data() + run, pos_ - run);
      ++pos_;
      if (pos_ >= s_.size()) return fail("unterminated escape");
      char esc = s_[pos_++];
      switch (esc) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return fail("bad \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (pos_ + 1 < s_.size() && s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
              pos_ += 2;
              if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return fail("bad surrogate pair");
              append_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
            } else {
              return fail("lone high surrogate");
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("lone low surrogate");
          } else if (cp >= 0x80 && cp <= 0xFF) {
            out += static_cast<char>(cp);  // a raw byte (see eve.h)
          } else {
            append_utf8(out, cp);
          }
          break;
        }
        default:
          --pos_;
          return fail("unknown escape");
      }
      run = pos_;
    }
  }

  bool hex4(uint32_t& cp) {
    if (pos_ + 4 > s_.size()) return false;
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      cp <<= 4;
      if (c >= '0' && c <= '9') {
        cp |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        cp |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        cp |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool eat(char c) {
    if (peek() != c || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  Error fail(std::string_view why) const { return make_error("JSON at offset {}: {}", pos_, why); }
  Error fail_member(std::string_view member, std::string_view why) const {
    return make_error("JSON at offset {}: member '{}': {}", pos_, member, why);
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string key_;
  std::string scratch_;
};

}  // namespace

Status parse_eve(std::string_view line, Event& event) {
  event.clear();
  Parser p(line);
  return p.parse_event(event);
}

Result<Event> parse_eve(std::string_view line) {
  Event e;
  if (auto st = parse_eve(line, e); !st.ok()) return std::move(st).error();
  return e;
}

Status parse_json_object(std::string_view text, Fields& out) {
  out.clear();
  Parser p(text);
  return p.parse_object_into(out);
}

std::vector<std::string_view> split_json_objects(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  bool in_string = false, escape = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escape)
        escape = false;
      else if (c == '\\')
        escape = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' && depth++ == 0)
      start = i;
    else if (c == '}' && depth > 0 && --depth == 0)
      out.push_back(text.substr(start, i + 1 - start));
  }
  return out;
}

}  // namespace mimamori::core
