// The HTTP(S) server on Boost.Beast. Each connection is a session on its own strand: read one
// request (header and body limits, timeouts), hand it to the handler, write the answer when the
// handler calls back (possibly from the ingest writer's thread), and loop while keep-alive.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "http/http.h"

namespace mimamori::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  /// Closes the connection if it is waiting for a request (graceful stop).
  virtual void close_if_idle() = 0;
};

struct HttpServer::Impl {
  // Declared before the io_context so that they outlive it: destroying it destroys the handlers
  // still queued, and with them the last owners of sessions, whose destructors use these.
  std::mutex mu;
  std::condition_variable cv;
  // Every session from its accept to its destructor, whatever way it ends (a failed handshake
  // included): the destructor removes its own entry, so no entry outlives its connection.
  struct Entry {
    std::weak_ptr<SessionBase> session;
    std::string source;  // its source address (IPv6: its /64), counted in per_ip
  };
  std::map<const SessionBase*, Entry> sessions;
  std::unordered_map<std::string, size_t> per_ip;  // sessions per source address
  std::atomic<int> rejecting{0};                   // refused connections still being answered
  HttpOptions options;
  HttpHandler handler;
  net::io_context ioc;
  std::unique_ptr<ssl::context> tls;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  HttpStats stats;
  std::atomic<bool> stopping{false};
  uint16_t port = 0;

  Impl(HttpOptions o, HttpHandler h) : options(std::move(o)), handler(std::move(h)) {}
  void accept();
  void reject(tcp::socket sock);
  // True when one more connection from `source` is within the limits (under `mu`).
  bool admits(const std::string& source) const {
    if (sessions.size() >= options.max_connections) return false;
    auto it = per_ip.find(source);
    return it == per_ip.end() || it->second < options.max_connections_per_ip;
  }
  void add(const std::shared_ptr<SessionBase>& s, const std::string& source) {
    std::lock_guard lock(mu);
    sessions.emplace(s.get(), Entry{s, source});
    ++per_ip[source];
  }
  // Drops an entry and its count (under `mu`).
  std::map<const SessionBase*, Entry>::iterator erase(
      std::map<const SessionBase*, Entry>::iterator it) {
    auto ip = per_ip.find(it->second.source);
    if (ip != per_ip.end() && --ip->second == 0) per_ip.erase(ip);
    return sessions.erase(it);
  }
  void forget(const SessionBase* s) {
    std::lock_guard lock(mu);
    if (auto it = sessions.find(s); it != sessions.end()) erase(it);
    cv.notify_all();
  }
};

namespace {

HttpResponse error_response(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = "{\"error\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') r.body += '\\';
    r.body += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  }
  r.body += "\"}";
  return r;
}

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(HttpServer::Impl& server, Stream stream, std::string remote, bool tls)
      : server_(server), stream_(std::move(stream)), remote_(std::move(remote)), tls_(tls) {}
  ~Session() override { server_.forget(this); }

  void start() {
    server_.stats.connections.fetch_add(1, std::memory_order_relaxed);
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(
          std::chrono::seconds(server_.options.header_timeout_s));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                // A failed handshake (garbage, a peer gone, the timer) ends
                                // here: the last owner goes, and the destructor closes the
                                // socket and drops the session's entry.
                                if (ec) return;
                                self->read();
                              });
    } else {
      read();
    }
  }

  void close_if_idle() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  void read() {
    if (server_.stopping) return close();
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    limit_ = server_.options.max_body;
    parser_->body_limit(limit_);
    busy_ = false;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(
        first_ ? server_.options.header_timeout_s : server_.options.idle_timeout_s));
    first_ = false;
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return fail_read(ec);
    busy_ = true;
    // The route's limit, known now that the header is: a larger announced body is refused
    // before a byte of it is read (or memory reserved for it), and a chunked one is counted
    // against it as it arrives.
    if (server_.options.body_limit) {
      const auto& h = parser_->get();
      limit_ = std::min(limit_, server_.options.body_limit(h.method_string(), h.target()));
    }
    if (auto length = parser_->content_length(); length && *length > limit_) {
      return fail_read(http::error::body_limit);
    }
    parser_->body_limit(limit_);
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(server_.options.body_timeout_s));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec2, size_t) { self->on_read(ec2); });
  }

  void fail_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      server_.stats.too_large.fetch_add(1, std::memory_order_relaxed);
      keep_alive_ = false;
      unread_input_ = true;
      return write(error_response(
          413, "request body is over the limit of " + std::to_string(limit_) + " bytes"));
    }
    if (ec == http::error::header_limit) {
      server_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
      keep_alive_ = false;
      unread_input_ = true;
      return write(error_response(431, "request headers are over the limit of 16 KiB"));
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::ssl::error::stream_truncated) {
      return close();
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
      server_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
      keep_alive_ = false;
      unread_input_ = true;
      return write(error_response(400, "malformed HTTP request: " + ec.message()));
    }
    close();
  }

  void on_read(beast::error_code ec) {
    if (ec) return fail_read(ec);
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    server_.stats.requests.fetch_add(1, std::memory_order_relaxed);
    server_.stats.active.fetch_add(1, std::memory_order_relaxed);
    in_flight_ = true;
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.remote_ip = remote_;
    req.tls = tls_;
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    req.body = std::move(msg.body());
    // The timer must not cut a request that waits for the database: the handler owns it now.
    beast::get_lowest_layer(stream_).expires_never();
    server_.handler(std::move(req), [self = this->shared_from_this()](HttpResponse r) {
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
    });
  }

  void write(HttpResponse r) {
    busy_ = true;
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::server, "mimamori-server");
    res->set(http::field::content_type, r.content_type);
    res->set("X-Content-Type-Options", "nosniff");
    res->set("X-Frame-Options", "DENY");
    if (tls_) res->set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    // No page of ours may be framed (clickjacking): a handler's policy gets frame-ancestors
    // added, and an answer without one (JSON) loads nothing at all.
    bool has_csp = false;
    for (auto& [k, v] : r.headers) {
      if (beast::iequals(k, "Content-Security-Policy")) {
        has_csp = true;
        if (v.find("frame-ancestors") == std::string::npos) v += "; frame-ancestors 'none'";
      }
      res->set(k, v);
    }
    if (!has_csp) res->set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    if (server_.stopping) keep_alive_ = false;
    res->keep_alive(keep_alive_);
    res->body() = std::move(r.body);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(server_.options.body_timeout_s));
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        // Errors answered straight from the parser (413, 431, 400) were never
                        // counted in flight: only a request handed to the handler is.
                        if (self->in_flight_) {
                          self->in_flight_ = false;
                          self->server_.stats.active.fetch_sub(1, std::memory_order_relaxed);
                        }
                        if (ec || !self->keep_alive_) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      if (unread_input_) {
        // As below for plain HTTP: a TLS shutdown now would meet the rest of the request, and
        // closing with it unread resets the connection before the client reads our answer.
        // Read and discard until the client closes (or 2 s), then shut TLS down.
        discard_rest();
      } else {
        shutdown_tls();
      }
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      if (unread_input_) {
        // The client may still be sending the request we refused: closing now would answer its
        // data with a reset that can destroy our error response before the client reads it.
        // Read and discard for a moment (a lingering close), then close.
        stream_.expires_after(std::chrono::seconds(2));
        discard_rest();
      } else {
        stream_.socket().close(ec);
      }
    }
    server_.forget(this);
  }

  void discard_rest() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64 * 1024), [self = this->shared_from_this()](
                                                            beast::error_code ec, size_t) {
      if (!ec) return self->discard_rest();
      if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
        self->shutdown_tls();
      } else {
        beast::error_code ec2;
        self->stream_.socket().close(ec2);
      }
    });
  }

  void shutdown_tls() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ec2;
        beast::get_lowest_layer(self->stream_).socket().close(ec2);
      });
    }
  }

  HttpServer::Impl& server_;
  Stream stream_;
  std::string remote_;
  bool tls_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true, busy_ = false, first_ = true;
  bool unread_input_ = false;  // an error answered a request whose input was not read to its end
  bool in_flight_ = false;     // counted in stats.active until its answer is written
  size_t limit_ = 0;           // the body limit of the request being read
};

// A connection over the limits, answered 503 and closed. After the answer it reads and discards
// what the client sent, for a moment, so that closing with its request unread does not reset the
// connection before the client has read the answer.
class Rejection : public std::enable_shared_from_this<Rejection> {
 public:
  Rejection(HttpServer::Impl& server, tcp::socket sock)
      : server_(server), stream_(std::move(sock)) {}
  ~Rejection() { server_.rejecting.fetch_sub(1, std::memory_order_relaxed); }

  void start() {
    static constexpr std::string_view kBody =
        "{\"error\":\"too many connections; try again later\"}";
    static const std::string kAnswer =
        "HTTP/1.1 503 Service Unavailable\r\nServer: mimamori-server\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(kBody.size()) +
        "\r\nRetry-After: 2\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n"
        "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n\r\n" +
        std::string(kBody);
    stream_.expires_after(std::chrono::seconds(1));
    net::async_write(stream_, net::buffer(kAnswer),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       beast::error_code ec2;
                       if (ec) {
                         self->stream_.socket().close(ec2);
                         return;
                       }
                       self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec2);
                       self->discard();
                     });
  }

 private:
  void discard() {
    stream_.async_read_some(net::buffer(buf_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec) return self->discard();
                              beast::error_code ec2;
                              self->stream_.socket().close(ec2);
                            });
  }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  std::array<char, 1024> buf_;
};

// OpenSSL skips the names it does not know: a typing error would quietly drop a suite, or leave
// only the others. Each name (not the operators !, -, +, @) must select a suite on its own.
core::Status check_cipher_list(const std::string& ciphers) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        SSL_CTX_free);
  if (!ctx) return core::make_error("tls: cannot create an OpenSSL context");
  size_t start = 0;
  while (start <= ciphers.size()) {
    size_t end = ciphers.find_first_of(":, ", start);
    if (end == std::string::npos) end = ciphers.size();
    std::string name = ciphers.substr(start, end - start);
    start = end + 1;
    if (name.empty() || name.find_first_of("!-+@") == 0) continue;
    ERR_clear_error();
    if (SSL_CTX_set_cipher_list(ctx.get(), name.c_str()) != 1) {
      ERR_clear_error();
      return core::make_error("tls: cipher string '{}': '{}' names no cipher suite OpenSSL knows",
                              ciphers, name);
    }
  }
  return {};
}

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket sock) {
    if (ec) {
      if (!stopping && ec != net::error::operation_aborted) accept();
      return;
    }
    if (stopping) return;
    beast::error_code ec2;
    auto ep = sock.remote_endpoint(ec2);
    std::string remote = ec2 ? "" : ep.address().to_string();
    sock.set_option(tcp::no_delay(true), ec2);
    // Counted per address, IPv6 per /64 (the least one host is given, and it holds 2^64).
    std::string source = remote;
    if (!ec2 && ep.address().is_v6() && !ep.address().to_v6().is_v4_mapped()) {
      auto bytes = ep.address().to_v6().to_bytes();
      std::fill(bytes.begin() + 8, bytes.end(), 0);
      source = net::ip::address_v6(bytes).to_string() + "/64";
    }
    // Only this handler adds sessions (one accept at a time), so the count checked here holds
    // until add() below: others can only leave meanwhile.
    bool admitted;
    {
      std::lock_guard lock(mu);
      admitted = admits(source);
    }
    if (!admitted) {
      stats.rejected.fetch_add(1, std::memory_order_relaxed);
      reject(std::move(sock));
    } else if (tls) {
      auto p = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          *this, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(sock)), *tls),
          remote, true);
      add(p, source);
      p->start();
    } else {
      auto p = std::make_shared<Session<beast::tcp_stream>>(
          *this, beast::tcp_stream(std::move(sock)), remote, false);
      add(p, source);
      p->start();
    }
    accept();
  });
}

void HttpServer::Impl::reject(tcp::socket sock) {
  // Over TLS a 503 would cost the very handshake the limit is there to spare: the connection
  // is closed at once. So is any connection while many refused ones are still being answered.
  constexpr int kMaxRejecting = 256;
  if (tls || rejecting.fetch_add(1, std::memory_order_relaxed) >= kMaxRejecting) {
    if (!tls) rejecting.fetch_sub(1, std::memory_order_relaxed);
    beast::error_code ec;
    sock.close(ec);
    return;
  }
  std::make_shared<Rejection>(*this, std::move(sock))->start();
}

HttpServer::HttpServer(HttpOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(0); }

core::Status HttpServer::start() {
  auto& o = impl_->options;
  if (!o.cert_file.empty()) {
    impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    impl_->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1);
    const std::string ciphers =
        o.tls_ciphers.empty() ? std::string(kDefaultTlsCiphers) : o.tls_ciphers;
    if (auto st = check_cipher_list(ciphers); !st.ok()) return st;
    if (SSL_CTX_set_cipher_list(impl_->tls->native_handle(), ciphers.c_str()) != 1) {
      return core::make_error("tls: cipher string '{}' selects no TLS 1.2 cipher suite", ciphers);
    }
    beast::error_code ec;
    impl_->tls->use_certificate_chain_file(o.cert_file, ec);
    if (ec)
      return core::make_error("tls: cannot load certificate {}: {}", o.cert_file, ec.message());
    impl_->tls->use_private_key_file(o.key_file, ssl::context::pem, ec);
    if (ec) return core::make_error("tls: cannot load key {}: {}", o.key_file, ec.message());
  }
  beast::error_code ec;
  auto addr = net::ip::make_address(o.address, ec);
  if (ec) return core::make_error("listen address '{}' is not an IP address", o.address);
  tcp::endpoint ep(addr, o.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return core::make_error("cannot listen on {}:{}: {}", o.address, o.port, ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  for (int i = 0; i < std::max(1, o.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  return {};
}

uint16_t HttpServer::port() const { return impl_->port; }
HttpStats& HttpServer::stats() { return impl_->stats; }

size_t HttpServer::session_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.size();
}

void HttpServer::stop(int grace_s) {
  if (impl_->threads.empty()) return;
  impl_->stopping = true;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [key, e] : impl_->sessions) {
      if (auto s = e.session.lock()) live.push_back(s);
    }
  }
  for (auto& s : live) s->close_if_idle();
  live.clear();
  {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait_for(lock, std::chrono::seconds(grace_s), [&] {
      for (auto it = impl_->sessions.begin(); it != impl_->sessions.end();) {
        it = it->second.session.expired() ? impl_->erase(it) : std::next(it);
      }
      return impl_->sessions.empty();
    });
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace mimamori::server
