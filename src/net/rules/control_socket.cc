// The control socket: one command line per connection, one answer line back.

#include "mimamori/net/rules/control_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "mimamori/core/config.h"

namespace mimamori::net::rules {
namespace {

sockaddr_un control_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  return a;
}

}  // namespace

ControlServer::ControlServer(const std::string& path, Handler handler)
    : path_(path), handler_(std::move(handler)) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    throw core::ConfigError("--control: socket path too long: " + path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw core::ConfigError("--control: cannot create a socket");
  ::unlink(path.c_str());  // a stale socket of an earlier run
  sockaddr_un a = control_address(path);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) {
    ::close(fd);
    throw core::ConfigError("--control: cannot listen on " + path + ": " + std::strerror(errno));
  }
  fd_ = fd;
  thread_ = std::jthread([this](std::stop_token stop) { serve(stop); });
}

ControlServer::~ControlServer() {
  thread_.request_stop();
  ::shutdown(fd_, SHUT_RDWR);  // wakes the blocked accept
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void ControlServer::serve(std::stop_token stop) {
  while (!stop.stop_requested()) {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) {
      if (stop.stop_requested()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    timeval tv{5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string cmd;
    char buf[256];
    while (cmd.find('\n') == std::string::npos && cmd.size() < 1024) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      cmd.append(buf, static_cast<std::size_t>(n));
    }
    cmd = cmd.substr(0, cmd.find_first_of("\r\n"));
    std::string answer = handler_(cmd);
    answer.push_back('\n');
    (void)!::write(c, answer.data(), answer.size());
    ::close(c);
  }
}

core::Result<std::string> send_control(const std::string& path, const std::string& command) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a = control_address(path);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return core::make_error("cannot connect to the control socket {}: {}", path,
                            std::strerror(err));
  }
  std::string line = command + "\n";
  (void)!::write(fd, line.data(), line.size());
  std::string answer;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

}  // namespace mimamori::net::rules
