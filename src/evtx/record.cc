// EVTX record rendering: value text, the flat field view, JSON and XML.

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "mimamori/core/eve.h"
#include "mimamori/evtx/evtx.h"
#include "text.h"

namespace mimamori::evtx {
namespace {

using Node = EvtxRecord::Node;

// Times are written with microseconds (FILETIME's last digit is dropped), as the reference
// decoding writes them.
void append_time(std::string& out, int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                 unsigned s, unsigned micros) {
  // Written by hand: this runs for every record (TimeCreated), fmt's parsing shows in profiles.
  char buf[32];
  auto two = [](char* p, unsigned v) {
    p[0] = static_cast<char>('0' + v / 10 % 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  unsigned yy = static_cast<unsigned>(y < 0 ? 0 : y > 9999 ? 9999 : y);
  two(buf, yy / 100);
  two(buf + 2, yy % 100);
  buf[4] = '-';
  two(buf + 5, mo);
  buf[7] = '-';
  two(buf + 8, d);
  buf[10] = 'T';
  two(buf + 11, h);
  buf[13] = ':';
  two(buf + 14, mi);
  buf[16] = ':';
  two(buf + 17, s);
  buf[19] = '.';
  for (int i = 25; i >= 20; --i) {
    buf[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  buf[26] = 'Z';
  out.append(buf, 27);
}

// Where the text's surrounding white space ends: values are compared and matched trimmed, as
// the reference decoding (and the rules tested against it) see them.
std::pair<std::size_t, std::size_t> trimmed(std::string_view s, std::size_t from) {
  std::size_t b = from, e = s.size();
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (b < e && ws(s[b])) ++b;
  while (e > b && ws(s[e - 1])) --e;
  return {b, e};
}

// Days since 1970-01-01 to a civil date (proleptic Gregorian).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
}

void append_filetime(std::string& out, uint64_t ft) {
  // 100 ns ticks since 1601-01-01; 11644473600 s between 1601 and 1970.
  int64_t secs = static_cast<int64_t>(ft / 10000000) - 11644473600LL;
  unsigned frac = static_cast<unsigned>(ft % 10000000) / 10;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  unsigned sod = static_cast<unsigned>(secs - days * 86400);
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  append_time(out, y, m, d, sod / 3600, (sod / 60) % 60, sod % 60, frac);
}

void append_hex_upper(std::string& out, const uint8_t* p, std::size_t n) {
  static const char kDigits[] = "0123456789ABCDEF";
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
}

// Size of one element of a fixed-size type, 0 for variable-size types.
uint32_t element_size(uint8_t t, uint32_t total) {
  switch (static_cast<EvtxType>(t)) {
    case EvtxType::kInt8:
    case EvtxType::kUInt8:
      return 1;
    case EvtxType::kInt16:
    case EvtxType::kUInt16:
      return 2;
    case EvtxType::kInt32:
    case EvtxType::kUInt32:
    case EvtxType::kReal32:
    case EvtxType::kBool:
    case EvtxType::kHexInt32:
      return 4;
    case EvtxType::kInt64:
    case EvtxType::kUInt64:
    case EvtxType::kReal64:
    case EvtxType::kFileTime:
    case EvtxType::kHexInt64:
      return 8;
    case EvtxType::kGuid:
    case EvtxType::kSysTime:
      return 16;
    case EvtxType::kSizeT:
      return total == 4 ? 4 : 8;
    default:
      return 0;
  }
}

template <class T>
void append_int(std::string& out, T v, int base = 10) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v, base);
  out.append(buf, r.ptr);
}

void render_scalar(uint8_t t, const uint8_t* p, uint32_t n, std::string& out) {
  auto it = std::back_inserter(out);
  uint32_t need = element_size(t, n);
  if (need && n < need) {
    append_hex_upper(out, p, n);  // too short for its type: show the bytes
    return;
  }
  switch (static_cast<EvtxType>(t)) {
    case EvtxType::kNull:
      return;
    case EvtxType::kString: {
      std::size_t units = n / 2;
      while (units && p[2 * units - 2] == 0 && p[2 * units - 1] == 0) --units;
      append_utf16(out, p, units);
      return;
    }
    case EvtxType::kAnsiString: {
      while (n && p[n - 1] == 0) --n;
      out.append(reinterpret_cast<const char*>(p), n);
      return;
    }
    case EvtxType::kInt8:
      return append_int(out, static_cast<int8_t>(p[0]));
    case EvtxType::kUInt8:
      return append_int(out, p[0]);
    case EvtxType::kInt16:
      return append_int(out, load_le<int16_t>(p));
    case EvtxType::kUInt16:
      return append_int(out, load_le<uint16_t>(p));
    case EvtxType::kInt32:
      return append_int(out, load_le<int32_t>(p));
    case EvtxType::kUInt32:
      return append_int(out, load_le<uint32_t>(p));
    case EvtxType::kInt64:
      return append_int(out, load_le<int64_t>(p));
    case EvtxType::kUInt64:
      return append_int(out, load_le<uint64_t>(p));
    case EvtxType::kReal32:
      fmt::format_to(it, "{}", load_le<float>(p));
      return;
    case EvtxType::kReal64:
      fmt::format_to(it, "{}", load_le<double>(p));
      return;
    case EvtxType::kBool:
      out += load_le<uint32_t>(p) ? "true" : "false";
      return;
    case EvtxType::kGuid:
      // Data1..3 are little-endian integers: their bytes are shown most significant first.
      for (int i = 3; i >= 0; --i) append_hex_upper(out, p + i, 1);
      out.push_back('-');
      append_hex_upper(out, p + 5, 1);
      append_hex_upper(out, p + 4, 1);
      out.push_back('-');
      append_hex_upper(out, p + 7, 1);
      append_hex_upper(out, p + 6, 1);
      out.push_back('-');
      append_hex_upper(out, p + 8, 2);
      out.push_back('-');
      append_hex_upper(out, p + 10, 6);
      return;
    case EvtxType::kSizeT:
      if (n == 4)
        fmt::format_to(it, "0x{:08x}", load_le<uint32_t>(p));
      else
        fmt::format_to(it, "0x{:016x}", load_le<uint64_t>(p));
      return;
    case EvtxType::kFileTime:
      append_filetime(out, load_le<uint64_t>(p));
      return;
    case EvtxType::kSysTime: {
      unsigned ms = load_le<uint16_t>(p + 14);
      append_time(out, load_le<uint16_t>(p), load_le<uint16_t>(p + 2), load_le<uint16_t>(p + 6),
                  load_le<uint16_t>(p + 8), load_le<uint16_t>(p + 10), load_le<uint16_t>(p + 12),
                  (ms % 1000) * 1000);
      return;
    }
    case EvtxType::kSid: {
      if (n < 8 || n < 8u + 4u * p[1]) {
        append_hex_upper(out, p, n);
        return;
      }
      uint64_t auth = 0;
      for (int i = 0; i < 6; ++i) auth = (auth << 8) | p[2 + i];
      fmt::format_to(it, "S-{}-{}", p[0], auth);
      for (unsigned i = 0; i < p[1]; ++i)
        fmt::format_to(it, "-{}", load_le<uint32_t>(p + 8 + 4 * i));
      return;
    }
    case EvtxType::kHexInt32:
      out += "0x";
      return append_int(out, load_le<uint32_t>(p), 16);
    case EvtxType::kHexInt64:
      out += "0x";
      return append_int(out, load_le<uint64_t>(p), 16);
    case EvtxType::kEvtHandle:
      if (n >= 8)
        fmt::format_to(it, "{}", load_le<uint64_t>(p));
      else if (n >= 4)
        fmt::format_to(it, "{}", load_le<uint32_t>(p));
      return;
    case EvtxType::kBinary:
    case EvtxType::kBinXml:
    case EvtxType::kEvtXml:
    default:
      append_hex_upper(out, p, n);
      return;
  }
}

// Calls f(element pointer, size) for each element of an array value.
template <class F>
void for_each_element(const EvtxValue& v, F&& f) {
  uint8_t t = v.type & 0x7f;
  if (t == static_cast<uint8_t>(EvtxType::kString)) {
    uint32_t start = 0, units = v.size / 2;
    for (uint32_t i = 0; i < units; ++i) {
      if (v.data[2 * i] == 0 && v.data[2 * i + 1] == 0) {
        f(v.data + 2 * start, 2 * (i - start));
        start = i + 1;
      }
    }
    if (start < units) f(v.data + 2 * start, 2 * (units - start));
    return;
  }
  if (t == static_cast<uint8_t>(EvtxType::kAnsiString)) {
    uint32_t start = 0;
    for (uint32_t i = 0; i < v.size; ++i) {
      if (v.data[i] == 0) {
        f(v.data + start, i - start);
        start = i + 1;
      }
    }
    if (start < v.size) f(v.data + start, v.size - start);
    return;
  }
  uint32_t es = element_size(t, t == static_cast<uint8_t>(EvtxType::kSizeT) ? 8 : 0);
  if (es == 0) {
    f(v.data, v.size);
    return;
  }
  for (uint32_t off = 0; off + es <= v.size; off += es) f(v.data + off, es);
}

bool numeric_type(uint8_t t) {
  switch (static_cast<EvtxType>(t)) {
    case EvtxType::kInt8:
    case EvtxType::kUInt8:
    case EvtxType::kInt16:
    case EvtxType::kUInt16:
    case EvtxType::kInt32:
    case EvtxType::kUInt32:
    case EvtxType::kInt64:
    case EvtxType::kUInt64:
    case EvtxType::kReal32:
    case EvtxType::kReal64:
      return true;
    default:
      return false;
  }
}

}  // namespace

void EvtxRecord::render_value(const EvtxValue& v, std::string& out) {
  if (v.type & kEvtxArrayFlag) {
    bool first = true;
    for_each_element(v, [&](const uint8_t* p, uint32_t n) {
      if (!first) out.push_back(',');
      first = false;
      render_scalar(v.type & 0x7f, p, n, out);
    });
    return;
  }
  render_scalar(v.type, v.data, v.size, out);
}

bool EvtxRecord::is_numeric(const EvtxValue& v) {
  if (!numeric_type(v.type)) return false;
  uint32_t es = element_size(v.type, v.size);
  return v.size >= es;
}

void EvtxRecord::reset() {
  nodes_.clear();
  values_.clear();
  nodes_.push_back(Node{});  // the document root
  fields_built_ = false;
  record_id = 0;
  file_offset = 0;
}

uint32_t EvtxRecord::add_node(Node::Kind kind, std::string_view name, uint32_t parent) {
  uint32_t n = static_cast<uint32_t>(nodes_.size());
  Node node;
  node.kind = kind;
  node.name = name;
  node.parent = parent;
  nodes_.push_back(node);
  Node& p = nodes_[parent];
  if (p.last_child)
    nodes_[p.last_child].next = n;
  else
    p.first_child = n;
  p.last_child = n;
  return n;
}

void EvtxRecord::append_text(uint32_t node, std::string& out) const {
  for (uint32_t c = nodes_[node].first_child; c; c = nodes_[c].next)
    if (nodes_[c].kind == Node::kText) render_value(values_[nodes_[c].value], out);
}

// ---------------------------------------------------------------------------------------------
// Flat field view.

namespace {

struct FieldSpan {
  uint32_t name_off, name_len, value_off, value_len;
  bool numeric;
};

}  // namespace

const std::vector<EvtxField>& EvtxRecord::fields() const {
  if (!fields_built_) build_fields();
  return fields_;
}

void EvtxRecord::build_fields() const {
  fields_built_ = true;
  fields_.clear();
  field_text_.clear();
  static thread_local std::vector<FieldSpan> spans;
  spans.clear();
  auto value_info = [&](uint32_t node, bool& numeric, bool& has) {
    int count = 0;
    numeric = false;
    for (uint32_t c = nodes_[node].first_child; c; c = nodes_[c].next) {
      if (nodes_[c].kind != Node::kText) continue;
      ++count;
      numeric = is_numeric(values_[nodes_[c].value]);
    }
    has = count > 0;
    if (count != 1) numeric = false;
  };
  auto add = [&](std::string_view n1, std::string_view n2, uint32_t node) {
    FieldSpan s{};
    s.name_off = static_cast<uint32_t>(field_text_.size());
    field_text_ += n1;
    if (!n2.empty()) {
      field_text_.push_back('_');
      field_text_ += n2;
    }
    s.name_len = static_cast<uint32_t>(field_text_.size()) - s.name_off;
    auto [b, e] = (append_text(node, field_text_), trimmed(field_text_, s.name_off + s.name_len));
    s.value_off = static_cast<uint32_t>(b);
    s.value_len = static_cast<uint32_t>(e - b);
    bool has;
    value_info(node, s.numeric, has);
    spans.push_back(s);
  };
  auto attr_value = [&](uint32_t el, std::string_view name) -> uint32_t {
    for (uint32_t c = nodes_[el].first_child; c; c = nodes_[c].next)
      if (nodes_[c].kind == Node::kAttribute && nodes_[c].name == name) return c;
    return 0;
  };
  auto has_text = [&](uint32_t el) {
    for (uint32_t c = nodes_[el].first_child; c; c = nodes_[c].next)
      if (nodes_[c].kind == Node::kText) return true;
    return false;
  };
  auto has_child_elements = [&](uint32_t el) {
    for (uint32_t c = nodes_[el].first_child; c; c = nodes_[c].next)
      if (nodes_[c].kind == Node::kElement) return true;
    return false;
  };
  // Leaf elements below `el` by their own name (UserData and the like).
  auto leaves = [&](auto&& self, uint32_t el) -> void {
    for (uint32_t c = nodes_[el].first_child; c; c = nodes_[c].next) {
      if (nodes_[c].kind != Node::kElement) continue;
      if (has_child_elements(c)) {
        self(self, c);
      } else if (uint32_t name = attr_value(c, "Name"); name && nodes_[c].name == "Data") {
        size_t off = field_text_.size();
        append_text(name, field_text_);
        // Sigma rules name `Threat Name` as `ThreatName`: names lose their spaces here.
        field_text_.erase(std::remove(field_text_.begin() + static_cast<std::ptrdiff_t>(off),
                                      field_text_.end(), ' '),
                          field_text_.end());
        FieldSpan s{static_cast<uint32_t>(off), static_cast<uint32_t>(field_text_.size() - off), 0,
                    0, false};
        std::size_t vb = field_text_.size();
        append_text(c, field_text_);
        auto [b, e] = trimmed(field_text_, vb);
        s.value_off = static_cast<uint32_t>(b);
        s.value_len = static_cast<uint32_t>(e - b);
        bool has;
        value_info(c, s.numeric, has);
        spans.push_back(s);
      } else {
        if (has_text(c) || !nodes_[c].first_child) add(nodes_[c].name, {}, c);
        for (uint32_t a = nodes_[c].first_child; a; a = nodes_[a].next)
          if (nodes_[a].kind == Node::kAttribute && nodes_[a].first_child)
            add(nodes_[c].name, nodes_[a].name, a);
      }
    }
  };
  for (uint32_t ev = nodes_[0].first_child; ev; ev = nodes_[ev].next) {
    if (nodes_[ev].kind != Node::kElement) continue;
    for (uint32_t sec = nodes_[ev].first_child; sec; sec = nodes_[sec].next) {
      if (nodes_[sec].kind != Node::kElement) continue;
      if (nodes_[sec].name == "System") {
        for (uint32_t e = nodes_[sec].first_child; e; e = nodes_[e].next) {
          if (nodes_[e].kind != Node::kElement) continue;
          if (has_text(e)) add(nodes_[e].name, {}, e);
          for (uint32_t a = nodes_[e].first_child; a; a = nodes_[a].next)
            if (nodes_[a].kind == Node::kAttribute && nodes_[a].first_child)
              add(nodes_[e].name, nodes_[a].name, a);
        }
      } else {
        leaves(leaves, sec);
      }
    }
  }
  fields_.reserve(spans.size());
  for (const auto& s : spans)
    fields_.push_back(EvtxField{std::string_view(field_text_).substr(s.name_off, s.name_len),
                                std::string_view(field_text_).substr(s.value_off, s.value_len),
                                s.numeric});
}

// ---------------------------------------------------------------------------------------------
// JSON in the common evtx-dump shape.

namespace {

class JsonWriter {
 public:
  JsonWriter(const EvtxRecord& r, std::string& out) : r_(r), out_(out) {}

  void texts(uint32_t node) {
    const auto& nodes = r_.nodes();
    int count = 0;
    uint32_t only = 0;
    for (uint32_t c = nodes[node].first_child; c; c = nodes[c].next)
      if (nodes[c].kind == Node::kText) {
        ++count;
        only = c;
      }
    if (count == 0) {
      out_ += "null";
      return;
    }
    if (count == 1) {
      const EvtxValue& v = r_.values()[nodes[only].value];
      if (v.type == 0) {
        out_ += "null";
        return;
      }
      if (EvtxRecord::is_numeric(v)) {
        EvtxRecord::render_value(v, out_);
        return;
      }
      if (v.type == static_cast<uint8_t>(EvtxType::kBool) && v.size >= 4) {
        EvtxRecord::render_value(v, out_);
        return;
      }
      if (v.type & kEvtxArrayFlag) {
        bool num = numeric_type(v.type & 0x7f);
        out_.push_back('[');
        bool first = true;
        for_each_element(v, [&](const uint8_t* p, uint32_t n) {
          if (!first) out_.push_back(',');
          first = false;
          tmp_.clear();
          render_scalar(v.type & 0x7f, p, n, tmp_);
          if (num)
            out_ += tmp_;
          else
            core::append_json_string(out_, tmp_);
        });
        out_.push_back(']');
        return;
      }
    }
    tmp_.clear();
    r_.append_text(node, tmp_);
    auto [b, e] = trimmed(tmp_, 0);
    core::append_json_string(out_, std::string_view(tmp_).substr(b, e - b));
  }

  void element(uint32_t el) {
    const auto& nodes = r_.nodes();
    bool attrs = false, elems = false, text = false;
    for (uint32_t c = nodes[el].first_child; c; c = nodes[c].next) {
      if (nodes[c].kind == Node::kAttribute && nodes[c].first_child) attrs = true;
      if (nodes[c].kind == Node::kElement) elems = true;
      if (nodes[c].kind == Node::kText) text = true;
    }
    if (!attrs && !elems) {
      texts(el);
      return;
    }
    out_.push_back('{');
    bool first = true;
    if (attrs) {
      out_ += "\"#attributes\":{";
      bool f2 = true;
      for (uint32_t c = nodes[el].first_child; c; c = nodes[c].next) {
        if (nodes[c].kind != Node::kAttribute || !nodes[c].first_child) continue;
        if (!f2) out_.push_back(',');
        f2 = false;
        core::append_json_string(out_, nodes[c].name);
        out_.push_back(':');
        texts(c);
      }
      out_.push_back('}');
      first = false;
    }
    children(el, first);
    if (text) {
      if (!first) out_.push_back(',');
      out_ += "\"#text\":";
      texts(el);
    }
    out_.push_back('}');
  }

  // Child elements; `<Data Name="X">v</Data>` becomes `"X": v`; repeated names become arrays.
  void children(uint32_t el, bool& first) {
    const auto& nodes = r_.nodes();
    keys_.clear();
    std::vector<std::pair<std::string, uint32_t>> items;
    for (uint32_t c = nodes[el].first_child; c; c = nodes[c].next) {
      if (nodes[c].kind != Node::kElement) continue;
      std::string key(nodes[c].name);
      if (uint32_t name = data_name(c)) {
        key.clear();
        r_.append_text(name, key);
      }
      items.emplace_back(std::move(key), c);
    }
    std::vector<bool> done(items.size(), false);
    for (size_t i = 0; i < items.size(); ++i) {
      if (done[i]) continue;
      if (!first) out_.push_back(',');
      first = false;
      core::append_json_string(out_, items[i].first);
      out_.push_back(':');
      size_t dup = 0;
      for (size_t j = i + 1; j < items.size(); ++j) dup += items[j].first == items[i].first;
      if (dup == 0) {
        value_of(items[i].second);
        continue;
      }
      out_.push_back('[');
      for (size_t j = i; j < items.size(); ++j) {
        if (items[j].first != items[i].first) continue;
        if (j != i) out_.push_back(',');
        done[j] = true;
        value_of(items[j].second);
      }
      out_.push_back(']');
    }
  }

  void value_of(uint32_t el) {
    if (data_name(el))
      texts(el);  // the Name attribute became the key
    else
      element(el);
  }

  uint32_t data_name(uint32_t el) const {
    const auto& nodes = r_.nodes();
    if (nodes[el].name != "Data") return 0;
    uint32_t name = 0;
    int attrs = 0;
    for (uint32_t c = nodes[el].first_child; c; c = nodes[c].next)
      if (nodes[c].kind == Node::kAttribute && nodes[c].first_child) {
        ++attrs;
        if (nodes[c].name == "Name") name = c;
      }
    return attrs == 1 ? name : 0;
  }

 private:
  const EvtxRecord& r_;
  std::string& out_;
  std::string tmp_;
  std::vector<std::string> keys_;
};

void append_xml_escaped(std::string& out, std::string_view s, bool attr) {
  for (char c : s) {
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
      case '"':
        if (attr)
          out += "&quot;";
        else
          out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
}

}  // namespace

void EvtxRecord::append_json(std::string& out) const {
  JsonWriter w(*this, out);
  out.push_back('{');
  bool first = true;
  w.children(0, first);
  out.push_back('}');
}

void EvtxRecord::append_xml(std::string& out) const {
  std::string tmp;
  auto rec = [&](auto&& self, uint32_t el, int depth) -> void {
    const Node& n = nodes_[el];
    out.append(2 * depth, ' ');
    out.push_back('<');
    out += n.name;
    bool content = false;
    for (uint32_t c = n.first_child; c; c = nodes_[c].next) {
      if (nodes_[c].kind == Node::kAttribute) {
        if (!nodes_[c].first_child) continue;
        out.push_back(' ');
        out += nodes_[c].name;
        out += "=\"";
        tmp.clear();
        append_text(c, tmp);
        append_xml_escaped(out, tmp, true);
        out.push_back('"');
      } else {
        content = true;
      }
    }
    if (!content) {
      out += "/>\n";
      return;
    }
    out.push_back('>');
    bool nested = false;
    for (uint32_t c = n.first_child; c; c = nodes_[c].next) {
      if (nodes_[c].kind == Node::kText) {
        tmp.clear();
        render_value(values_[nodes_[c].value], tmp);
        append_xml_escaped(out, tmp, false);
      } else if (nodes_[c].kind == Node::kElement) {
        if (!nested) out.push_back('\n');
        nested = true;
        self(self, c, depth + 1);
      }
    }
    if (nested) out.append(2 * depth, ' ');
    out += "</";
    out += n.name;
    out += ">\n";
  };
  for (uint32_t c = nodes_[0].first_child; c; c = nodes_[c].next)
    if (nodes_[c].kind == Node::kElement) rec(rec, c, 0);
}

}  // namespace mimamori::evtx
