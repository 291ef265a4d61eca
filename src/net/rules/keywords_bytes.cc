// Byte reads: byte_test, byte_jump, byte_extract (numbers read from the inspected buffer,
// binary or as text) and isdataat.

#include <cctype>

#include "keyword_table.h"
#include "rule_text.h"

namespace mimamori::net::rules::keywords {

using core::make_error;

namespace {

core::Status byte_read_opts(std::vector<std::string_view>& parts, size_t from, ByteRead& r,
                            uint32_t* multiplier, bool* align, ByteJump* jump,
                            std::string_view what) {
  for (size_t i = from; i < parts.size(); ++i) {
    auto p = parts[i];
    if (p == "relative") {
      r.relative = true;
    } else if (p == "little") {
      r.little = true;
    } else if (p == "big") {
      r.little = false;
    } else if (p == "string") {
      r.string = true;
    } else if (p == "hex") {
      r.base = 16;
    } else if (p == "dec") {
      r.base = 10;
    } else if (p == "oct") {
      r.base = 8;
    } else if (p == "dce") {
      r.dce = true;
    } else if (p == "align" && align) {
      *align = true;
    } else if (p.starts_with("align") && align && !jump) {
      *align = true;  // byte_extract: align 2/4
    } else if (p == "from_beginning" && jump) {
      jump->from_beginning = true;
    } else if (p == "from_end" && jump) {
      jump->from_end = true;
    } else if (p.starts_with("post_offset") && jump) {
      if (!parse_int(strip(p.substr(11)), jump->post_offset)) {
        return make_error("{}: bad post_offset '{}'", what, p);
      }
    } else if (p.starts_with("multiplier") && multiplier) {
      if (!parse_int(strip(p.substr(10)), *multiplier) || *multiplier == 0) {
        return make_error("{}: bad multiplier '{}'", what, p);
      }
    } else if (p.starts_with("bitmask")) {
      if (!parse_number(strip(p.substr(7)), r.bitmask) || r.bitmask == 0) {
        return make_error("{}: bad bitmask '{}'", what, p);
      }
    } else {
      return make_error("{}: unknown option '{}'", what, p);
    }
  }
  if (r.string) {
    if (r.nbytes > 32) return make_error("{}: at most 32 bytes of string, got {}", what, r.nbytes);
  } else if (r.nbytes > 8) {
    return make_error("{}: 1 to 8 bytes for a binary number, got {}", what, r.nbytes);
  }
  // `string` with 0 bytes reads the digits that are there (ET uses it); binary needs a size,
  // except byte_jump's, where 0 bytes read the value 0 (a plain move by post_offset).
  if (r.nbytes == 0 && !r.string && !jump) {
    return make_error("{}: number of bytes must be positive", what);
  }
  return {};
}

}  // namespace

core::Status byte_test(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  auto parts = split(value, ',');
  if (parts.size() < 4) return make_error("byte_test needs bytes, operator, value, offset");
  ByteTest t;
  if (!parse_int(parts[0], t.read.nbytes)) {
    auto it = d.vars.find(std::string(parts[0]));
    if (it == d.vars.end()) return make_error("byte_test: bad byte count '{}'", parts[0]);
    t.read.nbytes_var = it->second;
    t.read.nbytes = 8;  // the variable's value is checked when evaluated
  }
  auto op = parts[1];
  if (!op.empty() && op.front() == '!') {
    t.negate = true;
    op = strip(op.substr(1));
  }
  if (op == "<")
    t.op = ByteTest::Op::kLt;
  else if (op == ">")
    t.op = ByteTest::Op::kGt;
  else if (op == "=")
    t.op = ByteTest::Op::kEq;
  else if (op == "<=")
    t.op = ByteTest::Op::kLe;
  else if (op == ">=")
    t.op = ByteTest::Op::kGe;
  else if (op == "&")
    t.op = ByteTest::Op::kAnd;
  else if (op == "^" || op == "|")
    t.op = ByteTest::Op::kOr;
  else
    return make_error("byte_test: unknown operator '{}'", parts[1]);
  if (!parse_number(parts[2], t.value)) {
    auto it = d.vars.find(std::string(parts[2]));
    if (it == d.vars.end()) return make_error("byte_test: bad value '{}'", parts[2]);
    t.value_var = it->second;
  }
  auto var = d.var_or_int(parts[3], t.read.offset, "byte_test offset");
  if (!var) return var.error();
  t.read.offset_var = *var;
  if (auto s = byte_read_opts(parts, 4, t.read, nullptr, nullptr, nullptr, "byte_test"); !s)
    return s;
  auto& l = t.read.relative ? d.relative_list() : d.current_list();
  l.items.push_back(t);
  return {};
}

core::Status byte_jump(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  auto parts = split(value, ',');
  if (parts.size() < 2) return make_error("byte_jump needs bytes and offset");
  ByteJump j;
  if (!parse_int(parts[0], j.read.nbytes)) {
    auto it = d.vars.find(std::string(parts[0]));
    if (it == d.vars.end()) return make_error("byte_jump: bad byte count '{}'", parts[0]);
    j.read.nbytes_var = it->second;
    j.read.nbytes = 8;  // the variable's value is checked when evaluated
  }
  auto var = d.var_or_int(parts[1], j.read.offset, "byte_jump offset");
  if (!var) return var.error();
  j.read.offset_var = *var;
  if (auto s = byte_read_opts(parts, 2, j.read, &j.multiplier, &j.align, &j, "byte_jump"); !s)
    return s;
  auto& l = j.read.relative ? d.relative_list() : d.current_list();
  l.items.push_back(j);
  d.last_match_list = static_cast<int>(l.buffer);
  return {};
}

core::Status byte_extract(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  auto parts = split(value, ',');
  if (parts.size() < 3) return make_error("byte_extract needs bytes, offset and a name");
  ByteExtract e;
  if (!parse_int(parts[0], e.read.nbytes))
    return make_error("byte_extract: bad byte count '{}'", parts[0]);
  if (!parse_int(parts[1], e.read.offset))
    return make_error("byte_extract: bad offset '{}'", parts[1]);
  std::string name(parts[2]);
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return make_error("byte_extract: bad variable name '{}'", name);
  }
  if (d.vars.size() >= 16) return make_error("byte_extract: more than 16 variables");
  if (auto s = byte_read_opts(parts, 3, e.read, &e.multiplier, &e.align, nullptr, "byte_extract");
      !s)
    return s;
  e.var = static_cast<int8_t>(d.vars.size());
  d.vars[name] = e.var;
  d.sig.byte_vars = static_cast<uint8_t>(d.vars.size());
  auto& l = e.read.relative ? d.relative_list() : d.current_list();
  l.items.push_back(e);
  d.last_match_list = static_cast<int>(l.buffer);
  return {};
}

core::Status isdataat(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  auto parts = split(value, ',');
  IsDataAt check;
  auto first = parts[0];
  if (!first.empty() && first.front() == '!') {
    check.negated = true;
    first = strip(first.substr(1));
  }
  auto var = d.var_or_int(first, check.offset, "isdataat");
  if (!var) return var.error();
  check.offset_var = *var;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i] == "relative") {
      check.relative = true;
    } else if (parts[i] != "rawbytes") {
      return make_error("isdataat: unknown option '{}'", parts[i]);
    }
  }
  auto& l = check.relative ? d.relative_list() : d.current_list();
  l.items.push_back(check);
  return {};
}

}  // namespace mimamori::net::rules::keywords
