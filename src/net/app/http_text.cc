// HTTP/1.x text: heads split into start line and headers, URI normalisation, the framing
// headers' values (Content-Length, chunk sizes), as libhtp reads them.

#include "app/http_text.h"

#include <cctype>
#include <string>
#include <vector>

#include "app/app.h"
#include "mimamori/core/text.h"

namespace mimamori::net {
namespace http {

// Linear white space around a token, as the HTTP parser has always trimmed it: spaces and tabs
// in front, spaces, tabs and CR behind. Narrower than core::trim (which also drops a leading CR
// and LFs): a stray leading CR in a start line or header value stays part of it, as before.
std::string_view trim_lws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes and removes "." / ".." path segments, as libhtp's normalisation does.
void normalize_uri(std::string_view raw, std::string& out) {
  out.clear();
  std::size_t q = raw.find('?');
  std::string_view path = raw.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : raw.substr(q);
  std::string dec;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() + 0 && hexval(path[i + 1]) >= 0 &&
        hexval(path[i + 2]) >= 0) {
      dec.push_back(static_cast<char>(hexval(path[i + 1]) * 16 + hexval(path[i + 2])));
      i += 2;
    } else {
      dec.push_back(path[i]);
    }
  }
  // Segment normalisation only for origin-form paths.
  if (!dec.empty() && dec[0] == '/') {
    std::vector<std::string_view> segs;
    std::string_view d = dec;
    std::size_t pos = 1;
    while (pos <= d.size()) {
      std::size_t e = d.find('/', pos);
      if (e == std::string_view::npos) e = d.size();
      std::string_view s = d.substr(pos, e - pos);
      if (s == ".") {
        if (e == d.size()) segs.emplace_back();
      } else if (s == "..") {
        if (!segs.empty()) segs.pop_back();
        if (e == d.size()) segs.emplace_back();
      } else {
        segs.push_back(s);
      }
      pos = e + 1;
    }
    for (auto s : segs) {
      out.push_back('/');
      out.append(s);
    }
    if (segs.empty()) out.push_back('/');
  } else {
    out = dec;
  }
  out.append(query);
}

// Splits a head (start line + header lines) into its parts; tolerant of bare LF. In response
// heads a CR not followed by LF also ends a line (browsers and libhtp accept it). Folded lines
// are joined as libhtp does: a continuation is appended to the previous line, unless it holds
// a colon while the previous one does too, in which case it starts a new header. Joined lines
// are built in `store`, which must outlive the views.
void split_head(std::string_view head, bool cr_ends_line, std::string_view& start,
                std::vector<Header>& headers, std::string& store) {
  headers.clear();
  store.clear();
  auto next_line = [&](std::size_t& pos) {
    std::size_t b = pos;
    std::size_t i = pos;
    while (i < head.size()) {
      if (head[i] == '\n') {
        pos = i + 1;
        std::size_t e = i;
        if (e > b && head[e - 1] == '\r') --e;
        return head.substr(b, e - b);
      }
      if (cr_ends_line && head[i] == '\r' && i + 1 < head.size() && head[i + 1] != '\n' && i > b) {
        pos = i + 1;
        return head.substr(b, i - b);
      }
      ++i;
    }
    pos = head.size();
    return head.substr(b);
  };
  std::size_t pos = 0;
  start = trim_lws(next_line(pos));
  // Logical lines first (folding resolved), then name/value. A joined line lives in `store`
  // and is referred to by offset until `store` stops growing.
  struct Line {
    std::string_view view;
    std::size_t off = std::string_view::npos, len = 0;
  };
  std::vector<Line> lines;
  auto text = [&](const Line& l) {
    return l.off == std::string_view::npos ? l.view : std::string_view(store).substr(l.off, l.len);
  };
  while (pos < head.size()) {
    std::string_view line = next_line(pos);
    if (line.empty()) break;
    // Continuation lines start with whitespace; libhtp counts a NUL byte as such too.
    if ((line[0] == ' ' || line[0] == '\t' || line[0] == '\0') && !lines.empty()) {
      std::string_view prev = text(lines.back());
      if (line.find(':') != std::string_view::npos && prev.find(':') != std::string_view::npos) {
        lines.push_back({line.substr(1)});
      } else {
        std::size_t off = store.size();
        std::string joined;
        joined.reserve(prev.size() + line.size());
        joined.append(prev).append(line);
        store.append(joined);
        lines.back() = {{}, off, joined.size()};
      }
      continue;
    }
    lines.push_back({line});
  }
  for (const Line& l : lines) {
    std::string_view line = text(l);
    std::size_t c = line.find(':');
    if (c == std::string_view::npos) continue;
    std::string_view name = line.substr(0, c);
    // Names are trimmed of spaces and control bytes (NUL, VT, FF, CR) around them.
    auto junk = [](char ch) {
      auto u = static_cast<unsigned char>(ch);
      return u <= ' ';
    };
    while (!name.empty() && junk(name.front())) name.remove_prefix(1);
    while (!name.empty() && junk(name.back())) name.remove_suffix(1);
    headers.push_back({name, trim_lws(line.substr(c + 1))});
  }
}

// Case-insensitive, NUL bytes in `a` ignored: how libhtp finds the headers that frame a body
// ("Transfer\0-Encoding" still counts).
bool iequals_nz(std::string_view a, std::string_view b) {
  std::size_t j = 0;
  for (char c : a) {
    if (c == 0) continue;
    if (j >= b.size() || std::tolower(static_cast<unsigned char>(c)) !=
                             std::tolower(static_cast<unsigned char>(b[j])))
      return false;
    ++j;
  }
  return j == b.size();
}

std::string_view header_value(const std::vector<Header>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (core::iequals(h.name, name)) return h.value;
  return {};
}
bool has_header_nz(const std::vector<Header>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (iequals_nz(h.name, name)) return true;
  return false;
}
bool has_header(const std::vector<Header>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (core::iequals(h.name, name)) return true;
  return false;
}

bool contains_nocase_nz(std::string_view hay, std::string_view needle) {
  // Case-insensitive, NUL bytes in `hay` ignored (libhtp's "nocasenorzero"); `needle` is
  // lowercase.
  for (std::size_t i = 0; i < hay.size(); ++i) {
    std::size_t j = 0, k = i;
    for (; k < hay.size() && j < needle.size(); ++k) {
      if (hay[k] == 0) continue;
      if (std::tolower(static_cast<unsigned char>(hay[k])) != needle[j]) break;
      ++j;
    }
    if (j == needle.size()) return true;
  }
  return false;
}

// Whether response data starts like a status line (libhtp's and browsers' test: optional
// whitespace, then "http" in any case): 1 yes, -1 no, 0 not known yet.
int response_line_verdict(std::string_view d) {
  std::size_t p = 0;
  while (p < d.size() && (std::isspace(static_cast<unsigned char>(d[p])) || d[p] == 0)) ++p;
  if (d.size() < p + 4) return d.find('\n') != std::string_view::npos ? -1 : 0;
  return core::istarts_with(d.substr(p), "http") ? 1 : -1;
}

std::size_t find_head_end(const std::string& b, std::size_t from) {
  std::size_t start = from >= 3 ? from - 3 : 0;
  for (std::size_t i = start; i < b.size(); ++i) {
    if (b[i] != '\n') continue;
    if (i + 1 < b.size() && b[i + 1] == '\n') return i + 2;
    // A bare LF followed by CRs and an LF, and a line of one space or tab, end a head too
    // (as libhtp reads them); after CR LF, "CR CR LF" is a junk line, not the end.
    std::size_t j = i + 1;
    while (j < b.size() && b[j] == '\r') ++j;
    bool bare_lf = i == 0 || b[i - 1] != '\r';
    if (j < b.size() && b[j] == '\n' && (j == i + 2 || (j > i + 2 && bare_lf))) return j + 1;
    if (i + 2 < b.size() && (b[i + 1] == ' ' || b[i + 1] == '\t') && b[i + 2] == '\n' &&
        (i + 3 >= b.size() || b[i + 3] != '\n'))
      return i + 3;
  }
  // A head that is only blank lines ends at once.
  bool blank = !b.empty();
  for (char c : b)
    if (c != '\r' && c != '\n') blank = false;
  return blank ? b.size() : std::string::npos;
}

void host_without_port(std::string_view host, std::string& out) {
  out.clear();
  if (!host.empty() && host[0] == '[') {
    std::size_t e = host.find(']');
    host = host.substr(0, e == std::string_view::npos ? host.size() : e + 1);
  } else {
    std::size_t c = host.find(':');
    if (c != std::string_view::npos) host = host.substr(0, c);
  }
  for (char c : host) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
}

uint64_t parse_uint(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') break;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > (1ull << 50)) break;
  }
  return v;
}

// Content-Length as libhtp reads it: junk before the digits is skipped, after them ignored;
// -1 when there are no digits.
int64_t parse_content_length(std::string_view v) {
  std::size_t i = 0;
  while (i < v.size() && (v[i] < '0' || v[i] > '9')) ++i;
  if (i == v.size()) return -1;
  int64_t n = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
    n = n * 10 + (v[i] - '0');
    if (n > (int64_t(1) << 50)) return -1;
  }
  return n;
}

// Chunk-size line as libhtp reads it: leading control bytes and blank lines skipped, then
// hex digits. kBlankLine for a line with nothing.
bool chunk_ctl(char c) {
  return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '\v' || c == '\f';
}
int64_t parse_chunk_size(std::string_view l) {
  std::size_t i = 0;
  while (i < l.size() && chunk_ctl(l[i])) ++i;
  if (i == l.size()) return kBlankLine;
  int64_t n = 0;
  int digits = 0;
  for (; i < l.size() && hexval(l[i]) >= 0; ++i) {
    if (++digits > 15) return -1;
    n = n * 16 + hexval(l[i]);
  }
  if (digits == 0) return -1;
  return n;  // what follows the digits (an extension, junk) does not matter
}
// While a chunk-size line is still incomplete: false once it cannot be one (a byte that is
// neither control nor hex before the first digit), so a body sent unchunked despite the
// header is read as it is.
bool chunk_size_plausible(std::string_view l) {
  for (char c : l) {
    if (chunk_ctl(c)) continue;
    return hexval(c) >= 0;
  }
  return true;
}

}  // namespace http

std::optional<core::IpAddress> xff_address(std::string_view value, bool reverse,
                                           std::string_view& text) {
  std::string_view entry = value;
  if (reverse) {
    auto comma = value.rfind(',');
    if (comma != std::string_view::npos) entry = value.substr(comma + 1);
  } else {
    entry = value.substr(0, value.find(','));
  }
  while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.remove_prefix(1);
  while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
  std::string_view addr = entry;
  if (!addr.empty() && addr.front() == '[') {
    // "[v6]" or "[v6]:port"
    auto close = addr.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    addr = addr.substr(1, close - 1);
  } else if (auto colon = addr.find(':');
             colon != std::string_view::npos && addr.rfind(':') == colon) {
    addr = addr.substr(0, colon);  // one colon: "v4:port"
  }
  auto ip = core::IpAddress::parse(addr);
  if (!ip) return std::nullopt;
  text = addr;
  return *ip;
}

}  // namespace mimamori::net
