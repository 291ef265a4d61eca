#pragma once
// Shared driver of the app-layer fuzz targets: the input is split into chunks
// ([1-byte direction+length hint][bytes]) fed alternately to both directions, and every
// buffer is read after each progress point, as a detector would.

#include <cstddef>
#include <cstdint>

#include "app/app.h"

namespace mimamori::net::fuzz {

class NullSink : public AppSink {
 public:
  explicit NullSink(AppParser* p) : p_(p) {}
  void progress(const AppEvent&) override {
    for (std::size_t i = 0; i < static_cast<std::size_t>(Buffer::kCount); ++i) {
      auto b = static_cast<Buffer>(i);
      for (std::size_t k = 0; k < p_->buffer_count(b) && k < 4; ++k)
        sum_ += p_->buffer(b, k).size();
    }
    core::Fields f;
    p_->append_record(f);
  }
  void record(std::string_view, const core::Fields& f, Direction) override {
    sum_ += f.nodes().size();
  }
  void anomaly(std::string_view e) override { sum_ += e.size(); }
  std::size_t sum_ = 0;

 private:
  AppParser* p_;
};

inline void drive(AppParser& parser, const uint8_t* data, std::size_t size) {
  NullSink sink(&parser);
  std::size_t pos = 0;
  while (pos < size) {
    uint8_t h = data[pos++];
    Direction dir = (h & 0x80) ? Direction::kToClient : Direction::kToServer;
    std::size_t len = (h & 0x7f) * 16 + 1;
    if (len > size - pos) len = size - pos;
    if (h == 0x7f) {
      parser.gap(dir, len);
      continue;
    }
    parser.parse(dir, {reinterpret_cast<const char*>(data + pos), len}, sink);
    pos += len;
  }
  parser.close(sink);
  parser.reset();
}

}  // namespace mimamori::net::fuzz
