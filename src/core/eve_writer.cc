// The streaming EVE writer: appends straight into one output string, no DOM, no allocation
// once the string has grown.

#include <charconv>
#include <cmath>
#include <cstring>

#include "mimamori/core/eve.h"

namespace mimamori::core {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at p (1..4), or 0 if the bytes there are not
// valid UTF-8 (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t utf8_sequence(const unsigned char* p, const unsigned char* end) {
  unsigned char c = p[0];
  auto cont = [&](size_t i) { return p + i < end && (p[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return (p + 1 < end && p[1] >= 0xA0 && p[1] <= 0xBF && cont(2)) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return (p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9F && cont(2)) ? 3 : 0;
  if (c == 0xF0) {
    return (p + 1 < end && p[1] >= 0x90 && p[1] <= 0xBF && cont(2) && cont(3)) ? 4 : 0;
  }
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) {
    return (p + 1 < end && p[1] >= 0x80 && p[1] <= 0x8F && cont(2) && cont(3)) ? 4 : 0;
  }
  return 0;
}

void append_u00(std::string& out, unsigned char c) {
  char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
  out.append(esc, 6);
}

template <class T>
void append_number(std::string& out, T v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // JSON has no NaN or infinity
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  size_t n = static_cast<size_t>(r.ptr - buf);
  out.append(buf, n);
  if (!std::memchr(buf, '.', n) && !std::memchr(buf, 'e', n)) out += ".0";
}

// Writes the values of nodes [begin, end); `in_array` says whether keys are written.
void append_range(std::string& out, const Fields& f, uint32_t begin, uint32_t end, bool in_array,
                  bool leading_comma) {
  const auto& nodes = f.nodes();
  bool first = !leading_comma;
  for (uint32_t i = begin; i < end;) {
    const Fields::Node& n = nodes[i];
    if (!first) out += ',';
    first = false;
    if (!in_array) {
      append_json_string(out, f.key_of(n));
      out += ':';
    }
    switch (n.kind) {
      case ValueKind::kNull:
        out += "null";
        break;
      case ValueKind::kBool:
        out += n.b ? "true" : "false";
        break;
      case ValueKind::kInt:
        append_number(out, n.i);
        break;
      case ValueKind::kUint:
        append_number(out, n.u);
        break;
      case ValueKind::kDouble:
        append_double(out, n.d);
        break;
      case ValueKind::kString:
        append_json_string(out, f.str_of(n));
        break;
      case ValueKind::kObject:
      case ValueKind::kArray: {
        bool arr = n.kind == ValueKind::kArray;
        out += arr ? '[' : '{';
        append_range(out, f, i + 1, n.end, arr, false);
        out += arr ? ']' : '}';
        i = n.end;
        continue;
      }
    }
    ++i;
  }
}

void append_key(std::string& out, std::string_view key) {
  out += ",\"";
  out.append(key);
  out += "\":";
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  const auto* run = p;
  while (p < end) {
    unsigned char c = *p;
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      size_t n = utf8_sequence(p, end);
      if (n) {
        p += n;
        continue;
      }
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        append_u00(out, c);  // control byte, or a byte that is not part of valid UTF-8
    }
    ++p;
    run = p;
  }
  out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
  out += '"';
}

void append_json_members(std::string& out, const Fields& fields) {
  append_range(out, fields, 0, static_cast<uint32_t>(fields.nodes().size()), false, true);
}

void append_eve(const Event& e, std::string& out, const EveFormat& format) {
  out += "{\"timestamp\":\"";
  append_eve_time(out, e.timestamp, format.utc_offset_minutes);
  out += '"';
  if (e.flow_id != 0) {
    append_key(out, "flow_id");
    append_number(out, e.flow_id);
  }
  if (!e.in_iface.empty()) {
    append_key(out, "in_iface");
    append_json_string(out, e.in_iface);
  }
  append_key(out, "event_type");
  append_json_string(out, e.event_type);
  if (!e.src_ip.empty()) {
    append_key(out, "src_ip");
    out += '"';
    e.src_ip.append_to(out);
    out += '"';
  }
  if (e.src_port) {
    append_key(out, "src_port");
    append_number(out, *e.src_port);
  }
  if (!e.dest_ip.empty()) {
    append_key(out, "dest_ip");
    out += '"';
    e.dest_ip.append_to(out);
    out += '"';
  }
  if (e.dest_port) {
    append_key(out, "dest_port");
    append_number(out, *e.dest_port);
  }
  if (!e.proto.empty()) {
    append_key(out, "proto");
    append_json_string(out, e.proto);
  }
  if (!e.app_proto.empty()) {
    append_key(out, "app_proto");
    append_json_string(out, e.app_proto);
  }
  if (e.alert) {
    const Alert& a = *e.alert;
    out += ",\"alert\":{\"action\":";
    append_json_string(out, a.action);
    append_key(out, "gid");
    append_number(out, a.gid);
    append_key(out, "signature_id");
    append_number(out, a.signature_id);
    append_key(out, "rev");
    append_number(out, a.rev);
    append_key(out, "signature");
    append_json_string(out, a.signature);
    append_key(out, "category");
    append_json_string(out, a.category);
    append_key(out, "severity");
    append_number(out, a.severity);
    if (!a.metadata.empty()) {
      out += ",\"metadata\":{";
      append_range(out, a.metadata, 0, static_cast<uint32_t>(a.metadata.nodes().size()), false,
                   false);
      out += '}';
    }
    append_json_members(out, a.extra);
    out += '}';
  }
  append_json_members(out, e.fields);
  out += '}';
}

std::string to_eve(const Event& event, const EveFormat& format) {
  std::string s;
  append_eve(event, s, format);
  return s;
}

}  // namespace mimamori::core
