// The column form of an event block's records (see event_columns.h). Layout, integers LEB128:
//   S; S × (length × 2 + whole, bytes): the distinct skeletons, in order of first use;
//   n × skeleton index;
//   C; C × (name length, name, kind, bytes): the columns, in order of first use;
//   the columns' bytes, one column after another.
// A skeleton is the record's text with each value taken out replaced by one byte, its kind
// (1 to 6, bytes JSON text never holds raw); a whole skeleton (a record with such bytes) is the
// record as it is. A value is taken out only where it is the value of an object member — after
// `"name":`, spaces allowed — and goes to the column of that member name and kind; the reader
// finds the name as the last string of the skeleton before the kind byte, as the writer did.
// Kinds and their bytes in a column:
//   1 integer (no sign, no leading zero, at most 18 digits, no fraction or exponent): LEB128;
//   2 dotted IPv4 address in its usual form: 4 bytes;
//   3 EVE time (2026-11-26T19:41:05.123456+0900) that the server writes back the same:
//     zigzag(micros − the event's time), zigzag(offset minutes);
//   4 lower-case hex string of 8 or more characters: its length, then its nibbles packed;
//   5 the same in upper case (with at least one letter);
//   6 any other string: its bytes (as sent, escapes included), then a 0 byte.

#include "store/event_columns.h"

#include <charconv>
#include <map>
#include <unordered_map>

#include "mimamori/core/clock.h"

namespace mimamori::server {

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

bool get_varint(std::string_view in, size_t& at, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (at >= in.size()) return false;
    const auto b = static_cast<uint8_t>(in[at++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

namespace {

enum Kind : uint8_t { kInt = 1, kIp4 = 2, kTime = 3, kHexLower = 4, kHexUpper = 5, kText = 6 };
constexpr uint8_t kLastKind = kText;
constexpr size_t kMinHex = 8;
// A time's difference to its event's time, at most (some 31,000 years): beyond it the sums
// could overflow, and no EVE time is that far from its event.
constexpr int64_t kMaxTimeDelta = 1000000000000000000LL;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The end of the string literal whose opening quote is at `open` (the index of its closing
// quote), or npos when it does not end.
size_t string_end(std::string_view s, size_t open) {
  for (size_t k = open + 1; k < s.size(); ++k) {
    if (s[k] == '\\') {
      ++k;
    } else if (s[k] == '"') {
      return k;
    }
  }
  return std::string_view::npos;
}

// "192.168.1.20" as 4 bytes, when that is how those bytes are written.
bool ip4_of(std::string_view v, uint8_t out[4]) {
  size_t at = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (at >= v.size() || v[at] != '.') return false;
      ++at;
    }
    const size_t begin = at;
    unsigned n = 0;
    while (at < v.size() && is_digit(v[at]) && at - begin < 3) n = n * 10 + (v[at++] - '0');
    const size_t len = at - begin;
    if (len == 0 || n > 255 || (len > 1 && v[begin] == '0')) return false;
    out[part] = static_cast<uint8_t>(n);
  }
  return at == v.size();
}

void append_uint(std::string& out, uint64_t v) {
  char buf[20];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_ip4(std::string& out, const uint8_t b[4]) {
  for (int k = 0; k < 4; ++k) {
    if (k > 0) out += '.';
    append_uint(out, b[k]);
  }
}

// The time and offset of an EVE time that format_eve_time gives back exactly.
bool time_of(std::string_view v, int64_t& micros, int& minutes) {
  if (v.size() != 31 || v[10] != 'T' || v[19] != '.' || (v[26] != '+' && v[26] != '-') ||
      v.starts_with("0000")) {
    return false;
  }
  for (size_t k : {27, 28, 29, 30}) {
    if (!is_digit(v[k])) return false;
  }
  auto t = core::parse_time(v);
  if (!t.ok()) return false;
  minutes = (v[26] == '-' ? -1 : 1) *
            (((v[27] - '0') * 10 + (v[28] - '0')) * 60 + (v[29] - '0') * 10 + (v[30] - '0'));
  micros = t->micros;
  return core::format_eve_time(*t, minutes) == v;
}

int hex_case(std::string_view v) {  // kHexLower, kHexUpper or 0
  if (v.size() < kMinHex || v.size() > 4096) return 0;
  bool lower = false, upper = false;
  for (char c : v) {
    if (c >= 'a' && c <= 'f') {
      lower = true;
    } else if (c >= 'A' && c <= 'F') {
      upper = true;
    } else if (!is_digit(c)) {
      return 0;
    }
  }
  if (lower && upper) return 0;
  return upper ? kHexUpper : kHexLower;
}

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

using ColumnKey = std::pair<std::string_view, uint8_t>;

class Writer {
 public:
  void record(const ColumnRecord& r) {
    std::string skeleton;
    bool whole = false;
    for (char c : r.text) {
      if (static_cast<uint8_t>(c) <= kLastKind) {
        whole = true;
        break;
      }
    }
    if (whole) {
      skeleton.assign(r.text);
    } else {
      shape(r, skeleton);
    }
    skeleton += whole ? '\1' : '\0';  // kept apart: a whole skeleton is never another's
    auto [it, added] = skeleton_index_.try_emplace(std::move(skeleton), skeletons_.size());
    if (added) skeletons_.push_back(&it->first);
    put_varint(uses_, it->second);
  }

  void finish(std::string& out) const {
    put_varint(out, skeletons_.size());
    for (const std::string* s : skeletons_) {
      const size_t len = s->size() - 1;
      put_varint(out, len * 2 + (s->back() == '\1' ? 1 : 0));
      out.append(*s, 0, len);
    }
    out += uses_;
    put_varint(out, columns_.size());
    for (const auto& c : columns_) {
      put_varint(out, c.name.size());
      out += c.name;
      out += static_cast<char>(c.kind);
      put_varint(out, c.data.size());
    }
    for (const auto& c : columns_) out += c.data;
  }

 private:
  struct Column {
    std::string_view name;
    uint8_t kind;
    std::string data;
  };

  std::string& column(std::string_view name, uint8_t kind) {
    auto [it, added] = column_index_.try_emplace(ColumnKey{name, kind}, columns_.size());
    if (added) columns_.push_back({name, kind, {}});
    return columns_[it->second].data;
  }

  void shape(const ColumnRecord& r, std::string& skeleton) {
    const std::string_view s = r.text;
    std::string_view name;      // the last string of the skeleton
    bool after_string = false;  // the last character other than a space ended a string
    bool value = false;         // a member's value may start here
    for (size_t i = 0; i < s.size();) {
      const char c = s[i];
      if (c == '"') {
        const size_t end = string_end(s, i);
        if (end == std::string_view::npos) {
          skeleton.append(s.substr(i));
          break;
        }
        const std::string_view content = s.substr(i + 1, end - i - 1);
        if (value && take_string(r.ts, name, content, skeleton)) {
          after_string = false;
        } else {
          skeleton.append(s.substr(i, end + 1 - i));
          name = content;
          after_string = true;
        }
        value = false;
        i = end + 1;
        continue;
      }
      if (value && is_digit(c)) {
        size_t j = i;
        while (j < s.size() && is_digit(s[j])) ++j;
        const size_t len = j - i;
        const bool follows_ok = j == s.size() || (s[j] != '.' && s[j] != 'e' && s[j] != 'E');
        if (len <= 18 && (len == 1 || c != '0') && follows_ok) {
          uint64_t v = 0;
          for (size_t k = i; k < j; ++k) v = v * 10 + static_cast<uint64_t>(s[k] - '0');
          skeleton += static_cast<char>(kInt);
          put_varint(column(name, kInt), v);
        } else {
          skeleton.append(s.substr(i, len));
        }
        value = after_string = false;
        i = j;
        continue;
      }
      skeleton += c;
      ++i;
      if (is_space(c)) continue;
      value = c == ':' && after_string;
      after_string = false;
    }
  }

  bool take_string(int64_t ts, std::string_view name, std::string_view v, std::string& skeleton) {
    uint8_t ip[4];
    int64_t micros = 0;
    int minutes = 0;
    if (ip4_of(v, ip)) {
      column(name, kIp4).append(reinterpret_cast<const char*>(ip), 4);
      skeleton += static_cast<char>(kIp4);
    } else if (ts <= kMaxTimeDelta && ts >= -kMaxTimeDelta && time_of(v, micros, minutes) &&
               micros - ts <= kMaxTimeDelta && ts - micros <= kMaxTimeDelta) {
      std::string& col = column(name, kTime);
      put_varint(col, zigzag(micros - ts));
      put_varint(col, zigzag(minutes));
      skeleton += static_cast<char>(kTime);
    } else if (const int hex = hex_case(v); hex != 0) {
      std::string& col = column(name, static_cast<uint8_t>(hex));
      put_varint(col, v.size());
      for (size_t k = 0; k < v.size(); k += 2) {
        const int hi = nibble(v[k]), lo = k + 1 < v.size() ? nibble(v[k + 1]) : 0;
        col += static_cast<char>(hi << 4 | lo);
      }
      skeleton += static_cast<char>(hex);
    } else {
      std::string& col = column(name, kText);
      col.append(v);
      col += '\0';
      skeleton += static_cast<char>(kText);
    }
    return true;
  }

  std::unordered_map<std::string, size_t> skeleton_index_;
  std::vector<const std::string*> skeletons_;
  std::string uses_;
  std::map<ColumnKey, size_t> column_index_;
  std::vector<Column> columns_;
};

struct Cursor {
  std::string_view data;
  size_t at = 0;
};

// Appends one value of `kind` from `c` to `out`; false when the column is short or damaged.
bool append_value(uint8_t kind, Cursor& c, int64_t ts, std::string& out) {
  uint64_t v = 0;
  switch (kind) {
    case kInt:
      if (!get_varint(c.data, c.at, v)) return false;
      append_uint(out, v);
      return true;
    case kIp4: {
      if (c.data.size() - c.at < 4) return false;
      uint8_t b[4];
      for (auto& x : b) x = static_cast<uint8_t>(c.data[c.at++]);
      out += '"';
      append_ip4(out, b);
      out += '"';
      return true;
    }
    case kTime: {
      uint64_t m = 0;
      if (!get_varint(c.data, c.at, v) || !get_varint(c.data, c.at, m)) return false;
      const int64_t minutes = unzigzag(m), delta = unzigzag(v);
      if (minutes < -24 * 60 || minutes > 24 * 60 || delta > kMaxTimeDelta ||
          delta < -kMaxTimeDelta || ts > kMaxTimeDelta || ts < -kMaxTimeDelta) {
        return false;
      }
      out += '"';
      core::append_eve_time(out, core::Timestamp{ts + delta}, static_cast<int>(minutes));
      out += '"';
      return true;
    }
    case kHexLower:
    case kHexUpper: {
      if (!get_varint(c.data, c.at, v) || v > 4096 || (v + 1) / 2 > c.data.size() - c.at) {
        return false;
      }
      const char* digits = kind == kHexLower ? "0123456789abcdef" : "0123456789ABCDEF";
      out += '"';
      for (uint64_t k = 0; k < v; ++k) {
        const auto b = static_cast<uint8_t>(c.data[c.at + k / 2]);
        out += digits[k % 2 == 0 ? b >> 4 : b & 15];
      }
      c.at += (v + 1) / 2;
      out += '"';
      return true;
    }
    case kText: {
      const size_t end = c.data.find('\0', c.at);
      if (end == std::string_view::npos) return false;
      out += '"';
      out.append(c.data.substr(c.at, end - c.at));
      out += '"';
      c.at = end + 1;
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

void encode_columns(std::span<const ColumnRecord> records, std::string& out) {
  Writer w;
  for (const auto& r : records) w.record(r);
  w.finish(out);
}

core::Result<std::vector<std::string>> decode_columns(std::string_view in, size_t& at,
                                                      std::span<const int64_t> times) {
  auto damaged = [](std::string_view what) {
    return core::make_error("event block columns: damaged {}", what);
  };
  uint64_t n_skeletons = 0;
  if (!get_varint(in, at, n_skeletons) || n_skeletons > in.size()) return damaged("skeletons");
  struct Skeleton {
    std::string_view text;
    bool whole;
  };
  std::vector<Skeleton> skeletons(n_skeletons);
  for (auto& s : skeletons) {
    uint64_t v = 0;
    if (!get_varint(in, at, v) || v / 2 > in.size() - at) return damaged("skeletons");
    s = {in.substr(at, v / 2), (v & 1) != 0};
    at += v / 2;
  }
  std::vector<uint64_t> uses(times.size());
  for (auto& u : uses) {
    if (!get_varint(in, at, u) || u >= skeletons.size()) return damaged("skeleton index");
  }
  uint64_t n_columns = 0;
  if (!get_varint(in, at, n_columns) || n_columns > in.size()) return damaged("columns");
  std::map<ColumnKey, Cursor> columns;
  std::vector<std::pair<ColumnKey, uint64_t>> sizes(n_columns);
  for (auto& [key, size] : sizes) {
    uint64_t len = 0;
    if (!get_varint(in, at, len) || len >= in.size() - at) return damaged("column name");
    key.first = in.substr(at, len);
    at += len;
    key.second = static_cast<uint8_t>(in[at++]);
    if (!get_varint(in, at, size)) return damaged("column size");
  }
  for (const auto& [key, size] : sizes) {
    if (size > in.size() - at) return damaged("column");
    columns[key] = Cursor{in.substr(at, size), 0};
    at += size;
  }
  // Each skeleton's values, found once: where each kind byte is and the column it reads.
  struct Slot {
    size_t at;
    uint8_t kind;
    Cursor* column;
  };
  std::vector<std::vector<Slot>> slots(skeletons.size());
  std::vector<bool> found(skeletons.size(), false);
  auto find_slots = [&](const Skeleton& s, std::vector<Slot>& out) -> bool {
    std::string_view name;
    for (size_t k = 0; k < s.text.size();) {
      if (s.text[k] == '"') {
        const size_t end = string_end(s.text, k);
        if (end == std::string_view::npos) break;
        name = s.text.substr(k + 1, end - k - 1);
        k = end + 1;
        continue;
      }
      const auto kind = static_cast<uint8_t>(s.text[k]);
      if (kind >= 1 && kind <= kLastKind) {
        auto col = columns.find(ColumnKey{name, kind});
        if (col == columns.end()) return false;
        out.push_back({k, kind, &col->second});
      }
      ++k;
    }
    return true;
  };
  std::vector<std::string> out(times.size());
  for (size_t i = 0; i < times.size(); ++i) {
    const Skeleton& s = skeletons[uses[i]];
    std::string& rec = out[i];
    if (s.whole) {
      rec.assign(s.text);
      continue;
    }
    if (!found[uses[i]]) {
      if (!find_slots(s, slots[uses[i]])) return damaged("value");
      found[uses[i]] = true;
    }
    rec.reserve(s.text.size() * 3);
    size_t from = 0;
    for (const Slot& slot : slots[uses[i]]) {
      rec.append(s.text.substr(from, slot.at - from));
      if (!append_value(slot.kind, *slot.column, times[i], rec)) return damaged("value");
      from = slot.at + 1;
    }
    rec.append(s.text.substr(from));
  }
  for (const auto& [key, c] : columns) {
    if (c.at != c.data.size()) return damaged("column (values left over)");
  }
  return out;
}

}  // namespace mimamori::server
