#include "mimamori/net/output.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace mimamori::net {
namespace {

class FileSink final : public EveSink {
 public:
  FileSink(std::string path, FILE* f, uint64_t rotate, int keep, uint64_t size)
      : path_(std::move(path)), f_(f), rotate_(rotate), keep_(keep), size_(size) {}
  ~FileSink() override {
    if (f_) std::fclose(f_);
  }
  void write(std::string_view lines) override {
    std::lock_guard lock(mu_);
    // `lines` is a batch of whole records: the file takes the records that fit under the
    // limit, the rest go to the next file, so no record is split and files stay at the limit
    // (a record longer than the limit gets a file of its own).
    while (f_ && !lines.empty()) {
      if (!rotate_ || size_ + lines.size() <= rotate_) {
        put(lines);
        return;
      }
      std::size_t room = size_ < rotate_ ? rotate_ - size_ : 0;
      std::size_t cut = room ? lines.rfind('\n', room - 1) : std::string_view::npos;
      if (cut == std::string_view::npos && size_ == 0) {
        cut = lines.find('\n');
        if (cut == std::string_view::npos) cut = lines.size() - 1;
      }
      if (cut != std::string_view::npos) {
        put(lines.substr(0, cut + 1));
        lines.remove_prefix(cut + 1);
      }
      if (!lines.empty()) rotate();
    }
  }
  void flush() override {
    std::lock_guard lock(mu_);
    if (f_) std::fflush(f_);
  }

 private:
  void put(std::string_view d) {
    std::fwrite(d.data(), 1, d.size(), f_);
    size_ += d.size();
  }
  void rotate() {
    std::fclose(f_);
    f_ = nullptr;
    std::error_code ec;
    for (int i = keep_ - 1; i >= 1; --i)
      std::filesystem::rename(path_ + "." + std::to_string(i), path_ + "." + std::to_string(i + 1),
                              ec);
    std::filesystem::rename(path_, path_ + ".1", ec);
    f_ = std::fopen(path_.c_str(), "a");
    size_ = 0;
  }
  std::mutex mu_;
  std::string path_;
  FILE* f_;
  uint64_t rotate_;
  int keep_;
  uint64_t size_;
};

class StdoutSink final : public EveSink {
 public:
  void write(std::string_view lines) override {
    std::lock_guard lock(mu_);
    std::fwrite(lines.data(), 1, lines.size(), stdout);
  }
  void flush() override {
    std::lock_guard lock(mu_);
    std::fflush(stdout);
  }

 private:
  std::mutex mu_;
};

class UnixSink final : public EveSink {
 public:
  explicit UnixSink(int fd) : fd_(fd) {}
  ~UnixSink() override { ::close(fd_); }
  void write(std::string_view lines) override {
    std::lock_guard lock(mu_);
    while (!lines.empty()) {
      ssize_t n = ::send(fd_, lines.data(), lines.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;  // the reader went away: drop, as a monitoring output must not block capture
      }
      lines.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void flush() override {}

 private:
  std::mutex mu_;
  int fd_;
};

}  // namespace

core::Result<std::unique_ptr<EveSink>> open_file_sink(const std::string& path,
                                                      uint64_t rotate_bytes, int keep) {
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return core::make_error("cannot open EVE log '{}': {}", path, std::strerror(errno));
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  std::unique_ptr<EveSink> s =
      std::make_unique<FileSink>(path, f, rotate_bytes, keep, ec ? 0 : size);
  return s;
}

std::unique_ptr<EveSink> make_stdout_sink() { return std::make_unique<StdoutSink>(); }

core::Result<std::unique_ptr<EveSink>> open_unix_sink(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return core::make_error("unix socket for '{}': {}", path, std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    ::close(fd);
    return core::make_error("unix socket path '{}' is too long", path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    return core::make_error("cannot connect to EVE socket '{}': {}", path, std::strerror(e));
  }
  std::unique_ptr<EveSink> s = std::make_unique<UnixSink>(fd);
  return s;
}

}  // namespace mimamori::net
