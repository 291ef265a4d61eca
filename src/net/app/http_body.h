#pragma once
// HTTP body decoding (private to app/): the content codings a body names, undone in order.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mimamori::net::http {

class InflateLayer;

/// The content codings of a body, outermost first (the order libhtp applies them), each layer
/// feeding the next. The layers exist only while a compressed body is read.
class BodyDecoder {
 public:
  BodyDecoder();
  ~BodyDecoder();
  BodyDecoder(BodyDecoder&&) noexcept;
  BodyDecoder& operator=(BodyDecoder&&) noexcept;

  /// Sets up the layers named in a Content-Encoding value ("gzip", "x-gzip, deflate", ...);
  /// false when none applies. Unknown tokens ("identity", junk) are skipped.
  bool begin(std::string_view ce, unsigned max_layers);
  /// Ends the layers (their zlib state is freed).
  void end();
  /// True while a compressed body is read.
  bool active() const { return count_ > 0; }
  /// Appends the decoded bytes of `in` to `out`: at most `keep_limit` kept, at most
  /// `total_limit` produced by any layer.
  void feed(std::string_view in, std::string& out, std::size_t keep_limit, std::size_t total_limit);

 private:
  static bool is_sep(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
  std::vector<std::unique_ptr<InflateLayer>> layers_;
  std::size_t count_ = 0;
  std::string stage_[2];
};

}  // namespace mimamori::net::http
