// HTTP/1.x: request and response heads, content-length and chunked bodies, gzip/deflate
// decompression with limits, several transactions per connection (pipelining included). Each
// transaction is logged once, when its response is complete or when the flow ends.

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "app.h"

namespace mimamori::net {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
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

struct Header {
  std::string_view name, value;
};

// Splits a head (start line + header lines) into its parts; tolerant of bare LF.
void split_head(std::string_view head, std::string_view& start, std::vector<Header>& headers) {
  headers.clear();
  std::size_t e = head.find('\n');
  start = trim(head.substr(0, e));
  std::size_t pos = e == std::string_view::npos ? head.size() : e + 1;
  while (pos < head.size()) {
    std::size_t n = head.find('\n', pos);
    if (n == std::string_view::npos) n = head.size();
    std::string_view line = head.substr(pos, n - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = n + 1;
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !headers.empty()) {
      // Folded continuation: extend the previous value over the line break.
      auto& h = headers.back();
      const char* begin = h.value.data();
      h.value = trim(
          std::string_view(begin, static_cast<std::size_t>(line.data() + line.size() - begin)));
      continue;
    }
    std::size_t c = line.find(':');
    if (c == std::string_view::npos) continue;
    headers.push_back({trim(line.substr(0, c)), trim(line.substr(c + 1))});
  }
}

std::string_view header_value(const std::vector<Header>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (iequals(h.name, name)) return h.value;
  return {};
}
bool has_header(const std::vector<Header>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (iequals(h.name, name)) return true;
  return false;
}

/// Inflates gzip or zlib or raw deflate, bounded.
class Inflater {
 public:
  ~Inflater() { end(); }
  void begin(bool gzip) {
    end();
    // The zlib state exists only while a compressed body is read, so idle flows stay small.
    if (!zp_) zp_ = std::make_unique<z_stream>();
    std::memset(zp_.get(), 0, sizeof(z_stream));
    raw_tried_ = false;
    ok_ = inflateInit2(zp_.get(), gzip ? 15 + 32 : 15) == Z_OK;
    active_ = ok_;
    produced_ = 0;
    gzip_ = gzip;
  }
  void end() {
    if (active_) inflateEnd(zp_.get());
    active_ = false;
  }
  /// Appends inflated bytes of `in` to `out` up to `limit` bytes in total.
  void feed(std::string_view in, std::string& out, std::size_t keep_limit,
            std::size_t total_limit) {
    if (!ok_ || !active_) return;
    char buf[16384];
    zp_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zp_->avail_in = static_cast<uInt>(in.size());
    while (zp_->avail_in > 0 && produced_ < total_limit) {
      zp_->next_out = reinterpret_cast<Bytef*>(buf);
      zp_->avail_out = sizeof(buf);
      int rc = inflate(zp_.get(), Z_NO_FLUSH);
      std::size_t n = sizeof(buf) - zp_->avail_out;
      produced_ += n;
      if (out.size() < keep_limit) out.append(buf, std::min(n, keep_limit - out.size()));
      if (rc == Z_DATA_ERROR && !gzip_ && !raw_tried_ && produced_ == 0) {
        // "deflate" is often sent raw, without the zlib wrapper.
        inflateEnd(zp_.get());
        std::memset(zp_.get(), 0, sizeof(z_stream));
        raw_tried_ = true;
        if (inflateInit2(zp_.get(), -15) != Z_OK) {
          active_ = ok_ = false;
          return;
        }
        zp_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        zp_->avail_in = static_cast<uInt>(in.size());
        continue;
      }
      if (rc != Z_OK) {
        end();
        ok_ = false;
        return;
      }
    }
  }

 private:
  std::unique_ptr<z_stream> zp_;
  bool ok_ = false, active_ = false, raw_tried_ = false, gzip_ = false;
  std::size_t produced_ = 0;
};

struct Tx {
  uint64_t id = 0;
  std::string req_head, resp_head;
  std::string_view req_line, resp_line;
  std::vector<Header> req_headers, resp_headers;
  std::string_view method, uri_raw, protocol, resp_protocol, status_code, status_msg;
  std::string host;  // the normalized buffers are built on demand (see Derived)
  std::string req_body, resp_body;
  uint64_t req_body_len = 0, resp_body_len = 0;
  bool req_done = false, req_head_done = false, resp_head_done = false, resp_done = false;
  bool logged = false;
  int status = 0;
  void clear() {
    req_head.clear();
    resp_head.clear();
    req_line = resp_line = {};
    req_headers.clear();
    resp_headers.clear();
    method = uri_raw = protocol = resp_protocol = status_code = status_msg = {};
    host.clear();
    req_body.clear();
    resp_body.clear();
    req_body_len = resp_body_len = 0;
    req_done = req_head_done = resp_head_done = resp_done = logged = false;
    status = 0;
  }
};

enum class BodyMode : uint8_t {
  kNone,
  kLength,
  kChunkSize,
  kChunkData,
  kChunkDataEnd,
  kTrailer,
  kUntilClose
};

struct Side {
  std::string buf;  // partial head / chunk-size line
  BodyMode mode = BodyMode::kNone;
  uint64_t remaining = 0;
  bool in_body = false;
  Inflater inflater;
  bool compressed = false;
  std::size_t tx_index = 0;  // which transaction this side is working on (by id)
  void clear() {
    buf.clear();
    mode = BodyMode::kNone;
    remaining = 0;
    in_body = false;
    inflater.end();
    compressed = false;
  }
};

class HttpParser final : public AppParser {
 public:
  explicit HttpParser(const AppLimits& limits) : limits_(limits) {}
  AppProto proto() const override { return AppProto::kHttp; }

  void parse(Direction dir, std::string_view data, AppSink& sink) override {
    if (switched_) return;
    sink_ = &sink;
    if (dir == Direction::kToServer)
      parse_side(0, data);
    else
      parse_side(1, data);
    sink_ = nullptr;
  }

  void gap(Direction dir, uint32_t lost) override {
    int si = dir == Direction::kToServer ? 0 : 1;
    Side& s = side_[si];
    // Inside a body of known length the gap is only missing body bytes: count them and go
    // on. Anywhere else resynchronising is guesswork: drop the partial message of that side.
    if (s.in_body && (s.mode == BodyMode::kLength || s.mode == BodyMode::kChunkData) &&
        lost < s.remaining) {
      s.remaining -= lost;
      if (Tx* t = tx_by_id(s.tx_index)) (si == 0 ? t->req_body_len : t->resp_body_len) += lost;
      if (s.compressed) s.inflater.end();  // the inflater cannot skip bytes
      return;
    }
    if (s.in_body && s.mode == BodyMode::kUntilClose) {
      if (Tx* t = tx_by_id(s.tx_index)) t->resp_body_len += lost;
      return;
    }
    if (s.in_body) {
      s.in_body = false;
      s.mode = BodyMode::kNone;
    }
    s.buf.clear();
  }

  void close(AppSink& sink) override {
    sink_ = &sink;
    // A request or response head cut short by the end of the connection still counts.
    for (int s = 0; s < 2; ++s) {
      Side& side = side_[s];
      if (side.in_body || side.buf.empty()) continue;
      std::string head = std::move(side.buf);
      side.buf.clear();
      std::size_t skip = 0;
      while (skip < head.size() && (head[skip] == '\r' || head[skip] == '\n')) ++skip;
      if (skip == head.size()) continue;
      head.erase(0, skip);
      if (s == 0) {
        on_request_head(std::move(head));
      } else {
        on_response_head(std::move(head));
      }
    }
    // A response read until close ends here.
    if (side_[1].in_body && side_[1].mode == BodyMode::kUntilClose) finish_response_body();
    for (auto& tx : txs_)
      if (!tx->logged && tx->req_head_done) log_tx(*tx);
    sink_ = nullptr;
  }

  std::string_view buffer(Buffer b, std::size_t index) const override {
    if (index != 0 || !current_) return {};
    const Tx& t = *current_;
    bool resp = current_dir_ == 1;
    switch (b) {
      case Buffer::kHttpUri:
        return t.req_head_done ? std::string_view(derived(t, resp).uri) : std::string_view{};
      case Buffer::kHttpUriRaw:
        return t.uri_raw;
      case Buffer::kHttpMethod:
        return t.method;
      case Buffer::kHttpHost:
        return t.host;
      case Buffer::kHttpHostRaw:
        return header_value(t.req_headers, "host");
      case Buffer::kHttpUserAgent:
        return header_value(t.req_headers, "user-agent");
      case Buffer::kHttpHeader:
        return derived(t, resp).header;
      case Buffer::kHttpHeaderRaw:
        return raw_headers(resp ? t.resp_head : t.req_head);
      case Buffer::kHttpHeaderNames:
        return derived(t, resp).names;
      case Buffer::kHttpCookie:
        return resp ? header_value(t.resp_headers, "set-cookie")
                    : header_value(t.req_headers, "cookie");
      case Buffer::kHttpRequestBody:
        return t.req_body;
      case Buffer::kHttpResponseBody:
        return t.resp_body;
      case Buffer::kHttpStatCode:
        return t.status_code;
      case Buffer::kHttpStatMsg:
        return t.status_msg;
      case Buffer::kHttpContentType:
        return header_value(resp ? t.resp_headers : t.req_headers, "content-type");
      case Buffer::kHttpContentLen:
        return header_value(resp ? t.resp_headers : t.req_headers, "content-length");
      case Buffer::kHttpReferer:
        return header_value(t.req_headers, "referer");
      case Buffer::kHttpRequestLine:
        return t.req_line;
      case Buffer::kHttpResponseLine:
        return t.resp_line;
      case Buffer::kHttpStart:
        return resp ? std::string_view(t.resp_head) : std::string_view(t.req_head);
      case Buffer::kHttpLocation:
        return header_value(t.resp_headers, "location");
      case Buffer::kHttpServer:
        return header_value(t.resp_headers, "server");
      case Buffer::kHttpAccept:
        return header_value(t.req_headers, "accept");
      case Buffer::kHttpAcceptEnc:
        return header_value(t.req_headers, "accept-encoding");
      case Buffer::kHttpAcceptLang:
        return header_value(t.req_headers, "accept-language");
      case Buffer::kHttpConnection:
        return header_value(t.req_headers, "connection");
      case Buffer::kHttpProtocol:
        return resp ? t.resp_protocol : t.protocol;
      case Buffer::kFileData:
        return resp ? std::string_view(t.resp_body) : std::string_view(t.req_body);
      default:
        return {};
    }
  }

  std::size_t buffer_count(Buffer b) const override {
    if (!current_) return 0;
    const Tx& t = *current_;
    bool resp = current_dir_ == 1;
    switch (b) {
      case Buffer::kHttpUri:
      case Buffer::kHttpUriRaw:
      case Buffer::kHttpMethod:
      case Buffer::kHttpRequestLine:
      case Buffer::kHttpHeaderNames:
        return t.req_head_done ? 1 : 0;
      case Buffer::kHttpHeader:
      case Buffer::kHttpHeaderRaw:
      case Buffer::kHttpStart:
      case Buffer::kHttpProtocol:
        return (resp ? t.resp_head_done : t.req_head_done) ? 1 : 0;
      case Buffer::kHttpStatCode:
      case Buffer::kHttpStatMsg:
      case Buffer::kHttpResponseLine:
        return t.resp_head_done ? 1 : 0;
      case Buffer::kHttpRequestBody:
        return t.req_body_len > 0 ? 1 : 0;
      case Buffer::kHttpResponseBody:
        return t.resp_body_len > 0 ? 1 : 0;
      case Buffer::kFileData:
        return (resp ? t.resp_body_len : t.req_body_len) > 0 ? 1 : 0;
      case Buffer::kHttpHost:
        return t.host.empty() && !has_header(t.req_headers, "host") ? 0 : 1;
      case Buffer::kHttpHostRaw:
        return has_header(t.req_headers, "host") ? 1 : 0;
      case Buffer::kHttpUserAgent:
        return has_header(t.req_headers, "user-agent") ? 1 : 0;
      case Buffer::kHttpCookie:
        return has_header(resp ? t.resp_headers : t.req_headers, resp ? "set-cookie" : "cookie")
                   ? 1
                   : 0;
      case Buffer::kHttpContentType:
        return has_header(resp ? t.resp_headers : t.req_headers, "content-type") ? 1 : 0;
      case Buffer::kHttpContentLen:
        return has_header(resp ? t.resp_headers : t.req_headers, "content-length") ? 1 : 0;
      case Buffer::kHttpReferer:
        return has_header(t.req_headers, "referer") ? 1 : 0;
      case Buffer::kHttpLocation:
        return has_header(t.resp_headers, "location") ? 1 : 0;
      case Buffer::kHttpServer:
        return has_header(t.resp_headers, "server") ? 1 : 0;
      case Buffer::kHttpAccept:
        return has_header(t.req_headers, "accept") ? 1 : 0;
      case Buffer::kHttpAcceptEnc:
        return has_header(t.req_headers, "accept-encoding") ? 1 : 0;
      case Buffer::kHttpAcceptLang:
        return has_header(t.req_headers, "accept-language") ? 1 : 0;
      case Buffer::kHttpConnection:
        return has_header(t.req_headers, "connection") ? 1 : 0;
      default:
        return 0;
    }
  }

  void append_record(core::Fields& out) const override {
    const Tx* t = current_;
    if (!t && !txs_.empty()) t = txs_.back().get();
    if (t && t->req_head_done) write_record(*t, out);
  }

  void reset() override {
    while (!txs_.empty()) recycle_front();
    side_[0].clear();
    side_[1].clear();
    next_id_ = 0;
    ++epoch_;
    current_ = nullptr;
    switched_ = false;
  }

 private:
  // Buffers derived from a transaction (normalized URI, headers), built when a detector asks
  // and kept per thread for the callback in progress, so idle flows do not carry them.
  struct Derived {
    const void* parser = nullptr;
    uint64_t epoch = 0;
    uint64_t tx = ~0ull;
    int dir = -1;
    std::string uri, header, names;
  };
  const Derived& derived(const Tx& t, bool resp) const {
    thread_local Derived d;
    int dir = resp ? 1 : 0;
    if (d.parser != this || d.epoch != epoch_ || d.tx != t.id || d.dir != dir) {
      d.parser = this;
      d.epoch = epoch_;
      d.tx = t.id;
      d.dir = dir;
      normalize_uri(t.uri_raw, d.uri);
      build_norm(resp ? t.resp_headers : t.req_headers, d.header, d.names, true);
    }
    return d;
  }

  static std::string_view raw_headers(std::string_view head) {
    std::size_t e = head.find('\n');
    return e == std::string_view::npos ? std::string_view{} : head.substr(e + 1);
  }

  Tx& new_tx() {
    if (!spare_.empty()) {
      txs_.push_back(std::move(spare_.back()));
      spare_.pop_back();
    } else {
      txs_.push_back(std::make_unique<Tx>());
    }
    Tx& t = *txs_.back();
    t.clear();
    t.id = next_id_++;
    return t;
  }

  Tx* tx_by_id(uint64_t id) {
    for (auto& t : txs_)
      if (t->id == id) return t.get();
    return nullptr;
  }

  // The transaction the response side works on: the oldest without a complete response.
  Tx* response_tx() {
    for (auto& t : txs_)
      if (!t->resp_done) return t.get();
    return nullptr;
  }

  void notify(Tx& t, AppProgress p, int dir) {
    current_ = &t;
    current_dir_ = dir;
    sink_->progress(
        {AppProto::kHttp, p, dir == 0 ? Direction::kToServer : Direction::kToClient, t.id});
    current_ = nullptr;
  }

  void parse_side(int s, std::string_view data) {
    Side& side = side_[s];
    while (!data.empty() && !switched_) {
      if (!side.in_body) {
        // Accumulate the head until an empty line.
        std::size_t before = side.buf.size();
        side.buf.append(data);
        std::size_t end = find_head_end(side.buf, before);
        if (end == std::string::npos) {
          if (side.buf.size() > limits_.header_limit) {
            sink_->anomaly(s == 0 ? "REQUEST_FIELD_TOO_LONG" : "RESPONSE_FIELD_TOO_LONG");
            side.buf.clear();
          }
          return;
        }
        std::size_t consumed_from_data = end - before;
        std::string head = side.buf.substr(0, end);
        side.buf.clear();
        data.remove_prefix(consumed_from_data);
        // Skip blank lines between messages.
        std::size_t skip = 0;
        while (skip < head.size() && (head[skip] == '\r' || head[skip] == '\n')) ++skip;
        if (skip == head.size()) continue;
        if (skip) head.erase(0, skip);
        if (s == 0)
          on_request_head(std::move(head));
        else
          on_response_head(std::move(head));
        continue;
      }
      std::size_t used = body(s, data);
      data.remove_prefix(used);
    }
  }

  static std::size_t find_head_end(const std::string& b, std::size_t from) {
    std::size_t start = from >= 3 ? from - 3 : 0;
    for (std::size_t i = start; i < b.size(); ++i) {
      if (b[i] != '\n') continue;
      if (i + 1 < b.size() && b[i + 1] == '\n') return i + 2;
      if (i + 2 < b.size() && b[i + 1] == '\r' && b[i + 2] == '\n') return i + 3;
    }
    // A head that is only blank lines ends at once.
    bool blank = !b.empty();
    for (char c : b)
      if (c != '\r' && c != '\n') blank = false;
    return blank ? b.size() : std::string::npos;
  }

  static void build_norm(const std::vector<Header>& hs, std::string& norm, std::string& names,
                         bool skip_cookie) {
    norm.clear();
    names.assign("\r\n");
    for (const auto& h : hs) {
      names.append(h.name).append("\r\n");
      if (skip_cookie && (iequals(h.name, "cookie") || iequals(h.name, "set-cookie"))) continue;
      norm.append(h.name).append(": ").append(h.value).append("\r\n");
    }
    names.append("\r\n");
  }

  void on_request_head(std::string head) {
    ++epoch_;
    // Finished transactions stay until the next request, so alerts can still cite them.
    while (!txs_.empty() && txs_.front()->logged && txs_.front()->resp_done &&
           txs_.front()->req_done)
      recycle_front();
    if (txs_.size() >= limits_.max_transactions) {
      sink_->anomaly("too_many_transactions");
      Tx& old = *txs_.front();
      if (!old.logged) log_tx(old);
      recycle_front();
    }
    // A request line must start with a method token; anything else (a body we lost track
    // of, binary junk) is not a transaction.
    {
      std::size_t sp = head.find(' ');
      std::string_view method = std::string_view(head).substr(0, sp);
      bool token = !method.empty() && method.size() <= 32 && sp != std::string::npos;
      for (char c : method)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
          token = false;
      if (!token) {
        sink_->anomaly("REQUEST_LINE_INVALID");
        return;
      }
    }
    Tx& t = new_tx();
    t.req_head = std::move(head);
    std::string_view start;
    split_head(t.req_head, start, t.req_headers);
    t.req_line = start;
    std::size_t sp1 = start.find(' ');
    t.method = start.substr(0, sp1);
    if (sp1 != std::string_view::npos) {
      std::string_view rest = trim(start.substr(sp1 + 1));
      std::size_t sp2 = rest.rfind(' ');
      if (sp2 != std::string_view::npos && rest.substr(sp2 + 1).substr(0, 5) == "HTTP/") {
        t.uri_raw = trim(rest.substr(0, sp2));
        t.protocol = rest.substr(sp2 + 1);
      } else {
        t.uri_raw = rest;
        sink_->anomaly("REQUEST_LINE_MISSING_PROTOCOL");
      }
    }
    // Host: an absolute URI's authority wins over the header, as in libhtp.
    std::string_view host = header_value(t.req_headers, "host");
    std::string_view u = t.uri_raw;
    std::size_t scheme = u.find("://");
    if (scheme != std::string_view::npos && scheme < 8) {
      std::string_view auth = u.substr(scheme + 3);
      auth = auth.substr(0, auth.find_first_of("/?"));
      std::size_t at = auth.rfind('@');
      if (at != std::string_view::npos) auth.remove_prefix(at + 1);
      if (!auth.empty()) host = auth;
    }
    host_without_port(host, t.host);
    t.req_head_done = true;
    notify(t, AppProgress::kHttpRequestHeaders, 0);
    Side& side = side_[0];
    side.tx_index = t.id;
    start_body(side, t.req_headers, false);
    if (!side.in_body) t.req_done = true;
  }

  // Sets up the body framing of a message from its headers: chunked, Content-Length, or (for
  // responses without either) until the connection closes.
  static void start_body(Side& side, const std::vector<Header>& headers, bool until_close) {
    std::string_view te = header_value(headers, "transfer-encoding");
    std::string_view cl = header_value(headers, "content-length");
    side.compressed = false;
    if (!te.empty() && te.find("hunked") != std::string_view::npos) {
      side.in_body = true;
      side.mode = BodyMode::kChunkSize;
    } else if (!cl.empty()) {
      uint64_t n = parse_uint(cl);
      if (n > 0) {
        side.in_body = true;
        side.mode = BodyMode::kLength;
        side.remaining = n;
      }
    } else if (until_close) {
      side.in_body = true;
      side.mode = BodyMode::kUntilClose;
    }
  }

  static void host_without_port(std::string_view host, std::string& out) {
    out.clear();
    if (!host.empty() && host[0] == '[') {
      std::size_t e = host.find(']');
      host = host.substr(0, e == std::string_view::npos ? host.size() : e + 1);
    } else {
      std::size_t c = host.find(':');
      if (c != std::string_view::npos) host = host.substr(0, c);
    }
    for (char c : host)
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }

  static uint64_t parse_uint(std::string_view s) {
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') break;
      v = v * 10 + static_cast<uint64_t>(c - '0');
      if (v > (1ull << 50)) break;
    }
    return v;
  }

  void on_response_head(std::string head) {
    ++epoch_;
    Tx* tp = response_tx();
    if (!tp) {
      // A response without a request (or we missed the request): its own transaction.
      sink_->anomaly("UNABLE_TO_MATCH_RESPONSE_TO_REQUEST");
      Tx& n = new_tx();
      n.req_done = true;
      tp = &n;
    }
    Tx& t = *tp;
    t.resp_head = std::move(head);
    std::string_view start;
    split_head(t.resp_head, start, t.resp_headers);
    t.resp_line = start;
    std::size_t sp1 = start.find(' ');
    t.resp_protocol = start.substr(0, sp1);
    if (sp1 != std::string_view::npos) {
      std::string_view rest = start.substr(sp1 + 1);
      std::size_t sp2 = rest.find(' ');
      t.status_code = rest.substr(0, sp2);
      t.status_msg = sp2 == std::string_view::npos ? std::string_view{} : rest.substr(sp2 + 1);
    }
    t.status = static_cast<int>(parse_uint(t.status_code));
    if (t.status >= 100 && t.status < 200 && t.status != 101) {
      // Interim response: the final one follows for the same transaction.
      t.resp_head.clear();
      t.resp_headers.clear();
      t.status = 0;
      t.status_code = t.status_msg = t.resp_protocol = t.resp_line = {};
      return;
    }
    t.resp_head_done = true;
    notify(t, AppProgress::kHttpResponseHeaders, 1);
    Side& side = side_[1];
    side.tx_index = t.id;
    std::string_view ce = header_value(t.resp_headers, "content-encoding");
    bool tunnel = iequals(t.method, "CONNECT") && t.status >= 200 && t.status < 300;
    bool no_body = iequals(t.method, "HEAD") || t.status == 204 || t.status == 304 ||
                   (t.status >= 100 && t.status < 200) || tunnel;
    if (no_body) {
      side.compressed = false;
    } else {
      // Without a length a response runs until close (but a 101 switches protocols).
      start_body(side, t.resp_headers, t.status != 101);
    }
    if (side.in_body && (iequals(ce, "gzip") || iequals(ce, "x-gzip") || iequals(ce, "deflate"))) {
      side.compressed = true;
      side.inflater.begin(!iequals(ce, "deflate"));
    }
    if (!side.in_body) finish_response(t);
    if (tunnel) {
      // The proxy opened the tunnel: what follows on both sides is the tunnelled protocol.
      switched_ = true;
      sink_->switch_protocol();
    }
  }

  // Consumes body bytes of side `s`; returns how many were used.
  std::size_t body(int s, std::string_view data) {
    Side& side = side_[s];
    switch (side.mode) {
      case BodyMode::kLength: {
        std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(side.remaining, data.size()));
        body_data(s, data.substr(0, n));
        side.remaining -= n;
        if (side.remaining == 0) end_body(s);
        return n;
      }
      case BodyMode::kUntilClose:
        body_data(s, data);
        return data.size();
      case BodyMode::kChunkSize:
      case BodyMode::kChunkDataEnd:
      case BodyMode::kTrailer: {
        std::size_t nl = data.find('\n');
        if (nl == std::string_view::npos) {
          side.buf.append(data);
          if (side.buf.size() > 1024) {
            sink_->anomaly("INVALID_CHUNK_LEN");
            side.buf.clear();
            end_body(s);
          }
          return data.size();
        }
        side.buf.append(data.substr(0, nl));
        std::string line = std::move(side.buf);
        side.buf.clear();
        std::string_view l = trim(line);
        if (side.mode == BodyMode::kChunkDataEnd) {
          side.mode = BodyMode::kChunkSize;
          if (l.empty()) return nl + 1;
          // Missing CRLF after the chunk: treat this line as the size line.
        }
        if (side.mode == BodyMode::kTrailer) {
          if (l.empty()) end_body(s);
          return nl + 1;
        }
        uint64_t size = 0;
        int digits = 0;
        for (char c : l) {
          int v = hexval(c);
          if (v < 0) break;
          size = size * 16 + static_cast<uint64_t>(v);
          if (++digits > 15) break;
        }
        if (digits == 0) {
          sink_->anomaly("INVALID_CHUNK_LEN");
          end_body(s);
          return nl + 1;
        }
        if (size == 0) {
          side.mode = BodyMode::kTrailer;
        } else {
          side.mode = BodyMode::kChunkData;
          side.remaining = size;
        }
        return nl + 1;
      }
      case BodyMode::kChunkData: {
        std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(side.remaining, data.size()));
        body_data(s, data.substr(0, n));
        side.remaining -= n;
        if (side.remaining == 0) side.mode = BodyMode::kChunkDataEnd;
        return n;
      }
      case BodyMode::kNone:
        side.in_body = false;
        return 0;
    }
    return data.size();
  }

  void body_data(int s, std::string_view d) {
    Side& side = side_[s];
    Tx* t = tx_by_id(side.tx_index);
    if (!t) return;
    if (s == 0) {
      t->req_body_len += d.size();
      if (t->req_body.size() < limits_.request_body_limit)
        t->req_body.append(d.substr(0, limits_.request_body_limit - t->req_body.size()));
    } else {
      t->resp_body_len += d.size();
      if (side.compressed)
        side.inflater.feed(d, t->resp_body, limits_.response_body_limit, limits_.decompress_limit);
      else if (t->resp_body.size() < limits_.response_body_limit)
        t->resp_body.append(d.substr(0, limits_.response_body_limit - t->resp_body.size()));
    }
  }

  void end_body(int s) {
    Side& side = side_[s];
    side.in_body = false;
    side.mode = BodyMode::kNone;
    side.buf.clear();
    Tx* t = tx_by_id(side.tx_index);
    if (!t) return;
    if (s == 0) {
      t->req_done = true;
      if (t->req_body_len) notify(*t, AppProgress::kHttpRequestBody, 0);
    } else {
      side.inflater.end();
      if (t->resp_body_len) notify(*t, AppProgress::kHttpResponseBody, 1);
      finish_response(*t);
    }
  }

  void finish_response_body() { end_body(1); }

  void finish_response(Tx& t) {
    t.resp_done = true;
    if (!t.logged) log_tx(t);
  }

  void recycle_front() {
    std::unique_ptr<Tx> t = std::move(txs_.front());
    txs_.erase(txs_.begin());
    t->clear();
    if (spare_.size() < 2) spare_.push_back(std::move(t));
  }

  void write_record(const Tx& t, core::Fields& f) const {
    f.begin_object("http");
    if (!t.host.empty()) f.add("hostname", t.host);
    std::string_view host = header_value(t.req_headers, "host");
    std::size_t colon = host.rfind(':');
    if (colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
      uint64_t port = parse_uint(host.substr(colon + 1));
      if (port > 0 && port < 65536) f.add("http_port", port);
    }
    f.add("url", t.uri_raw);
    std::string_view ua = header_value(t.req_headers, "user-agent");
    if (has_header(t.req_headers, "user-agent")) f.add("http_user_agent", ua);
    if (!limits_.http_extended) {
      // Suricata's basic http record: host, port, URL and user agent only.
      f.end();
      return;
    }
    if (has_header(t.resp_headers, "content-type")) {
      // Logged without parameters ("text/html", not "text/html; charset=..."), as Suricata does.
      std::string_view ct = header_value(t.resp_headers, "content-type");
      f.add("http_content_type", trim(ct.substr(0, ct.find(';'))));
    }
    if (has_header(t.req_headers, "referer"))
      f.add("http_refer", header_value(t.req_headers, "referer"));
    f.add("http_method", t.method);
    if (!t.protocol.empty()) f.add("protocol", t.protocol);
    if (t.status) f.add("status", t.status);
    if (has_header(t.resp_headers, "location"))
      f.add("redirect", header_value(t.resp_headers, "location"));
    f.add("length", t.resp_body_len);
    f.end();
  }

  void log_tx(Tx& t) {
    t.logged = true;
    scratch_fields().clear();
    scratch_fields().add("tx_id", t.id);
    write_record(t, scratch_fields());
    sink_->record("http", scratch_fields(),
                  t.resp_head_done ? Direction::kToClient : Direction::kToServer);
  }

  AppLimits limits_;
  AppSink* sink_ = nullptr;
  Side side_[2];
  std::vector<std::unique_ptr<Tx>> txs_;  // few at a time: a vector is lighter than a deque
  std::vector<std::unique_ptr<Tx>> spare_;
  uint64_t next_id_ = 0;
  uint64_t epoch_ = 0;  // bumped whenever a head is parsed or the parser is reset
  const Tx* current_ = nullptr;
  int current_dir_ = 0;
  bool switched_ = false;  // a CONNECT tunnel was opened: the rest is not HTTP
};

}  // namespace

std::unique_ptr<AppParser> make_http_parser(const AppLimits& limits) {
  return std::make_unique<HttpParser>(limits);
}

}  // namespace mimamori::net
