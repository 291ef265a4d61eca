#pragma once
// HTTP/1.x text helpers of the HTTP parser (private to app/): head splitting, URI
// normalisation, header look-up and the framing values, each as libhtp reads them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mimamori::net::http {

/// One header of a head: views into the head (or the folded-line store).
struct Header {
  std::string_view name, value;
};

/// `s` without spaces and tabs in front and spaces, tabs and CR behind.
std::string_view trim_lws(std::string_view s);
/// The value of a hex digit, or -1.
int hexval(char c);
/// Percent-decodes `raw` and removes "." / ".." path segments (libhtp's normalisation).
void normalize_uri(std::string_view raw, std::string& out);
/// Splits a head into start line and headers; folded lines are joined in `store`, which must
/// outlive the views. In response heads (`cr_ends_line`) a lone CR also ends a line.
void split_head(std::string_view head, bool cr_ends_line, std::string_view& start,
                std::vector<Header>& headers, std::string& store);
/// Case-insensitive equality with NUL bytes in `a` ignored ("Transfer\0-Encoding").
bool iequals_nz(std::string_view a, std::string_view b);
/// True when `hay` contains `needle` (lowercase), any case, NUL bytes in `hay` ignored.
bool contains_nocase_nz(std::string_view hay, std::string_view needle);
/// The value of the first header named `name` (any case), or empty.
std::string_view header_value(const std::vector<Header>& hs, std::string_view name);
/// True when a header is named `name` (any case, NUL bytes in names ignored).
bool has_header_nz(const std::vector<Header>& hs, std::string_view name);
/// True when a header is named `name` (any case).
bool has_header(const std::vector<Header>& hs, std::string_view name);
/// Whether response data starts like a status line: 1 yes, -1 no, 0 not known yet.
int response_line_verdict(std::string_view d);
/// The end of the head in `b` (searching from `from`), or npos while incomplete.
std::size_t find_head_end(const std::string& b, std::size_t from);
/// The Host value lowercased, without its port.
void host_without_port(std::string_view host, std::string& out);
/// The leading decimal digits of `s` (capped near 2^50).
uint64_t parse_uint(std::string_view s);
/// Content-Length as libhtp reads it; -1 when there are no digits.
int64_t parse_content_length(std::string_view v);
/// parse_chunk_size's answer for a line with nothing in it.
constexpr int64_t kBlankLine = -2;
/// A byte skipped around a chunk-size line.
bool chunk_ctl(char c);
/// A chunk-size line's value, kBlankLine, or -1 when malformed.
int64_t parse_chunk_size(std::string_view l);
/// While a chunk-size line is incomplete: false once it cannot be one.
bool chunk_size_plausible(std::string_view l);

}  // namespace mimamori::net::http
