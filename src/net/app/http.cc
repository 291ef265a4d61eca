// HTTP/1.x: request and response heads, content-length and chunked bodies, gzip/deflate
// decompression with limits, several transactions per connection (pipelining included). Each
// transaction is logged once, when its response is complete or when the flow ends.

#include <algorithm>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "app/app.h"
#include "app/http_body.h"
#include "app/http_text.h"
#include "mimamori/core/text.h"

namespace mimamori::net {
namespace {

using namespace http;  // NOLINT: the parser is written in the helpers' terms
using core::iequals;

struct Tx {
  uint64_t id = 0;
  std::string req_head, resp_head;
  std::string req_store, resp_store;  // folded header lines, joined (see split_head)
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
    req_store.clear();
    resp_store.clear();
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
  BodyDecoder decoder;
  bool compressed = false;
  std::size_t tx_index = 0;  // which transaction this side is working on (by id)
  void clear() {
    buf.clear();
    mode = BodyMode::kNone;
    remaining = 0;
    in_body = false;
    decoder.end();
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
      if (s.compressed) s.decoder.end();  // the decoder cannot skip bytes
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
    // Bodies still open (read until close, or cut short: missing final chunk, fewer bytes
    // than Content-Length) end here, and are inspected with what arrived.
    if (side_[0].in_body) end_body(0);
    if (side_[1].in_body) end_body(1);
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
        return header_value(resp ? t.resp_headers : t.req_headers, "connection");
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
        return has_header(resp ? t.resp_headers : t.req_headers, "connection") ? 1 : 0;
      default:
        return 0;
    }
  }

  void append_record(core::Fields& out) const override {
    const Tx* t = current_;
    if (!t && !txs_.empty()) t = txs_.back().get();
    if (t && t->req_head_done) write_record(*t, out);
  }

  std::string_view request_header(std::string_view name) const override {
    const Tx* t = current_;
    if (!t && !txs_.empty()) t = txs_.back().get();
    return t && t->req_head_done ? header_value(t->req_headers, name) : std::string_view{};
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
        if (s == 1 && side.buf.empty()) {
          // Where a response should start, data that does not begin with "HTTP" is body:
          // an HTTP/0.9 answer, or more body after a response that said it had none or
          // sent fewer bytes than it declared (browsers and libhtp read it so).
          std::size_t blank = 0;
          while (blank < data.size() && std::isspace(static_cast<unsigned char>(data[blank])))
            ++blank;
          data.remove_prefix(blank);
          if (data.empty()) return;
          int verdict = response_line_verdict(data);
          if (verdict == 0) {
            // Undecided: too few bytes yet; keep them as the start of a head.
            side.buf.append(data);
            return;
          }
          if (verdict < 0) {
            start_unframed_body();
            std::size_t nl = data.find('\n');
            if (nl != std::string_view::npos && nl + 1 < data.size()) {
              // A junk line with more data behind it: that line is body, and a status line
              // may still follow (libhtp goes on looking within the data at hand).
              body(1, data.substr(0, nl + 1));
              data.remove_prefix(nl + 1);
              side.in_body = false;
              side.mode = BodyMode::kNone;
            }
            continue;
          }
        } else if (s == 1 && !side.buf.empty() && side.buf.size() < 64 &&
                   side.buf.find('\n') == std::string::npos) {
          std::string probe = side.buf;
          probe.append(data.substr(0, 64));
          int verdict = response_line_verdict(probe);
          if (verdict == 0 && probe.size() < 64) {
            side.buf.append(data);
            return;
          }
          if (verdict < 0) {
            std::string held = std::move(side.buf);
            side.buf.clear();
            start_unframed_body();
            body(1, held);
            continue;
          }
        }
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

  // The response side reads body bytes that came without a head: for a request still waiting,
  // as its response (HTTP/0.9); else as more body of the last response.
  void start_unframed_body() {
    Side& side = side_[1];
    Tx* t = response_tx();
    if (!t) t = tx_by_id(last_resp_id_);
    if (!t) {
      sink_->anomaly("UNABLE_TO_MATCH_RESPONSE_TO_REQUEST");
      Tx& n = new_tx();
      n.req_done = true;
      t = &n;
    }
    side.in_body = true;
    side.mode = BodyMode::kUntilClose;
    side.tx_index = t->id;
    side.compressed = false;
    last_resp_id_ = t->id;
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
    split_head(t.req_head, false, start, t.req_headers, t.req_store);
    t.req_line = start;
    std::size_t sp1 = start.find(' ');
    t.method = start.substr(0, sp1);
    if (sp1 != std::string_view::npos) {
      std::string_view rest = trim_lws(start.substr(sp1 + 1));
      std::size_t sp2 = rest.rfind(' ');
      if (sp2 != std::string_view::npos && rest.substr(sp2 + 1).substr(0, 5) == "HTTP/") {
        t.uri_raw = trim_lws(rest.substr(0, sp2));
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
    // Body framing.
    Side& side = side_[0];
    std::string_view te = header_value(t.req_headers, "transfer-encoding");
    std::string_view cl = header_value(t.req_headers, "content-length");
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
    }
    // A compressed request body (Content-Encoding) is inspected decompressed, as libhtp does
    // since Suricata 7.0.16.
    std::string_view ce = header_value(t.req_headers, "content-encoding");
    if (side.in_body && !ce.empty() && side.decoder.begin(ce, limits_.decompress_layers))
      side.compressed = true;
    side.tx_index = t.id;
    if (!side.in_body) t.req_done = true;
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
    split_head(t.resp_head, true, start, t.resp_headers, t.resp_store);
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
    thread_local std::string join_[3];  // joined repeated headers, for this call only
    std::string_view te = joined_value(t.resp_headers, "transfer-encoding", join_[0]);
    std::string_view cl = joined_value(t.resp_headers, "content-length", join_[1]);
    std::string_view ce = joined_value(t.resp_headers, "content-encoding", join_[2]);
    bool has_te = has_header_nz(t.resp_headers, "transfer-encoding");
    bool has_cl = has_header_nz(t.resp_headers, "content-length");
    // 1xx, 204 and 304 have no body -- unless the server sends framing for one anyway, which
    // clients then read (as libhtp does).
    bool bodiless = (t.status >= 100 && t.status < 200) || t.status == 204 || t.status == 304;
    if (t.status >= 100 && t.status < 200 && t.status != 101 && !has_te && !has_cl) {
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
    last_resp_id_ = t.id;
    side.compressed = false;
    bool tunnel = iequals(t.method, "CONNECT") && t.status >= 200 && t.status < 300;
    bool no_body = iequals(t.method, "HEAD") || (bodiless && !has_te && !has_cl) || tunnel;
    if (!no_body) {
      if (has_te && contains_nocase_nz(te, "chunked")) {
        side.in_body = true;
        side.mode = BodyMode::kChunkSize;
      } else if (has_cl) {
        int64_t n = parse_content_length(cl);
        if (n > 0) {
          side.in_body = true;
          side.mode = BodyMode::kLength;
          side.remaining = static_cast<uint64_t>(n);
        } else if (n < 0) {
          sink_->anomaly("INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE");
          side.in_body = true;
          side.mode = BodyMode::kUntilClose;
        }
      } else if (t.status != 101) {
        side.in_body = true;
        side.mode = BodyMode::kUntilClose;
      }
    }
    if (side.in_body && side.decoder.begin(ce, limits_.decompress_layers)) side.compressed = true;
    if (!side.in_body) finish_response(t);
    if (tunnel) {
      // The proxy opened the tunnel: what follows on both sides is the tunnelled protocol.
      switched_ = true;
      sink_->switch_protocol();
    }
  }

  // The values of all `name` headers joined with ", " (how libhtp sees repeated headers);
  // a view of the only value when there is one.
  static std::string_view joined_value(const std::vector<Header>& hs, std::string_view name,
                                       std::string& scratch) {
    std::string_view first;
    int n = 0;
    for (const auto& h : hs) {
      if (!iequals_nz(h.name, name)) continue;
      if (n == 0) {
        first = h.value;
      } else {
        if (n == 1) scratch.assign(first);
        scratch.append(", ").append(h.value);
      }
      ++n;
    }
    return n > 1 ? std::string_view(scratch) : first;
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
      case BodyMode::kChunkSize: {
        std::size_t nl = data.find('\n');
        std::string_view part = nl == std::string_view::npos ? data : data.substr(0, nl + 1);
        side.buf.append(part);
        bool bad = false;
        int64_t size = 0;
        if (nl == std::string_view::npos) {
          if (chunk_size_plausible(side.buf) && side.buf.size() <= 1024) return part.size();
          bad = true;
        } else {
          size = parse_chunk_size(side.buf);
          if (size == kBlankLine) {
            side.buf.clear();
            return part.size();
          }
          bad = size < 0;
        }
        if (bad) {
          sink_->anomaly("INVALID_CHUNK_LEN");
          if (s == 1) {
            // Not chunked after all: the rest of the response, this line included, is body.
            std::string line = std::move(side.buf);
            side.buf.clear();
            side.mode = BodyMode::kUntilClose;
            body_data(s, line);
          } else {
            side.buf.clear();
            end_body(s);
          }
          return part.size();
        }
        side.buf.clear();
        if (size == 0) {
          side.mode = BodyMode::kTrailer;
        } else {
          side.mode = BodyMode::kChunkData;
          side.remaining = static_cast<uint64_t>(size);
        }
        return part.size();
      }
      case BodyMode::kChunkDataEnd: {
        // Whatever follows a chunk's data up to the line end is skipped.
        std::size_t nl = data.find('\n');
        if (nl == std::string_view::npos) return data.size();
        side.mode = BodyMode::kChunkSize;
        return nl + 1;
      }
      case BodyMode::kTrailer: {
        std::size_t nl = data.find('\n');
        if (nl == std::string_view::npos) {
          side.buf.append(data);
          if (side.buf.size() > 1024) {
            side.buf.clear();
            end_body(s);
          }
          return data.size();
        }
        side.buf.append(data.substr(0, nl));
        std::string_view l = trim_lws(side.buf);
        bool last = l.empty();
        side.buf.clear();
        if (last) end_body(s);
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
      if (side.compressed)
        side.decoder.feed(d, t->req_body, limits_.request_body_limit, limits_.decompress_limit);
      else if (t->req_body.size() < limits_.request_body_limit)
        t->req_body.append(d.substr(0, limits_.request_body_limit - t->req_body.size()));
    } else {
      t->resp_body_len += d.size();
      if (side.compressed)
        side.decoder.feed(d, t->resp_body, limits_.response_body_limit, limits_.decompress_limit);
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
      if (side.compressed) side.decoder.end();
      t->req_done = true;
      if (t->req_body_len) notify(*t, AppProgress::kHttpRequestBody, 0);
    } else {
      side.decoder.end();
      if (t->resp_body_len) notify(*t, AppProgress::kHttpResponseBody, 1);
      finish_response(*t);
    }
  }

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
      f.add("http_content_type", trim_lws(ct.substr(0, ct.find(';'))));
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
  uint64_t last_resp_id_ = ~0ull;  // the transaction whose response head came last
  uint64_t epoch_ = 0;             // bumped whenever a head is parsed or the parser is reset
  const Tx* current_ = nullptr;
  int current_dir_ = 0;
  bool switched_ = false;  // a CONNECT tunnel was opened: the rest is not HTTP
};

}  // namespace

std::unique_ptr<AppParser> make_http_parser(const AppLimits& limits) {
  return std::make_unique<HttpParser>(limits);
}

}  // namespace mimamori::net
