#pragma once
/// The sensor's control socket: a Unix stream socket where a running sensor takes one command
/// line per connection ("reload-rules") and answers one line ("ok: ..." or "error: ...").

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "mimamori/core/result.h"

namespace mimamori::net::rules {

/// Serves commands on a socket while it lives; removes the socket when it goes.
class ControlServer {
 public:
  /// Answers one command (without its line end) with one line (without its line end).
  using Handler = std::function<std::string(std::string_view command)>;

  /// Listens on `path` (a stale socket there is replaced); throws core::ConfigError when it
  /// cannot.
  ControlServer(const std::string& path, Handler handler);
  /// Stops serving, closes and removes the socket.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  void serve(std::stop_token stop);

  std::string path_;
  Handler handler_;
  int fd_ = -1;
  std::jthread thread_;
};

/// Sends `command` to the sensor serving `path`; the answer line(s), or an error when it cannot
/// connect.
core::Result<std::string> send_control(const std::string& path, const std::string& command);

}  // namespace mimamori::net::rules
