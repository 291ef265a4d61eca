// HTTP bodies: the content codings of a body (gzip, zlib, raw deflate), undone layer by layer
// within the configured limits, as libhtp does.

#include "app/http_body.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "app/http_text.h"

namespace mimamori::net::http {

/// One content-coding layer: gzip, zlib or raw deflate, told apart by the data itself (servers
/// mislabel them), with the gzip header read leniently (reserved flags, header CRC and a missing
/// trailer are ignored, as browsers do). Data that does not inflate from its first byte is
/// passed through unchanged, as libhtp does; data after a later error is dropped.
class InflateLayer {
 public:
  ~InflateLayer() { end(); }
  void begin() {
    end();
    mode_ = Mode::kDetect;
    head_.clear();
    produced_ = 0;
  }
  void end() {
    if (zp_ && zinit_) inflateEnd(zp_.get());
    zinit_ = false;
    head_.clear();
    head_.shrink_to_fit();
    mode_ = Mode::kOff;
  }
  bool active() const { return mode_ != Mode::kOff; }
  /// Appends the decoded bytes of `in` to `out`, at most `limit` bytes produced in total.
  void feed(std::string_view in, std::string& out, std::size_t limit) {
    switch (mode_) {
      case Mode::kOff:
      case Mode::kDone:
        return;
      case Mode::kPass:
        out.append(in.substr(0, limit > out.size() ? limit - out.size() : 0));
        return;
      case Mode::kDetect: {
        // Until the header is known, keep the layer's input so it can be passed through.
        if (head_.empty()) out_start_ = out.size();
        head_.append(in);
        std::size_t skip = 0;
        int st = header_size(head_, skip);
        if (st == 0) {
          if (head_.size() > 4096) pass_through(out, limit);
          return;
        }
        if (st < 0) {
          pass_through(out, limit);
          return;
        }
        if (!zp_) zp_ = std::make_unique<z_stream>();
        std::memset(zp_.get(), 0, sizeof(z_stream));
        if (inflateInit2(zp_.get(), -15) != Z_OK) {
          mode_ = Mode::kDone;
          return;
        }
        zinit_ = true;
        mode_ = Mode::kInflate;
        std::string held = std::move(head_);
        head_ = held;  // kept until the first output, for a pass-through
        inflate_some(std::string_view(held).substr(skip), out, limit);
        return;
      }
      case Mode::kInflate:
        if (produced_ < kDeliverSize) head_.append(in);
        inflate_some(in, out, limit);
        return;
    }
  }

 private:
  enum class Mode : uint8_t { kOff, kDetect, kInflate, kPass, kDone };

  // Bytes before the deflate data: >0 known (in `skip`), 0 need more, <0 not compressed.
  static int header_size(std::string_view h, std::size_t& skip) {
    // Line breaks left before the data by a sloppy head end are skipped when gzip follows.
    std::size_t ws = 0;
    while (ws < h.size() && ws < 8 && (h[ws] == '\r' || h[ws] == '\n')) ++ws;
    if (ws > 0) {
      if (h.size() < ws + 2) return 0;
      if (static_cast<unsigned char>(h[ws]) == 0x1f &&
          static_cast<unsigned char>(h[ws + 1]) == 0x8b) {
        int st = header_size(h.substr(ws), skip);
        skip += ws;
        return st;
      }
    }
    if (h.size() < 2) return 0;
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(h[i]); };
    if (b(0) == 0x1f && b(1) == 0x8b) {
      if (h.size() < 10) return 0;
      unsigned flags = b(3);
      std::size_t p = 10;
      if (flags & 0x04) {  // FEXTRA
        if (h.size() < p + 2) return 0;
        p += 2 + (b(p) | (b(p + 1) << 8));
      }
      for (unsigned f : {0x08u, 0x10u}) {  // FNAME, FCOMMENT: zero-terminated
        if (!(flags & f)) continue;
        std::size_t z = h.find('\0', p);
        if (z == std::string_view::npos) return 0;
        p = z + 1;
      }
      if (flags & 0x02) p += 2;  // FHCRC, not checked
      if (h.size() < p) return 0;
      skip = p;
      return 1;
    }
    if ((b(0) & 0x0f) == 8 && (b(0) >> 4) <= 7 && (b(0) * 256 + b(1)) % 31 == 0) {
      skip = (b(1) & 0x20) ? 6 : 2;  // FDICT: a dictionary id follows
      if (h.size() < skip) return 0;
      return 1;
    }
    skip = 0;
    return 1;  // raw deflate, or not compressed at all: inflate tells
  }

  void pass_through(std::string& out, std::size_t limit) {
    if (zp_ && zinit_) inflateEnd(zp_.get());
    zinit_ = false;
    mode_ = Mode::kPass;
    out.append(std::string_view(head_).substr(0, limit > out.size() ? limit - out.size() : 0));
    head_.clear();
    head_.shrink_to_fit();
  }

  void inflate_some(std::string_view in, std::string& out, std::size_t limit) {
    char buf[16384];
    zp_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zp_->avail_in = static_cast<uInt>(in.size());
    while (zp_->avail_in > 0 && out.size() < limit) {
      zp_->next_out = reinterpret_cast<Bytef*>(buf);
      zp_->avail_out = sizeof(buf);
      int rc = inflate(zp_.get(), Z_NO_FLUSH);
      std::size_t n = sizeof(buf) - zp_->avail_out;
      if (produced_ < kDeliverSize && produced_ + n >= kDeliverSize) {
        head_.clear();
        head_.shrink_to_fit();
      }
      produced_ += n;
      out.append(buf, std::min(n, limit - out.size()));
      if (rc == Z_STREAM_END) {
        inflateEnd(zp_.get());
        zinit_ = false;
        mode_ = Mode::kDone;
        return;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        // An error before libhtp would have handed on its first output buffer: the data was
        // not compressed after all (a mislabelled body); what came out of it is dropped.
        if (produced_ < kDeliverSize) {
          if (out.size() > out_start_) out.resize(out_start_);
          pass_through(out, limit);
        } else {
          inflateEnd(zp_.get());
          zinit_ = false;
          mode_ = Mode::kDone;
        }
        return;
      }
      if (rc == Z_BUF_ERROR && n == 0) return;
    }
  }

  // libhtp's decompression buffer: output is handed on in pieces of this size.
  static constexpr std::size_t kDeliverSize = 8192;

  std::unique_ptr<z_stream> zp_;
  bool zinit_ = false;
  Mode mode_ = Mode::kOff;
  std::string head_;
  std::size_t produced_ = 0;
  std::size_t out_start_ = 0;  // size of the output before this layer's first byte
};

BodyDecoder::BodyDecoder() = default;
BodyDecoder::~BodyDecoder() = default;
BodyDecoder::BodyDecoder(BodyDecoder&&) noexcept = default;
BodyDecoder& BodyDecoder::operator=(BodyDecoder&&) noexcept = default;

bool BodyDecoder::begin(std::string_view ce, unsigned max_layers) {
  end();
  std::size_t n = 0;
  std::size_t i = 0;
  while (i < ce.size()) {
    while (i < ce.size() && is_sep(ce[i])) ++i;
    std::size_t j = i;
    while (j < ce.size() && !is_sep(ce[j])) ++j;
    std::string_view tok = ce.substr(i, j - i);
    i = j;
    if (tok.empty()) continue;
    if (!contains_nocase_nz(tok, "gzip") && !contains_nocase_nz(tok, "deflate")) continue;
    if (max_layers && n >= max_layers) break;
    if (layers_.size() <= n) layers_.push_back(std::make_unique<InflateLayer>());
    layers_[n]->begin();
    ++n;
  }
  count_ = n;
  return n > 0;
}

void BodyDecoder::end() {
  for (std::size_t i = 0; i < count_; ++i) layers_[i]->end();
  count_ = 0;
  stage_[0].clear();
  stage_[1].clear();
}

void BodyDecoder::feed(std::string_view in, std::string& out, std::size_t keep_limit,
                       std::size_t total_limit) {
  std::string_view cur = in;
  for (std::size_t i = 0; i < count_; ++i) {
    bool last = i + 1 == count_;
    std::string& dst = last ? out : stage_[i & 1];
    if (!last) dst.clear();
    std::size_t limit = last ? std::min(keep_limit, total_limit) : total_limit;
    layers_[i]->feed(cur, dst, limit);
    cur = dst;
  }
}

}  // namespace mimamori::net::http
